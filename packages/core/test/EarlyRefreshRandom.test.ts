/**
 * XFetch draws from the fiber's `Random`: the decision is reproducible with a
 * chosen source. Expiration 10 s, a 1 s creator, β = 1, read 5 s after the
 * value was stored: refresh early iff −ln(u)·1000 ≥ 5000, i.e. u ≤ e^−5 ≈ 0.0067.
 */
import { assert, describe, it } from "@effect/vitest"
import { Codec, Lock, MemoryBackend, Region } from "@dogpile-effect/core"
import { Effect, Fiber, Layer, Random } from "effect"
import { TestClock } from "effect/testing"

const fixed = (u: number): Random.Random => ({ nextDoubleUnsafe: () => u, nextIntUnsafe: () => 0 })

const readAt5s = (u: number): Effect.Effect<{ readonly value: number; readonly runs: number }, unknown> =>
  Effect.gen(function*() {
    const region = yield* Region.make<number>({ name: "xfetch-random", expiration: "10 seconds", earlyRefresh: { beta: 1 } })
    let runs = 0
    const creator = Effect.andThen(Effect.sleep("1 second"), Effect.sync(() => ++runs))
    const first = yield* Effect.forkChild(region.getOrCreate("k", creator))
    yield* TestClock.adjust("1 second")
    yield* Fiber.join(first)
    yield* TestClock.adjust("5 seconds")
    const value = yield* region.getOrCreate("k", creator).pipe(Effect.provideService(Random.Random, fixed(u)))
    yield* TestClock.adjust("1 second")
    yield* region.awaitBackground
    return { value, runs }
  }).pipe(Effect.scoped, Effect.provide(Layer.mergeAll(MemoryBackend.layer(), Codec.layerJson, Lock.layerLocal)))

describe("early refresh draws from the fiber's Random", () => {
  it.effect("u = 0.5: no early refresh", () =>
    Effect.map(readAt5s(0.5), ({ runs, value }) => {
      assert.strictEqual(value, 1)
      assert.strictEqual(runs, 1)
    }))

  it.effect("u = 0.001: refreshed early, in the background; the caller still gets the fresh value at once", () =>
    Effect.map(readAt5s(0.001), ({ runs, value }) => {
      assert.strictEqual(value, 1)
      assert.strictEqual(runs, 2)
    }))
})
