/**
 * A hot key under early refresh (XFetch) is regenerated before it expires, so
 * no reader finds it expired: 100 reads/s for 5 s on a key that expires after
 * 1 s, a 200 ms creator, β = 1, TestClock, 8 seeds for the readers' `Random`.
 * With two draws per read (a refresh only when both pass, p² instead of p) the
 * refresh came too late in most seeds and readers got expired values or waited
 * for the creator.
 */
import { assert, describe, it } from "@effect/vitest"
import { Codec, Lock, MemoryBackend, Region } from "@dogpile-effect/core"
import { Clock, Effect, Fiber, Layer, Random } from "effect"
import { TestClock } from "effect/testing"

const SEEDS = ["a", "b", "c", "d", "e", "f", "g", "h"]
const READS = 500

/** One seed's run: how many reads got an expired value, and how many waited. */
const hotKey = (seed: string) =>
  Effect.gen(function*() {
    const region = yield* Region.make<{ readonly at: number }>({ name: "hot", expiration: "1 second", earlyRefresh: { beta: 1 } })
    const creator = Effect.andThen(Effect.sleep("200 millis"), Effect.map(Clock.currentTimeMillis, (at) => ({ at })))
    const first = yield* Effect.forkChild(region.getOrCreate("hot", creator))
    yield* TestClock.adjust("200 millis")
    yield* Fiber.join(first)
    const counts = { expired: 0, waited: 0 }
    const reader = Effect.gen(function*() {
      for (let i = 0; i < READS; i++) {
        const start = yield* Clock.currentTimeMillis
        const value = yield* region.getOrCreate("hot", creator)
        const end = yield* Clock.currentTimeMillis
        if (end > start) counts.waited++
        if (end - value.at > 1000) counts.expired++
        yield* Effect.sleep("10 millis")
      }
    })
    const reading = yield* Effect.forkChild(reader.pipe(Random.withSeed(seed)))
    for (let t = 0; t < READS + 50; t++) yield* TestClock.adjust("10 millis")
    yield* Fiber.join(reading)
    return counts
  }).pipe(Effect.scoped, Effect.provide(Layer.mergeAll(MemoryBackend.layer(), Codec.layerJson, Lock.layerLocal)))

describe("early refresh of a hot key", () => {
  it.effect(`100 reads/s for 5 s, 8 seeds: no read finds the value expired or waits`, () =>
    Effect.gen(function*() {
      const bySeed: Record<string, { expired: number; waited: number }> = {}
      for (const seed of SEEDS) bySeed[seed] = yield* hotKey(seed)
      const zero = Object.fromEntries(SEEDS.map((seed) => [seed, { expired: 0, waited: 0 }]))
      assert.deepStrictEqual(bySeed, zero)
    }))
})
