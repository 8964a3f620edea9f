/**
 * Slow and large, in memory (MemoryBackend + the local lock, default JSON
 * codec): the limits of one process without Redis. The Redis counterparts are
 * packages/redis/test/SlowLarge*.test.ts.
 *
 * - 100,000 keys in one `getOrCreateMany`: one creator call with every key,
 *   every value back in order, no stack overflow; the second call is all hits;
 * - a value past the default codec's 16 MiB: `EncodeError` naming the limit,
 *   nothing stored, creator ran once;
 * - a creator that returns after the Layers' scope closed: the call ends
 *   (no hang) with the creator's value, no defect.
 */
import { assert, describe, it } from "@effect/vitest"
import { Codec, Lock, MemoryBackend, Region } from "@dogpile-effect/core"
import { Cause, Deferred, Effect, Exit, Fiber, Layer, Metric, Option, Scope } from "effect"

const services = Layer.mergeAll(MemoryBackend.layer(), Codec.layerJson, Lock.layerLocal)

describe("slow and large, in memory", () => {
  it.effect("100,000 keys in one getOrCreateMany: one creator call, all values in order, then all hits", () =>
    Effect.gen(function*() {
      const n = 100_000
      const region = yield* Region.make<number>({ name: "many100k", expiration: "10 minutes" })
      const keys = Array.from({ length: n }, (_, i) => `k${i}`)
      const calls: Array<number> = []
      const creator = (asked: ReadonlyArray<unknown>) =>
        Effect.sync(() => {
          calls.push(asked.length)
          return asked.map((k) => Number(String(k).slice(1)))
        })
      const cold = yield* region.getOrCreateMany(keys, creator)
      assert.deepStrictEqual(calls, [n])
      assert.strictEqual(cold.filter((v, i) => v === i).length, n)
      const warm = yield* region.getOrCreateMany(keys, creator)
      assert.deepStrictEqual(calls, [n])
      assert.strictEqual(warm.filter((v, i) => v === i).length, n)
      assert.strictEqual((yield* Metric.value(region.metrics.hits)).count, n)
    }).pipe(Effect.scoped, Effect.provide(services), Effect.provideService(Metric.MetricRegistry, new Map())), 120_000)

  it.effect("a 20 MB string past the JSON codec's 16 MiB: EncodeError naming the limit, nothing stored", () =>
    Effect.gen(function*() {
      const region = yield* Region.make<string>({ name: "big" })
      let runs = 0
      const exit = yield* Effect.exit(region.getOrCreate("big", Effect.sync(() => {
        runs++
        return "x".repeat(20 * 1024 * 1024)
      })))
      assert.isTrue(Exit.isFailure(exit))
      const error = Exit.isFailure(exit) ? Option.getOrUndefined(Cause.findErrorOption(exit.cause)) : undefined
      assert.strictEqual((error as { _tag?: string } | undefined)?._tag, "EncodeError")
      assert.include((error as { reason?: string } | undefined)?.reason ?? "", String(16 * 1024 * 1024))
      assert.strictEqual(runs, 1)
      assert.isTrue(Option.isNone(yield* region.get("big")))
    }).pipe(Effect.scoped, Effect.provide(services)), 60_000)

  it.live("a creator that returns after the Layers' scope closed: the call ends with its value, no defect", () =>
    Effect.gen(function*() {
      const scope = yield* Scope.make()
      const context = yield* Layer.buildWithScope(services, scope)
      const region = yield* Region.make<string>({ name: "closed" }).pipe(Effect.provide(context), Scope.provide(scope))
      const running = yield* Deferred.make<void>()
      const finish = yield* Deferred.make<void>()
      let runs = 0
      const fiber = yield* Effect.forkDetach(region.getOrCreate("k", Effect.gen(function*() {
        runs++
        yield* Deferred.succeed(running, undefined)
        yield* Deferred.await(finish)
        return "late"
      })))
      yield* Deferred.await(running)
      yield* Scope.close(scope, Exit.void)
      yield* Deferred.succeed(finish, undefined)
      const exit = yield* Fiber.await(fiber).pipe(
        Effect.timeoutOrElse({ duration: "20 seconds", orElse: () => Effect.die(new Error("the call did not end")) })
      )
      // Defined behaviour in memory: nothing to disconnect, so the creator's value is returned (and kept only by
      // the closed Layer's map, which nobody reads). Over Redis the same call fails with BackendError
      // (packages/redis/test/SlowLargeScopeClosed.test.ts).
      assert.deepStrictEqual(exit, Exit.succeed("late"))
      assert.strictEqual(runs, 1)
    }))
})
