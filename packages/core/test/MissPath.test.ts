import { assert, describe, it } from "@effect/vitest"
import { Codec, Lock, MemoryBackend, Region } from "@dogpile-effect/core"
import { Effect, Layer, Option, References, Tracer } from "effect"

// A single-key miss (read, lock, read again, create, store, release) runs in its caller's fiber: forking a fiber
// for a batch of one lock or one lease cost more than the rest of an in-process miss. The fibers that step are
// seen through a tracer's `context` hook, which the run loop calls for every step of every fiber under it.

const memory = Layer.mergeAll(MemoryBackend.layer(), Codec.layerJson, Lock.layerLocal)

/** Runs `effect` and returns the distinct fibers that stepped while it ran (the caller's included). */
const fibersOf = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  Effect.suspend(() => {
    const seen = new Set<unknown>()
    const evaluate = "~effect/Effect/evaluate"
    const tracer = Tracer.make({
      span: (options) => Tracer.nativeTracer.span(options),
      context: (primitive, fiber) => {
        seen.add(fiber)
        return (primitive as unknown as Record<string, (fiber: unknown) => never>)[evaluate]!(fiber)
      }
    })
    // Tracing off: the region opens no spans, as under the native tracer.
    return Effect.as(effect.pipe(Effect.withTracer(tracer), Effect.provideService(References.TracerEnabled, false)), seen)
  })

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
