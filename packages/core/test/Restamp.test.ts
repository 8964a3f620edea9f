/**
 * What a conditional refresh's renewal rests on: `Envelope.restamp` rewrites
 * only the creation time (the same bytes as an encode at the new time, the
 * payload untouched), and `EntryMeta` carries the validator (flag 8), bounded.
 */
import { assert, describe, it } from "@effect/vitest"
import { Codec, EntryMeta, Envelope } from "@dogpile-effect/core"
import { Effect, Option } from "effect"

const t0 = Date.UTC(2026, 0, 1, 12, 0, 0)
const t1 = t0 + 90_000

describe("Envelope.restamp", () => {
  it.effect("full, compact and packed (both forms): the same bytes as encoding the value at the new time", () =>
    Effect.gen(function*() {
      const cases: ReadonlyArray<readonly [Envelope.EnvelopeShape, unknown]> = [
        [Envelope.full({ version: 3 }), { a: [1, 2, 3] }],
        [Envelope.compact(), "text"],
        [Envelope.packed(), 123_456],
        [Envelope.packed(), { not: "an integer" }]
      ]
      for (const [envelope, value] of cases) {
        const before = yield* envelope.encode(value, t0, Codec.json)
        const renewed = Option.getOrThrow(envelope.restamp!(before, t1))
        assert.deepStrictEqual(Array.from(renewed), Array.from(yield* envelope.encode(value, t1, Codec.json)), envelope.name)
        assert.deepStrictEqual(yield* envelope.decode(renewed, 0, Codec.json), yield* envelope.decode(yield* envelope.encode(value, t1, Codec.json), 0, Codec.json))
        // A copy: the bytes read are not changed under a reader that still holds them.
        assert.deepStrictEqual(Array.from(before), Array.from(yield* envelope.encode(value, t0, Codec.json)))
      }
    }))

  it("bytes of another format: None; raw has no restamp", () => {
    assert.isTrue(Option.isNone(Envelope.full().restamp!(new Uint8Array([0xfc, 0, 0, 0, 0]), t1)))
    assert.isTrue(Option.isNone(Envelope.compact().restamp!(new Uint8Array([0xfe]), t1)))
    assert.strictEqual(Envelope.raw.restamp, undefined)
  })
})

describe("EntryMeta validator", () => {
  it("round-trips beside the other fields; an over-long stored validator reads as malformed (a miss)", () => {
    const meta: EntryMeta.EntryMeta = { computeMs: 12, tags: ["t"], validator: "W/\"ä-1\"" }
    const inner = new Uint8Array([0xfe, 1, 2])
    const unwrapped = Option.getOrThrow(EntryMeta.unwrap(EntryMeta.wrap(meta, inner)))
    assert.strictEqual(unwrapped.meta.validator, "W/\"ä-1\"")
    assert.deepStrictEqual(unwrapped.meta.tags, ["t"])
    assert.strictEqual(unwrapped.meta.computeMs, 12)
    assert.deepStrictEqual(Array.from(unwrapped.inner), [0xfe, 1, 2])
    assert.isFalse(EntryMeta.isEmpty({ validator: "" }))
    const tooLong = EntryMeta.wrap({ validator: "x".repeat(EntryMeta.MAX_VALIDATOR_BYTES + 1) }, inner)
    assert.isTrue(Option.isNone(EntryMeta.unwrap(tooLong)))
    // Cut short: every length is checked against what is left.
    const whole = EntryMeta.wrap({ validator: "abc" }, new Uint8Array())
    assert.isTrue(Option.isNone(EntryMeta.unwrap(whole.subarray(0, whole.length - 1))))
  })
})
