import { assert, describe, it } from "@effect/vitest"
import { Codec, Envelope } from "@dogpile-effect/core"
import { Effect } from "effect"

describe("Envelope", () => {
  it.effect("full keeps the creation time in ms and the version; 9 bytes of overhead", () =>
    Effect.gen(function*() {
      const envelope = Envelope.full({ version: 7 })
      const bytes = yield* envelope.encode({ a: 1 }, 1_700_000_000_123, Codec.json)
      assert.strictEqual(bytes.length, 9 + '{"a":1}'.length)
      assert.deepStrictEqual(yield* envelope.decode(bytes, 0, Codec.json), { value: { a: 1 }, createdAt: 1_700_000_000_123 })
      const other = yield* Effect.flip(Envelope.full({ version: 8 }).decode(bytes, 0, Codec.json))
      assert.include(other.reason, "version mismatch")
    }))

  it.effect("compact stores whole units of its resolution; 5 bytes of overhead", () =>
    Effect.gen(function*() {
      const seconds = Envelope.compact()
      const bytes = yield* seconds.encode("a", 1_471_113_698_761, Codec.json)
      assert.strictEqual(bytes.length, 5 + 3)
      assert.deepStrictEqual(yield* seconds.decode(bytes, 0, Codec.json), { value: "a", createdAt: 1_471_113_698_000 })
      const minutes = Envelope.compact({ resolution: "1 minute" })
      const m = yield* minutes.encode("a", 1_471_113_698_761, Codec.json)
      assert.strictEqual((yield* minutes.decode(m, 0, Codec.json)).createdAt, 1_471_113_660_000)
    }))

  it.effect("the stored headers, byte for byte (what older writers stored must keep reading)", () =>
    Effect.gen(function*() {
      const full = yield* Envelope.full({ version: 0x0102 }).encode({ a: 1 }, 1_700_000_000_123, Codec.json)
      // magic, version (16 bits), creation ms (48 bits), big-endian
      assert.deepStrictEqual(Array.from(full.subarray(0, 9)), [0xfe, 0x01, 0x02, 0x01, 0x8b, 0xcf, 0xe5, 0x68, 0x7b])
      assert.strictEqual(new TextDecoder().decode(full.subarray(9)), '{"a":1}')
      const compact = yield* Envelope.compact().encode({ a: 1 }, 1_700_000_000_999, Codec.json)
      // magic, creation second (32 bits), big-endian
      assert.deepStrictEqual(Array.from(compact.subarray(0, 5)), [0xfc, 0x65, 0x53, 0xf1, 0x00])
      const latest = yield* Envelope.full().encode(0, 2 ** 48 + 5, Codec.json)
      assert.deepStrictEqual(Array.from(latest.subarray(3, 9)), [0xff, 0xff, 0xff, 0xff, 0xff, 0xff])
    }))

  it.effect("raw stores the payload only and reads as created now", () =>
    Effect.gen(function*() {
      const bytes = yield* Envelope.raw.encode(10, 123, Codec.json)
      assert.strictEqual(new TextDecoder().decode(bytes), "10")
      assert.deepStrictEqual(yield* Envelope.raw.decode(bytes, 999, Codec.json), { value: 10, createdAt: 999 })
    }))

  it.effect("each envelope rejects the others' bytes and truncated input", () =>
    Effect.gen(function*() {
      const full = yield* Envelope.full().encode(1, 1, Codec.json)
      const compact = yield* Envelope.compact().encode(1, 1, Codec.json)
      assert.strictEqual((yield* Effect.flip(Envelope.full().decode(compact, 0, Codec.json)))._tag, "DecodeError")
      assert.strictEqual((yield* Effect.flip(Envelope.compact().decode(full, 0, Codec.json)))._tag, "DecodeError")
      assert.strictEqual((yield* Effect.flip(Envelope.full().decode(full.subarray(0, 5), 0, Codec.json)))._tag, "DecodeError")
      assert.strictEqual((yield* Effect.flip(Envelope.raw.decode(full, 0, Codec.json)))._tag, "DecodeError")
    }))
})

