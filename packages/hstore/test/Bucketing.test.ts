import { assert, describe, expect, it } from "vitest"
import { CacheKey, InvalidOptionError } from "@dogpile-effect/core"
import { Bucketing } from "@dogpile-effect/hstore"
import * as Slot from "../src/Slot.ts"
import { KeySlot } from "@dogpile-effect/redis"
import { Effect } from "effect"
import * as fc from "fast-check"

describe("Bucketing.byId", () => {
  const bucket = Bucketing.byId()

  it("splits the last two digits off by default", () => {
    expect(bucket("user:1234567")).toEqual(CacheKey.hash("user:12345", "67"))
    expect(bucket("user:100")).toEqual(CacheKey.hash("user:1", "00"))
    expect(Bucketing.byId({ size: 1000 })("user:1234567")).toEqual(CacheKey.hash("user:1234", "567"))
  })

  it("short ids share the bucket prefix + \"0\" under an underscored field; non-id keys stay plain", () => {
    expect(bucket("user:7")).toEqual(CacheKey.hash("user:0", "_7"))
    expect(bucket("user:07")).toEqual(CacheKey.hash("user:0", "_07"))
    expect(bucket("user:007")).toEqual(CacheKey.hash("user:0", "07"))
    expect(bucket("settings")).toBe("settings")
    expect(bucket("")).toBe("")
  })

  it("rejects sizes that are not powers of ten with InvalidOptionError from check (and when used unchecked)", () => {
    for (const size of [128, 1, Number.NaN]) {
      const error = Effect.runSync(Effect.flip(Bucketing.byId({ size }).check))
      expect(error).toBeInstanceOf(InvalidOptionError)
      expect(error.message).toContain("power of ten")
      expect(() => Bucketing.byId({ size })("user:1")).toThrow(InvalidOptionError)
    }
    Effect.runSync(Bucketing.byId({ size: 1000 }).check)
  })

  it("is injective, and no bucket name equals a plain key (property)", () => {
    const key = fc.oneof(
      fc.tuple(fc.constantFrom("user:", "u", "a:b:", ""), fc.stringMatching(/^\d{0,9}$/)).map(([p, d]) => p + d),
      fc.string({ maxLength: 6 })
    )
    for (const size of [10, 100, 1000]) {
      const map = Bucketing.byId({ size })
      fc.assert(
        fc.property(key, key, (a, b) => {
          const [ka, kb] = [map(a), map(b)]
          if (a !== b) expect(CacheKey.render(ka)).not.toBe(CacheKey.render(kb))
          if (typeof ka !== "string" && typeof kb === "string") expect(ka.hash).not.toBe(kb)
        }),
        { numRuns: 2_000 }
      )
    }
  })
})

describe("Slot.colocated", () => {
  it("puts derived keys in the bucket's slot", () => {
    for (const base of ["user:12345", "{user}:12345", "a{b", "x:{tag}:y", "x{}y", "{}", "", "a}b", "}{", "b{}{x}"]) {
      expect(KeySlot.slot(Slot.colocated(base, "\u0000o:67")), base).toBe(KeySlot.slot(base))
    }
    expect(Slot.colocated("user:12345", ":67")).toBe("{user:12345}:67")
    expect(Slot.colocated("{user}:12345", ":67")).toBe("{user}:12345:67")
    // An empty "{}" is no tag for Redis: the key gets a short tag of the base's own slot.
    expect(Slot.colocated("x{}y", ":67")).toMatch(/^\{[0-9a-z]+\}x\{\}y:67$/)
  })

  it("colocates any base (property), and keys of different bases or suffixes differ", () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 8, unit: fc.constantFrom("{", "}", "a", "b", ":") }), fc.string({ maxLength: 3 }), (base, field) => {
        const key = Slot.colocated(base, "\u0000o:" + field)
        expect(KeySlot.slot(key)).toBe(KeySlot.slot(base))
        expect(Slot.colocated(base + "a", "\u0000o:" + field)).not.toBe(key)
      }),
      { numRuns: 2_000 }
    )
  })
})

describe("Bucketing.byNumber", () => {
  it("maps a trailing number to bucket prefix#⌊n/size⌋ and field n mod size; other keys stay plain", () => {
    const bucket = Bucketing.byNumber({ size: 128 })
    assert.deepStrictEqual(bucket("user:1000"), CacheKey.hash("user:#7", "104"))
    assert.deepStrictEqual(bucket("7"), CacheKey.hash("#0", "7"))
    assert.strictEqual(bucket("settings"), "settings")
    assert.strictEqual(bucket("user:007"), "user:007", "leading zeros stay plain")
    assert.strictEqual(bucket("n:99999999999999999999"), "n:99999999999999999999", "beyond 2^53 stays plain")
    for (const size of [513, 1, 2.5]) {
      const error = Effect.runSync(Effect.flip(Bucketing.byNumber({ size }).check))
      assert.instanceOf(error, InvalidOptionError)
      assert.include(error.message, "2..512")
    }
  })

  it("is injective over ids and prefixes", () => {
    const bucket = Bucketing.byNumber({ size: 205 })
    const seen = new Map<string, string>()
    for (const prefix of ["", "a", "a#", "user:", "x1y"]) {
      for (let n = 0; n < 1000; n++) {
        const key = `${prefix}${n}`
        const mapped = CacheKey.render(bucket(key))
        assert.isUndefined(seen.get(mapped), `${key} collides with ${seen.get(mapped)}`)
        seen.set(mapped, key)
      }
    }
  })
})
