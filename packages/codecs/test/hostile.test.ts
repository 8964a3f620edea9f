import { assert, describe, it } from "@effect/vitest"
import { Cbor, Json, Msgpack } from "@dogpile-effect/codecs"
import type { CodecShape } from "@dogpile-effect/core"
import { Encoder } from "cbor-x"
import { Effect, Exit } from "effect"
import { Packr } from "msgpackr"

const hex = (s: string) => Uint8Array.from(s.split(" ").map((h) => Number.parseInt(h, 16)))
const utf8 = (s: string) => new TextEncoder().encode(s)

const decodeError = (codec: CodecShape, bytes: Uint8Array): string => {
  const exit = Effect.runSyncExit(codec.decode(bytes))
  if (Exit.isSuccess(exit)) throw new Error(`${codec.name} decoded hostile bytes to ${String(exit.value)}`)
  const error = Exit.findErrorOption(exit)
  if (error._tag === "None") throw new Error(`${codec.name} died instead of failing with DecodeError`)
  assert.strictEqual(error.value._tag, "DecodeError")
  return error.value.reason
}

const assertNoPollution = () => {
  const probe: Record<string, unknown> = {}
  assert.isUndefined(probe["polluted"], "Object.prototype was polluted")
  assert.isUndefined((globalThis as Record<string, unknown>)["pwned"], "code from data ran")
}

class Point {
  constructor(readonly x: number) {}
}

// Encoders configured the unsafe way, as another service might write hostile bytes.
const recordCbor = new Encoder({ useRecords: true, structuredClone: true })
const recordMsgpack = new Packr({ useRecords: true, structuredClone: true, moreTypes: true, useBigIntExtension: true })

describe("hostile CBOR", () => {
  const cases: Array<[string, Uint8Array]> = [
    ["map with a __proto__ key", hex("a1 69 5f 5f 70 72 6f 74 6f 5f 5f a1 68 70 6f 6c 6c 75 74 65 64 f5")],
    ["legacy record tag 105 defining __proto__", hex("d8 69 83 19 e0 00 81 69 5f 5f 70 72 6f 74 6f 5f 5f a1 68 70 6f 6c 6c 75 74 65 64 f5")],
    ["record definition tag 0xdffe", hex("d9 df fe 83 19 e0 00 81 61 61 01")],
    ["inline record tag 0xdfff", hex("d9 df ff 83 19 e0 00 81 61 61 01")],
    ["cbor-x records from a useRecords encoder", recordCbor.encode([{ a: 1 }, { a: 2 }, { a: 3 }])],
    ["generic object tag 27 reviving Error", hex("d8 1b 83 65 45 72 72 6f 72 62 68 69 f6")],
    ["generic object tag 27 reviving RegExp", recordCbor.encode(/(a+)+$/)],
    ["Error instance", recordCbor.encode(new Error("boom"))],
    ["class instance written by an unsafe encoder", recordCbor.encode(new Point(1))],
    ["shared references 28/29 (structured clone)", (() => {
      const a: Record<string, unknown> = {}
      a["self"] = a
      return recordCbor.encode(a)
    })()],
    ["packed table tag 51", new Encoder({ pack: true }).encode(["repeat-me", "repeat-me", "repeat-me"])],
    ["typed array tag 86", recordCbor.encode(new Float64Array([1, 2]))],
    ["date string tag 0", hex("c0 64 32 30 32 36")],
    ["unknown tag", hex("d9 ff ff 00")],
    ["simple value 16", hex("f0")],
    ["self-describe tag 55799", hex("d9 d9 f7 01")],
    ["Map tag 259 around an array", hex("d9 01 03 81 01")],
    ["bignum tag 2 around a text string", hex("c2 61 31")]
  ]
  for (const [name, bytes] of cases) {
    it(`${name} is a DecodeError and changes nothing`, () => {
      decodeError(Cbor.codec, bytes)
      assertNoPollution()
    })
  }

  it("data keys named constructor/prototype stay plain own data properties", () => {
    const bytes = Effect.runSync(Cbor.codec.encode({ constructor: { prototype: { polluted: true } } }))
    const value = Effect.runSync(Cbor.codec.decode(bytes)) as Record<string, unknown>
    assert.strictEqual(Object.getPrototypeOf(value), Object.prototype)
    assert.isTrue(Object.hasOwn(value, "constructor"))
    assertNoPollution()
  })
})

describe("hostile MessagePack", () => {
  const cases: Array<[string, Uint8Array]> = [
    ["map with a __proto__ key", hex("81 a9 5f 5f 70 72 6f 74 6f 5f 5f 81 a8 70 6f 6c 6c 75 74 65 64 c3")],
    ["msgpackr records from a useRecords packer", recordMsgpack.pack([{ a: 1 }, { a: 2 }])],
    ["record definition 0x72 with a code-like key", hex("d4 72 40")],
    ["Error extension 0x65", recordMsgpack.pack(new Error("boom"))],
    ["RegExp extension 0x78", recordMsgpack.pack(/(a+)+$/)],
    ["Set extension 0x73", recordMsgpack.pack(new Set([1]))],
    ["BigInt extension 0x42", recordMsgpack.pack(2n ** 100n)],
    ["typed array extension 0x74", recordMsgpack.pack(new Float64Array([1]))],
    ["structured clone pointers 0x69/0x70", (() => {
      const a: Record<string, unknown> = {}
      a["self"] = a
      return recordMsgpack.pack(a)
    })()],
    ["class instance written by an unsafe packer", recordMsgpack.pack(new Point(1))],
    ["bundled strings 0x62", new Packr({ bundleStrings: true }).pack({ a: "x".repeat(20), b: "y".repeat(20) })],
    ["never-used byte 0xc1", hex("c1")],
    ["integer map key", hex("81 01 02")]
  ]
  for (const [name, bytes] of cases) {
    it(`${name} is a DecodeError and changes nothing`, () => {
      decodeError(Msgpack.codec, bytes)
      assertNoPollution()
    })
  }

  it("after hostile record definitions, bytes 0x40-0x7f still read as plain integers", () => {
    decodeError(Msgpack.codec, recordMsgpack.pack([{ a: 1 }, { a: 2 }]))
    // The unsafe packer's own decoder state must not leak into ours either.
    recordMsgpack.unpack(recordMsgpack.pack([{ a: 1 }, { a: 2 }]))
    assert.strictEqual(Effect.runSync(Msgpack.codec.decode(hex("40"))), 64)
    assert.deepStrictEqual(Effect.runSync(Msgpack.codec.decode(hex("92 40 7f"))), [64, 127])
  })
})

describe("hostile JSON", () => {
  it("__proto__ and constructor keys become own data properties, never prototypes", () => {
    const value = Effect.runSync(
      Json.codec.decode(utf8("{\"__proto__\": {\"polluted\": true}, \"constructor\": {\"prototype\": {\"polluted\": 1}}}"))
    ) as Record<string, unknown>
    assert.strictEqual(Object.getPrototypeOf(value), Object.prototype)
    assert.isTrue(Object.hasOwn(value, "__proto__"))
    assertNoPollution()
  })
})