describe("Codec.json", () => {
  it.effect("rejects what JSON would store lossily, with the reason", () =>
    Effect.gen(function*() {
      const circular: Record<string, unknown> = {}
      circular["self"] = circular
      const cases: ReadonlyArray<readonly [unknown, string]> = [
        [() => 1, "function"],
        [Symbol("s"), "symbol"],
        [1n, "BigInt"],
        [Number.NaN, "NaN"],
        [-0, "-0"],
        [undefined, "undefined"],
        [{ nested: [new Date(0)] }, "Date"],
        [new Map(), "Map"],
        [circular, "circular"],
        [{ [Symbol("k")]: 1 }, "symbol keys"]
      ]
      for (const [value, reason] of cases) {
        const error = yield* Effect.flip(Codec.json.encode(value))
        assert.include(error.reason, reason)
      }
    }))

  it.effect("decoding hostile JSON never touches prototypes", () =>
    Effect.gen(function*() {
      const bytes = new TextEncoder().encode('{"__proto__":{"polluted":true},"constructor":{"prototype":{"polluted":true}}}')
      const value = yield* Codec.json.decode(bytes)
      assert.strictEqual(({} as Record<string, unknown>)["polluted"], undefined)
      assert.strictEqual(Object.getPrototypeOf(value), Object.prototype)
      assert.strictEqual((value as Record<string, unknown>)["polluted"], undefined)
    }))

  it.effect("invalid UTF-8 and invalid JSON are DecodeErrors", () =>
    Effect.gen(function*() {
      assert.strictEqual((yield* Effect.flip(Codec.json.decode(new Uint8Array([0x7b, 0xff])))).codec, "json")
      assert.strictEqual((yield* Effect.flip(Codec.json.decode(new Uint8Array([])))).codec, "json")
    }))

  it.effect("invalid UTF-8 inside a JSON string is a DecodeError (Buffer or Uint8Array); a real U+FFFD round-trips", () =>
    Effect.gen(function*() {
      // `"a<ff>"`: lenient UTF-8 decoding would read it as the valid JSON string "a\uFFFD".
      const invalid = [0x22, 0x61, 0xff, 0x22]
      assert.strictEqual((yield* Effect.flip(Codec.json.decode(new Uint8Array(invalid)))).codec, "json")
      assert.strictEqual((yield* Effect.flip(Codec.json.decode(Buffer.from(invalid)))).codec, "json")
      const bytes = yield* Codec.json.encode({ name: "a\uFFFDb", n: 1 })
      assert.deepStrictEqual(yield* Codec.json.decode(bytes), { name: "a\uFFFDb", n: 1 })
      assert.deepStrictEqual(yield* Codec.json.decode(Buffer.from(bytes)), { name: "a\uFFFDb", n: 1 })
    }))
})

describe("Envelope.packed", () => {
  const epoch = Date.UTC(2024, 0, 1)
  it.effect("stores a 32-bit integer and its creation second as one canonical decimal integer", () =>
    Effect.gen(function*() {
      const envelope = Envelope.packed()
      const bytes = yield* envelope.encode(10, epoch + 1_500, Codec.json)
      assert.strictEqual(new TextDecoder().decode(bytes), String(10 * 2 ** 31 + 1))
      for (const value of [0, 1, -1, 2 ** 31 - 1, -(2 ** 31), 123_456]) {
        const at = epoch + 86_400_000 * 365
        const encoded = yield* envelope.encode(value, at + 999, Codec.json)
        assert.match(new TextDecoder().decode(encoded), /^(0|-?[1-9][0-9]*)$/)
        assert.deepStrictEqual(yield* envelope.decode(encoded, 0, Codec.json), { value, createdAt: at })
      }
    }))

  it.effect("other values fall back to the compact envelope; times before the epoch read as the epoch", () =>
    Effect.gen(function*() {
      const envelope = Envelope.packed()
      for (const value of ["10", 2 ** 31, 1.5, { a: 1 }]) {
        const encoded = yield* envelope.encode(value, epoch + 5_000, Codec.json)
        assert.strictEqual(encoded[0], 0xfc)
        assert.deepStrictEqual(yield* envelope.decode(encoded, 0, Codec.json), { value, createdAt: epoch + 5_000 })
      }
      const early = yield* envelope.encode(7, epoch - 10_000, Codec.json)
      assert.strictEqual((yield* envelope.decode(early, 0, Codec.json)).createdAt, epoch)
    }))

  it.effect("non-canonical or out-of-range integers are DecodeErrors", () =>
    Effect.gen(function*() {
      const envelope = Envelope.packed()
      for (const text of ["007", "-0", "1.5", "99999999999999999999999", String(2n ** 62n)]) {
        const error = yield* Effect.flip(envelope.decode(new TextEncoder().encode(text), 0, Codec.json))
        assert.strictEqual(error._tag, "DecodeError", text)
      }
    }))
})
