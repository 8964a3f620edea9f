import { assert, describe, it } from "@effect/vitest"
import { Json, Msgpack, PythonInterop, SchemaCodec } from "@dogpile-effect/codecs"
import { Codec, Envelope } from "@dogpile-effect/core"
import { Effect, Schema } from "effect"
import { spawnSync } from "node:child_process"

const hex = (s: string) => Uint8Array.from(s.split(" ").map((h) => Number.parseInt(h, 16)))
const toHex = (b: Uint8Array) => Array.from(b, (x) => x.toString(16).padStart(2, "0")).join(" ")
const utf8 = (s: string) => new TextEncoder().encode(s)
const text = (b: Uint8Array) => new TextDecoder().decode(b)

const python = spawnSync("python3", ["--version"]).status === 0

/** Python's json.loads(candidate) == json.loads(expected), or undefined when python3 is missing. */
const pythonReadsSame = (candidate: string, expected: string): boolean | undefined => {
  if (!python) return undefined
  const run = spawnSync("python3", [
    "-c",
    "import json,sys; a=json.loads(sys.argv[1]); b=json.loads(sys.argv[2]); print(a == b and type(a[1]) == type(b[1]))",
    candidate,
    expected
  ])
  return run.stdout.toString().trim() === "True"
}

const vectors = [
  {
    format: "json",
    layout: "full",
    bytes: utf8("[10, {\"v\": 1, \"ct\": 1471113698.76127}]"),
    createdAt: 1471113698.76127 * 1000
  },
  { format: "json", layout: "compact", bytes: utf8("[10, 1471113753]"), createdAt: 1471113753000 },
  { format: "msgpack", layout: "compact", bytes: hex("92 0a ce 57 af 63 74"), createdAt: 1471112052000 },
  {
    format: "msgpack",
    layout: "full",
    bytes: hex("92 0a 82 a1 76 01 a2 63 74 cb 41 d5 eb 92 83 e9 97 9a"),
    createdAt: 1471040015.649878 * 1000
  }
] as const

