import { assert, describe, it } from "@effect/vitest"
import { Codec, Lock, MemoryBackend, Region } from "@dogpile-effect/core"
import { Effect, Layer, Option } from "effect"
import { withFibersSeen } from "../../../test-support/fibers.ts"

// A single-key miss (read, lock, read again, create, store, release) runs in its caller's fiber: forking a fiber
// for a batch of one lock or one lease cost more than the rest of an in-process miss.

const memory = Layer.mergeAll(MemoryBackend.layer(), Codec.layerJson, Lock.layerLocal)

const fibersOf = <A, E, R>(effect: Effect.Effect<A, E, R>) => Effect.map(withFibersSeen(effect), ([, seen]) => seen)

describe("the miss path", () => {
  it.effect("100 single-key misses in a row run in the caller's fiber alone; a batch of two keys forks its lock steps", () =>
    Effect.gen(function*() {
      const region = yield* Region.make<number>({ name: "miss-fibers" })
      let created = 0
      const creator = Effect.sync(() => ++created)
      // A first read loads the region's invalidation marks in a fiber of their own (once, under the TestClock).
      yield* region.getOrCreate("warm-up", creator)
      const single = yield* fibersOf(Effect.forEach(Array.from({ length: 100 }, (_, i) => `k${i}`), (key) => region.getOrCreate(key, creator)))
      assert.strictEqual(created, 101)
      assert.strictEqual(single.size, 1)
      // The control: a batch's locks are taken together, each in a fiber of its own.
      const batch = yield* fibersOf(region.getOrCreateMany(["b1", "b2"], (keys) => Effect.succeed(keys.map(() => 0))))
      assert.isAbove(batch.size, 1)
      const values = yield* region.getMany(["k0", "k99", "b1"])
      assert.deepStrictEqual(values.map(Option.getOrUndefined), [2, 101, 0])
    }).pipe(Effect.scoped, Effect.provide(memory)))
})
