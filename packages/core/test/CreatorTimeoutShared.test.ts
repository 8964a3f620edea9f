/**
 * A creator that times out (`hardTimeout`) fails its key's waiters together:
 * the callers queued behind it learn its `CreatorTimeoutError` when it times
 * out, instead of each retrying after the one before it (which ran the creator
 * once per caller and made the last caller wait n × hardTimeout, far past its
 * own `lockTimeout`). Issue 24, finding 2.
 */
import { assert, describe, it } from "@effect/vitest"
import { Codec, CreatorTimeoutError, Lock, MemoryBackend, Region } from "@dogpile-effect/core"
import { Cause, Clock, Effect, Exit, Fiber, Layer, Option } from "effect"
import { TestClock } from "effect/testing"

const CALLERS = 100

const layer = Layer.mergeAll(MemoryBackend.layer(), Codec.layerJson, Lock.layerLocal)

describe("hardTimeout: the waiters of a creator that timed out learn it together", () => {
  it.effect(`${CALLERS} callers of one key, a creator that never ends: one creator run, every caller fails at 500 ms`, () =>
    Effect.gen(function*() {
      const region = yield* Region.make<number>({ name: "hard-timeout", hardTimeout: "500 millis", lockTimeout: "3 seconds" })
      let runs = 0
      const creator = Effect.suspend(() => {
        runs++
        return Effect.never
      })
      const failedAt: Array<number> = []
      const fibers = yield* Effect.forEach(
        Array.from({ length: CALLERS }, () => undefined),
        () =>
          Effect.forkChild(region.getOrCreate("k", creator).pipe(
            Effect.onExit(() => Effect.map(Clock.currentTimeMillis, (now) => void failedAt.push(now)))
          ))
      )
      // Well past every caller's own deadline (3 s) and past 100 serial timeouts' worth of tries.
      for (let i = 0; i < 120; i++) yield* TestClock.adjust("500 millis")
      const exits = yield* Effect.forEach(fibers, (fiber) => Fiber.await(fiber))
      const timedOut = exits.filter((exit) =>
        Exit.isFailure(exit) && Option.getOrUndefined(Cause.findErrorOption(exit.cause)) instanceof CreatorTimeoutError
      )
      assert.deepStrictEqual(
        { timedOut: timedOut.length, runs, failedAt: [...new Set(failedAt)] },
        { timedOut: CALLERS, runs: 1, failedAt: [500] }
      )
    }).pipe(Effect.scoped, Effect.provide(layer)))

  it.effect("after the timeout the key is free: the next caller runs the creator again (once)", () =>
    Effect.gen(function*() {
      const region = yield* Region.make<number>({ name: "hard-timeout-again", hardTimeout: "500 millis" })
      let runs = 0
      const slowThenFast = Effect.suspend(() => (++runs === 1 ? Effect.never : Effect.succeed(7)))
      const first = yield* Effect.forkChild(Effect.exit(region.getOrCreate("k", slowThenFast)))
      yield* TestClock.adjust("500 millis")
      assert.isTrue(Exit.isFailure(yield* Fiber.join(first)))
      assert.strictEqual(yield* region.getOrCreate("k", slowThenFast), 7)
      assert.strictEqual(runs, 2)
    }).pipe(Effect.scoped, Effect.provide(layer)))
})