describe("dogpile_backend_redis_advanced layouts", () => {
  for (const vector of vectors) {
    const envelope = PythonInterop.envelope({ format: vector.format, layout: vector.layout, version: 1 })
    const codec = PythonInterop.codec(vector.format)

    it.effect(`${vector.format} ${vector.layout}: decodes the seed's vector to payload 10 and its creation time`, () =>
      Effect.gen(function*() {
        const entry = yield* envelope.decode(vector.bytes, 0, codec)
        assert.strictEqual(entry.value, 10)
        assert.strictEqual(entry.createdAt, vector.createdAt)
      }))

    it.effect(`${vector.format} ${vector.layout}: encoding gives the same bytes / the same Python list back`, () =>
      Effect.gen(function*() {
        const entry = yield* envelope.decode(vector.bytes, 0, codec)
        const bytes = yield* envelope.encode(entry.value, entry.createdAt, codec)
        if (vector.format === "msgpack") {
          assert.strictEqual(toHex(bytes), toHex(vector.bytes))
        } else {
          // Python's json.dumps writes exactly these bytes for these lists.
          assert.strictEqual(text(bytes), text(vector.bytes))
          const same = pythonReadsSame(text(bytes), text(vector.bytes))
          if (same !== undefined) {
            assert.isTrue(same, "python3 json.loads reads a different list")
            // and the comparison itself can fail:
            assert.isFalse(pythonReadsSame("[10, 1]", text(vector.bytes)))
          }
        }
      }))
  }

  it.effect("payloads other than 10 and whitespace-free JSON from other writers decode too", () =>
    Effect.gen(function*() {
      const full = PythonInterop.envelope({ format: "json", layout: "full" })
      const entry = yield* full.decode(utf8("[{\"a\":[1,\"],\"],\"b\":\"x\\\"y\"},{\"ct\":1.5,\"v\":2}]"), 0, Json.codec)
      assert.deepStrictEqual(entry, { value: { a: [1, "],"], b: "x\"y" }, createdAt: 1500 })
      const msgpack = PythonInterop.envelope({ format: "msgpack", layout: "full" })
      const bytes = yield* msgpack.encode({ name: "ada", tags: ["x"] }, 1_700_000_000_123, Msgpack.codec)
      const back = yield* msgpack.decode(bytes, 0, Msgpack.codec)
      assert.deepStrictEqual(back, { value: { name: "ada", tags: ["x"] }, createdAt: 1_700_000_000_123 })
      const integral = yield* full.encode("a", 1_471_113_698_000, Json.codec)
      // version 2 (the default, dogpile ≥ 1.1 on Python 3) writes the dict in Python 3's order: ct, then v.
      assert.strictEqual(text(integral), "[\"a\", {\"ct\": 1471113698.0, \"v\": 2}]")
    }))

  it.effect("a version other than the configured one, another layout, or garbage is a DecodeError", () =>
    Effect.gen(function*() {
      const v2 = PythonInterop.envelope({ format: "msgpack", layout: "full", version: 2 })
      const mismatch = yield* Effect.flip(v2.decode(vectors[3].bytes, 0, Msgpack.codec))
      assert.include(mismatch.reason, "version mismatch")
      const jsonFull = PythonInterop.envelope({ format: "json", layout: "full" })
      const cases: Array<Uint8Array> = [
        vectors[1].bytes,
        utf8("[10]"),
        utf8("[10, {\"v\": 1, \"ct\": 1}, 3]"),
        utf8("[10, {\"v\": 1, \"ct\": \"soon\"}]"),
        utf8("{\"v\": 1}"),
        utf8("[10, {\"v\": 1, \"ct\": 1"),
        new Uint8Array(0),
        hex("92 0a")
      ]
      for (const bytes of cases) {
        const error = yield* Effect.flip(jsonFull.decode(bytes, 0, Json.codec))
        assert.strictEqual(error._tag, "DecodeError")
      }
      const msgpackCompact = PythonInterop.envelope({ format: "msgpack", layout: "compact" })
      for (const bytes of [vectors[3].bytes, hex("92 0a"), hex("92 0a ce 57"), hex("93 0a 01 02"), hex("0a")]) {
        const error = yield* Effect.flip(msgpackCompact.decode(bytes, 0, Msgpack.codec))
        assert.strictEqual(error._tag, "DecodeError")
      }
    }))

  it.effect("raw layout is the payload alone, created 'now'", () =>
    Effect.gen(function*() {
      const raw = PythonInterop.envelope({ format: "msgpack", layout: "raw" })
      assert.strictEqual(raw, Envelope.raw)
      const entry = yield* raw.decode(hex("0a"), 42, Msgpack.codec)
      assert.deepStrictEqual(entry, { value: 10, createdAt: 42 })
    }))

  it.effect("layer provides the matching codec and envelope", () =>
    Effect.gen(function*() {
      const codec = yield* Codec
      const envelope = yield* Envelope.CurrentEnvelope
      assert.strictEqual(codec.name, "python-msgpack")
      assert.strictEqual(envelope.name, "python-msgpack-compact")
      assert.strictEqual(toHex(yield* envelope.encode(10, 1471112052000, codec)), "92 0a ce 57 af 63 74")
    }).pipe(Effect.provide(PythonInterop.layer({ format: "msgpack", layout: "compact" }))))

  it.effect("works with a Schema-typed payload codec", () =>
    Effect.gen(function*() {
      const envelope = PythonInterop.envelope({ format: "json", layout: "compact" })
      const typed = SchemaCodec.make(Schema.Int, Json.codec)
      assert.strictEqual((yield* envelope.decode(vectors[1].bytes, 0, typed)).value, 10)
      const wrong = SchemaCodec.make(Schema.String, Json.codec)
      assert.strictEqual((yield* Effect.flip(envelope.decode(vectors[1].bytes, 0, wrong)))._tag, "DecodeError")
    }))
})
