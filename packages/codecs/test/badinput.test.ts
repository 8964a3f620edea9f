import { assert, describe, it } from "@effect/vitest"
import { Cbor, Compressed, IntegerAware, Json, Msgpack, RawBytes, Utf8 } from "@dogpile-effect/codecs"
import { type CodecShape, Envelope } from "@dogpile-effect/core"
import { Effect, Exit } from "effect"
import * as fc from "fast-check"
import * as zlib from "node:zlib"
import { cborValue, msgpackValue } from "./arbitraries.ts"

const hex = (s: string) => Uint8Array.from(s.split(" ").map((h) => Number.parseInt(h, 16)))
const utf8 = (s: string) => new TextEncoder().encode(s)
const repeat = (byte: number, n: number) => new Uint8Array(n).fill(byte)
const concat = (a: Uint8Array, b: Uint8Array) => {
  const out = new Uint8Array(a.length + b.length)
  out.set(a)
  out.set(b, a.length)
  return out
}

/** Decoding fails with a DecodeError (not a defect, not a success). */
const isDecodeError = (codec: CodecShape, bytes: Uint8Array): boolean => {
  const exit = Effect.runSyncExit(codec.decode(bytes))
  if (Exit.isSuccess(exit)) return false
  const error = Exit.findErrorOption(exit)
  if (error._tag === "None") throw new Error(`${codec.name} died: ${String(exit.cause)}`)
  return error.value._tag === "DecodeError"
}

/** Decoding either succeeds or fails with a DecodeError; it never throws or dies. */
const settles = (codec: CodecShape, bytes: Uint8Array): void => {
  const exit = Effect.runSyncExit(codec.decode(bytes))
  if (Exit.isFailure(exit)) {
    const error = Exit.findErrorOption(exit)
    if (error._tag === "None") throw new Error(`${codec.name} died: ${String(exit.cause)}`)
    assert.strictEqual(error.value._tag, "DecodeError")
  }
}

const all: ReadonlyArray<CodecShape> = [
  Json.codec,
  Cbor.codec,
  Msgpack.codec,
  Utf8.codec,
  RawBytes.codec,
  IntegerAware.codec,
  Compressed.makeUnsafe(Msgpack.codec, { threshold: 8 }),
  Compressed.makeUnsafe(Cbor.codec, { threshold: 8, algorithm: "brotli" })
]

describe("bad input is a DecodeError, never a throw or a hang", () => {
  it("random bytes: every codec settles", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
        for (const codec of all) settles(codec, bytes)
      }),
      { numRuns: 2000 }
    )
  })

  it("every strict prefix of a CBOR or MessagePack encoding is a DecodeError", () => {
    fc.assert(
      fc.property(cborValue, msgpackValue, (c, m) => {
        for (const [codec, value] of [[Cbor.codec, c], [Msgpack.codec, m], [IntegerAware.codec, c]] as const) {
          const bytes = Effect.runSync(codec.encode(value))
          // integer-aware text forms are not self-delimiting; only its tagged form is checked.
          if (codec === IntegerAware.codec && bytes[0] !== IntegerAware.TAG) continue
          for (let n = codec === IntegerAware.codec ? 1 : 0; n < bytes.length; n++) {
            assert.isTrue(isDecodeError(codec, bytes.subarray(0, n)), `${codec.name} accepted a ${n}-byte prefix`)
          }
        }
      }),
      { numRuns: 200 }
    )
  })

  it("truncated JSON objects, arrays and strings are DecodeErrors", () => {
    const bytes = utf8(JSON.stringify({ one: 399, two: "fizzbuzz", list: [1, 2, 3] }))
    for (let n = 0; n < bytes.length; n++) assert.isTrue(isDecodeError(Json.codec, bytes.subarray(0, n)))
  })

  it("truncated compressed payloads and envelopes are DecodeErrors", () => {
    const codec = Compressed.makeUnsafe(Msgpack.codec, { threshold: 8 })
    const bytes = Effect.runSync(codec.encode({ text: "abc".repeat(100) }))
    assert.strictEqual(bytes[0], 0x01)
    for (let n = 0; n < bytes.length; n++) assert.isTrue(isDecodeError(codec, bytes.subarray(0, n)), `prefix ${n}`)
    for (const envelope of [Envelope.full(), Envelope.compact()]) {
      const wrapped = Effect.runSync(envelope.encode({ a: [1, 2] }, 1_700_000_000_000, Cbor.codec))
      for (let n = 0; n < wrapped.length; n++) {
        const exit = Effect.runSyncExit(envelope.decode(wrapped.subarray(0, n), 0, Cbor.codec))
        assert.isTrue(Exit.isFailure(exit), `${envelope.name} prefix ${n}`)
      }
    }
  })

  it("another codec's output of structured values is a DecodeError", () => {
    const samples = [{ one: 399, two: "fizzbuzz" }, "mellifluous", [1, "a", { b: null }]]
    const codecs = [Json.codec, Cbor.codec, Msgpack.codec]
    for (const writer of codecs) {
      for (const reader of codecs) {
        if (writer === reader) continue
        for (const sample of samples) {
          const bytes = Effect.runSync(writer.encode(sample))
          assert.isTrue(isDecodeError(reader, bytes), `${reader.name} read ${writer.name}'s ${JSON.stringify(sample)}`)
        }
      }
    }
    // Utf8 refuses binary codecs' output that is not UTF-8; compressed refuses unknown flags.
    assert.isTrue(isDecodeError(Utf8.codec, Effect.runSync(Cbor.codec.encode(new Uint8Array([0xff])))))
    assert.isTrue(isDecodeError(Compressed.makeUnsafe(Cbor.codec), utf8("{\"a\":1}")))
  })

  it("length and depth bombs are refused quickly, without allocating or overflowing the stack", () => {
    const started = performance.now()
    const cases: Array<[CodecShape, Uint8Array]> = [
      [Cbor.codec, hex("9b ff ff ff ff ff ff ff ff")],
      [Cbor.codec, hex("9a ff ff ff ff 01")],
      [Cbor.codec, hex("bb 00 00 00 00 ff ff ff ff")],
      [Cbor.codec, hex("5a ff ff ff ff 00")],
      [Cbor.codec, hex("9f 01 ff")],
      [Cbor.codec, repeat(0x81, 200_000)],
      [Msgpack.codec, hex("dd ff ff ff ff 01")],
      [Msgpack.codec, hex("df ff ff ff ff")],
      [Msgpack.codec, hex("c6 ff ff ff ff 00")],
      [Msgpack.codec, repeat(0x91, 200_000)],
      [Json.codec, utf8("[".repeat(200_000))],
      [IntegerAware.codec, concat(hex("ff"), repeat(0x81, 200_000))]
    ]
    for (const [codec, bytes] of cases) assert.isTrue(isDecodeError(codec, bytes), codec.name)
    assert.isBelow(performance.now() - started, 2000)
  })

  it("a compression bomb past maxDecodedBytes is a DecodeError", () => {
    const codec = Compressed.makeUnsafe(RawBytes.codec, { maxDecodedBytes: 1024 * 1024 })
    const bomb = concat(hex("01"), zlib.deflateRawSync(new Uint8Array(64 * 1024 * 1024)))
    assert.isBelow(bomb.length, 100_000)
    assert.isTrue(isDecodeError(codec, bomb))
    assert.isTrue(isDecodeError(codec, concat(hex("02"), zlib.brotliCompressSync(new Uint8Array(8 * 1024 * 1024)))))
    assert.isTrue(isDecodeError(codec, hex("07 00")))
  })
})
