import { assert, describe, it } from "@effect/vitest"
import { Cbor, IntegerAware } from "@dogpile-effect/codecs"
import { Effect } from "effect"
import * as fc from "fast-check"
import * as nodeAssert from "node:assert"

const text = (b: Uint8Array) => new TextDecoder().decode(b)
const encode = (v: unknown) => Effect.runSync(IntegerAware.codec.encode(v))
const decode = (b: Uint8Array) => Effect.runSync(IntegerAware.codec.decode(b))
const isTagged = (b: Uint8Array) => b[0] === IntegerAware.TAG

describe("IntegerAware byte layout", () => {
  it("safe integers are canonical decimal ASCII, exactly as Redis stores integers", () => {
    for (const [value, bytes] of [[0, "0"], [1, "1"], [10, "10"], [1000, "1000"], [-5, "-5"], [
      Number.MAX_SAFE_INTEGER,
      "9007199254740991"
    ], [Number.MIN_SAFE_INTEGER, "-9007199254740991"]] as const) {
      assert.strictEqual(text(encode(value)), bytes)
    }
    fc.assert(
      fc.property(fc.maxSafeInteger(), (n) => {
        const bytes = encode(n)
        assert.match(text(bytes), /^(0|-?[1-9][0-9]*)$/)
        assert.strictEqual(decode(bytes), Object.is(n, -0) ? 0 : n)
      })
    )
  })

  it("BigInts beyond the safe range are decimal text; those within it are tagged", () => {
    assert.strictEqual(text(encode(2n ** 64n)), "18446744073709551616")
    assert.strictEqual(decode(encode(2n ** 64n)), 2n ** 64n)
    assert.isTrue(isTagged(encode(5n)))
    assert.strictEqual(decode(encode(5n)), 5n)
  })

  it("plain strings are their UTF-8 bytes; integer-looking strings are tagged", () => {
    assert.strictEqual(encode("").length, 0)
    assert.strictEqual(text(encode("a")), "a")
    assert.strictEqual(text(encode("mellifluous")), "mellifluous")
    for (const s of ["0", "42", "-7", "9007199254740993"]) {
      const bytes = encode(s)
      assert.isTrue(isTagged(bytes), s)
      assert.strictEqual(decode(bytes), s)
    }
    for (const s of ["-0", "007", "+5", " 1", "1 ", "1e3", "0x10", "1.0", "\u00ff", "\uFFFF"]) {
      assert.strictEqual(text(encode(s)), s, s)
      assert.strictEqual(decode(encode(s)), s)
    }
  })

  it("everything else is 0xFF followed by the CBOR codec's bytes", () => {
    for (const value of [1.5, 2 ** 53, Number.NaN, true, null, undefined, [1], { one: 399 }, new Date(0)]) {
      const bytes = encode(value)
      assert.strictEqual(bytes[0], 0xff)
      nodeAssert.deepStrictEqual(Array.from(bytes.subarray(1)), Array.from(Effect.runSync(Cbor.codec.encode(value))))
    }
  })

  it("decoding is unambiguous: text that is not canonical stays a string, long integers become BigInt", () => {
    const utf8 = (s: string) => new TextEncoder().encode(s)
    assert.strictEqual(decode(utf8("12345")), 12345)
    assert.strictEqual(decode(utf8("-0")), "-0")
    assert.strictEqual(decode(utf8("0012")), "0012")
    assert.strictEqual(decode(utf8("12345678901234567890")), 12345678901234567890n)
    assert.strictEqual(decode(new Uint8Array(0)), "")
    // no two distinct values of the domain share an encoding
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.maxSafeInteger(), fc.bigInt()), fc.oneof(fc.string(), fc.maxSafeInteger(), fc.bigInt()), (a, b) => {
        if (Object.is(a, b) || Object.is(a, -0) || Object.is(b, -0)) return
        assert.notDeepEqual(Array.from(encode(a)), Array.from(encode(b)))
      })
    )
  })

  it("invalid UTF-8 and bad tagged CBOR are DecodeErrors", () => {
    for (const bytes of [[0xc3], [0x80], [0xff], [0xff, 0xc1], [0xed, 0xa0, 0x80]]) {
      const error = Effect.runSync(Effect.flip(IntegerAware.codec.decode(Uint8Array.from(bytes))))
      assert.strictEqual(error._tag, "DecodeError")
      assert.strictEqual(error.codec, "integer-aware")
    }
  })
})
