import { assert, describe, it } from "@effect/vitest"
import { Cbor, IntegerAware, Json, Msgpack, RawBytes, Utf8 } from "@dogpile-effect/codecs"
import type { CodecShape } from "@dogpile-effect/core"
import { Effect } from "effect"

class Point {
  constructor(readonly x: number) {}
}

const circular = (): unknown => {
  const a: Record<string, unknown> = { b: 1 }
  a["self"] = { a }
  return a
}

const reason = (codec: CodecShape, value: unknown): string => {
  const error = Effect.runSync(Effect.flip(codec.encode(value)))
  assert.strictEqual(error._tag, "EncodeError")
  assert.strictEqual(error.codec, codec.name)
  return error.reason
}

/** [value, fragment of the reason] rejected by every structured codec. */
const rejectedEverywhere: Array<[string, () => unknown, string]> = [
  ["a function", () => ({ f: () => 1 }), "value.f is a function"],
  ["a symbol", () => [Symbol("s")], "value[0] is a symbol"],
  ["a circular reference", circular, "value.self.a is a circular reference"],
  ["a class instance", () => ({ p: new Point(1) }), "Point instance"],
  ["a symbol-keyed property", () => ({ [Symbol("k")]: 1 }), "symbol keys"],
  ["a sparse array", () => [1, , 3], "value[1] is a hole"],
  ["a lone surrogate", () => ({ s: "\uD800x" }), "lone surrogate"],
  ["an own __proto__ key", () => JSON.parse("{\"__proto__\": 1}"), "__proto__"],
  ["-0", () => [-0], "value[0] is -0"],
  ["an invalid Date", () => new Date(Number.NaN), "invalid Date"],
  ["a WeakMap", () => new WeakMap(), "WeakMap"],
  ["a typed array other than Uint8Array", () => new Int16Array(2), "Int16Array"],
  ["an Error", () => new Error("x"), "Error"],
  ["a RegExp", () => /x/, "RegExp"],
  ["nesting deeper than 512", () => {
    let v: unknown = 1
    for (let i = 0; i < 600; i++) v = [v]
    return v
  }, "nested deeper than 512"]
]

describe("values a codec cannot represent fail at encode with the reason", () => {
  for (const codec of [Cbor.codec, Msgpack.codec, IntegerAware.codec]) {
    for (const [name, make, fragment] of rejectedEverywhere) {
      it(`${codec.name} rejects ${name}`, () => {
        assert.include(reason(codec, make()), fragment)
      })
    }
  }

  it("json rejects what it would silently alter (core's checks)", () => {
    for (const [value, fragment] of [
      [10n, "BigInt"],
      [undefined, "undefined"],
      [Number.NaN, "NaN"],
      [Infinity, "Infinity"],
      [-0, "-0"],
      [new Date(0), "Date"],
      [new Map(), "Map"],
      [new Set(), "Set"],
      [new Uint8Array(1), "Uint8Array"],
      [circular(), "circular"],
      [() => 1, "function"]
    ] as const) {
      assert.include(reason(Json.codec, value), fragment)
    }
    // The path of a refused value, in JavaScript's notation, down arrays and objects.
    assert.strictEqual(
      reason(Json.codec, { a: [{ b: [1, undefined] }], c: 2 }),
      "value.a[0].b[1] is undefined, which JSON cannot represent"
    )
    assert.strictEqual(reason(Json.codec, [[{ x: { y: circular() } }]]), "value[0][0].x.y.self.a is a circular reference")
  })

  it("msgpack rejects BigInt, Map and Set, which plain MessagePack reads back as other types", () => {
    assert.include(reason(Msgpack.codec, 10n), "BigInt")
    assert.include(reason(Msgpack.codec, { m: new Map() }), "value.m is a Map")
    assert.include(reason(Msgpack.codec, new Set([1])), "Set")
  })

  it("cbor rejects Dates it cannot carry to the millisecond", () => {
    assert.include(reason(Cbor.codec, new Date(2 ** 50 + 1)), "cannot carry to the millisecond")
    assert.include(reason(Cbor.codec, new Date(-(2 ** 50) - 1)), "cannot carry to the millisecond")
  })

  it("utf8 and bytes reject values of the wrong type", () => {
    assert.include(reason(Utf8.codec, 1), "not a string")
    assert.include(reason(Utf8.codec, "\uDC00"), "lone surrogate")
    assert.include(reason(RawBytes.codec, "abc"), "not a Uint8Array")
    assert.include(reason(RawBytes.codec, null), "null")
  })
})
