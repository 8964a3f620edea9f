import { describe, it } from "@effect/vitest"
import type { CodecShape } from "@dogpile-effect/core"
import { Cbor, Compressed, IntegerAware, Json, Msgpack, RawBytes, Utf8 } from "@dogpile-effect/codecs"
import { Effect } from "effect"
import * as fc from "fast-check"
import * as nodeAssert from "node:assert"
import { cborValue, jsonValue, msgpackValue, utf8Value } from "./arbitraries.ts"

const roundTrip = (codec: CodecShape, value: unknown): unknown =>
  Effect.runSync(Effect.flatMap(codec.encode(value), (bytes) => codec.decode(bytes)))

/** node's deepStrictEqual tells -0 from 0, holes from undefined and Buffer from Uint8Array. */
const property = (codec: CodecShape, arbitrary: fc.Arbitrary<unknown>, numRuns = 300) =>
  fc.assert(
    fc.property(arbitrary, (value) => {
      nodeAssert.deepStrictEqual(roundTrip(codec, value), value)
    }),
    { numRuns }
  )

describe("round-trips each codec's documented domain", () => {
  it("json", () => property(Json.codec, jsonValue))
  it("cbor", () => property(Cbor.codec, cborValue))
  it("msgpack", () => property(Msgpack.codec, msgpackValue))
  it("utf8", () => property(Utf8.codec, utf8Value))
  it("bytes", () => property(RawBytes.codec, fc.uint8Array({ maxLength: 256 })))
  it("integer-aware (the CBOR domain)", () =>
    property(IntegerAware.codec, fc.oneof(cborValue, fc.integer().map(String), fc.bigInt(), fc.maxSafeInteger())))
  it("compressed msgpack, below and above the threshold", () =>
    property(Compressed.makeUnsafe(Msgpack.codec, { threshold: 64 }), fc.oneof(msgpackValue, fc.string({ minLength: 100 }))))
  it("compressed cbor with brotli", () =>
    property(Compressed.makeUnsafe(Cbor.codec, { threshold: 16, algorithm: "brotli" }), cborValue, 100))

  it("named edge values round-trip exactly where the README says they do", () => {
    const long = "mellifluous ✓ 🐕 ".repeat(20_000)
    const cases: Array<[CodecShape, unknown]> = [
      [Cbor.codec, new Date(-1)],
      [Cbor.codec, new Date(2 ** 50)],
      [Cbor.codec, new Date(-(2 ** 50))],
      [Cbor.codec, 2n ** 64n],
      [Cbor.codec, -(2n ** 64n)],
      [Cbor.codec, 0n],
      [Cbor.codec, new Map<unknown, unknown>([[1, "a"], ["1", "b"], [{ k: 1 }, [2]]])],
      [Cbor.codec, new Set([1, "1", undefined, null])],
      [Cbor.codec, [undefined, null, Number.NaN, Infinity, -Infinity, new Uint8Array(0)]],
      [Cbor.codec, { constructor: "c", toString: 1, hasOwnProperty: null }],
      [Cbor.codec, long],
      [Msgpack.codec, long],
      [Json.codec, long],
      [Json.codec, "\uD800 lone surrogates are escaped by JSON"],
      [Json.codec, JSON.parse("{\"__proto__\": {\"a\": 1}}")],
      [Json.codec, { nested: [[[{ deep: [1, [2, [3]]] }]]] }],
      [Msgpack.codec, new Date(-8.64e15)],
      [Msgpack.codec, [undefined, null, Number.NaN, Infinity, -Infinity, new Uint8Array([0, 255])]],
      [Msgpack.codec, { constructor: { prototype: { polluted: true } } }],
      [Msgpack.codec, 2 ** 53 - 1],
      [Msgpack.codec, -(2 ** 53 - 1)],
      [Msgpack.codec, Array.from({ length: 70_000 }, (_, i) => i)],
      [IntegerAware.codec, ""],
      [IntegerAware.codec, "0"],
      [IntegerAware.codec, "-0"],
      [IntegerAware.codec, "007"],
      [IntegerAware.codec, "\u00ff"],
      [IntegerAware.codec, 2n ** 80n],
      [IntegerAware.codec, 5n],
      [IntegerAware.codec, -(2 ** 53 - 1)]
    ]
    for (const [codec, value] of cases) nodeAssert.deepStrictEqual(roundTrip(codec, value), value, codec.name)
  })

  it("json rejects symbol-keyed properties instead of dropping them", () => {
    const exit = Effect.runSyncExit(Json.codec.encode({ a: 1, [Symbol("k")]: 2 }))
    nodeAssert.strictEqual(exit._tag, "Failure")
  })

  it("shared (non-circular) references read back as separate copies", () => {
    const shared = { n: 1 }
    for (const codec of [Json.codec, Cbor.codec, Msgpack.codec]) {
      const back = roundTrip(codec, [shared, shared]) as Array<unknown>
      nodeAssert.deepStrictEqual(back, [shared, shared])
      nodeAssert.notStrictEqual(back[0], back[1])
    }
  })

  it("decodes byte strings as plain Uint8Array even from a Buffer, not aliasing the input", () => {
    for (const codec of [Cbor.codec, Msgpack.codec]) {
      const stored = Buffer.from(Effect.runSync(codec.encode({ b: new Uint8Array([1, 2, 3]) })))
      const decoded = Effect.runSync(codec.decode(stored)) as { b: Uint8Array }
      nodeAssert.strictEqual(Object.getPrototypeOf(decoded.b), Uint8Array.prototype)
      stored.fill(0)
      nodeAssert.deepStrictEqual(decoded.b, new Uint8Array([1, 2, 3]))
    }
  })

  it("earlier encodings are not overwritten by later ones (encoder buffer reuse)", () => {
    for (const codec of [Cbor.codec, Msgpack.codec]) {
      const first = Effect.runSync(codec.encode({ a: "first" }))
      const copy = Uint8Array.from(first)
      for (let i = 0; i < 2000; i++) Effect.runSync(codec.encode({ a: "x".repeat(i % 300) }))
      nodeAssert.deepStrictEqual(Uint8Array.from(first), copy)
    }
  })
})
