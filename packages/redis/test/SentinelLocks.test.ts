/**
 * Locks during a Sentinel failover (issue 24), against the policy in
 * docs/reliability.md ("Sentinel"): a primary, a replica and three Sentinels
 * on loopback; the primary is SIGKILLed while one process holds a lock.
 * - A lock taken before the failover (and replicated) survives it on the
 *   promoted replica: the holder's creator is the only one for its key, the
 *   holder stores and releases on the new primary, and another process's
 *   caller after the promotion gets the holder's value without creating.
 * - While no primary answers (the failover window) a lock cannot be taken: a
 *   caller fails with a typed BackendError and its creator does not run;
 *   with `onBackendError: "bypass"` the creator runs without the cache (no
 *   lock), once per key per process.
 * Counts, never wall-clock bounds.
 */
import { assert, describe, it } from "@effect/vitest"
import { BackendError, Region } from "@dogpile-effect/core"
import { RedisBackend, RedisClient, RedisLock } from "@dogpile-effect/redis"
import { Cause, Deferred, Effect, Exit, Fiber, Layer, Logger, Option, Schedule } from "effect"
import { startRedisSentinel } from "../../../test-support/redis-sentinel.ts"

const deploymentScoped = Effect.acquireRelease(
  Effect.promise(() => startRedisSentinel()),
  (deployment) => Effect.promise(() => deployment.dispose())
)

const regionLayer = (url: string) =>
  Layer.mergeAll(RedisBackend.layer(), RedisLock.layer({ releaseWait: 0 })).pipe(
    Layer.provideMerge(RedisClient.layer({ url, commandTimeout: 500 }))
  )

const sleep = (ms: number) => Effect.promise(() => new Promise<void>((resolve) => setTimeout(resolve, ms)))

/** The typed error a call failed with, or the defect's text. */
const failureOf = <A, E>(exit: Exit.Exit<A, E>): unknown =>
  Exit.isFailure(exit) ? Option.getOrElse(Cause.findErrorOption(exit.cause), () => Cause.pretty(exit.cause)) : undefined

describe("locks during a Sentinel failover", () => {
  it.live("a lock held across the failover keeps one creator; none is taken while no primary answers", () =>
    Effect.gen(function*() {
      const deployment = yield* deploymentScoped
      const make = (onBackendError?: "bypass") =>
        Effect.flatMap(Layer.build(regionLayer(deployment.url)), (ctx) =>
          Region.make<number>({ name: "failover-locks", expiration: "1 hour", onBackendError }).pipe(
            Effect.provide(Layer.succeedContext(ctx))
          ))
      const a = yield* make()
      const b = yield* make()
      const bypassing = yield* make("bypass")
      const firstPort = (yield* Effect.promise(() => deployment.primaryPort())) as number

      // 1. A takes the lock of "held"; its creator waits past the failover.
      let heldRuns = 0
      const release = yield* Deferred.make<void>()
      const holder = yield* Effect.forkChild(Effect.exit(a.getOrCreate("held", Effect.gen(function*() {
        heldRuns++
        yield* Deferred.await(release)
        return 1
      }))))
      while (heldRuns === 0) yield* sleep(10)
      // Replication to the replica is asynchronous: give it a moment (a lost lock is the other case of the policy).
      yield* sleep(300)
      yield* Effect.promise(() => deployment.primary.kill())

      // 2. The window: B's calls fail typed without running their creator; the bypassing region's run it once per key.
      let failedOver = false
      const awaiting = yield* Effect.forkChild(Effect.promise(async () => {
        const port = await deployment.awaitFailover(firstPort, 30_000)
        failedOver = true
        return port
      }))
      let windowCalls = 0
      let windowCreatorRuns = 0
      const windowFailures: Array<unknown> = []
      let bypassRuns = 0
      let bypassCalls = 0
      for (let i = 0; !failedOver; i++) {
        const exit = yield* Effect.exit(b.getOrCreate(`window-${i}`, Effect.sync(() => {
          windowCreatorRuns++
          return 2
        })))
        windowCalls++
        if (Exit.isFailure(exit)) windowFailures.push(failureOf(exit))
        // Two callers of one key in the bypassing region: one creator run between them.
        const both = yield* Effect.all(
          [0, 1].map(() =>
            Effect.exit(bypassing.getOrCreate(`bypass-${i}`, Effect.andThen(sleep(20), Effect.sync(() => ++bypassRuns))))
          ),
          { concurrency: "unbounded" }
        )
        bypassCalls += both.filter(Exit.isSuccess).length
        yield* sleep(100)
      }
      const newPort = yield* Fiber.join(awaiting)
      assert.strictEqual(newPort, deployment.replica.port, "the replica was promoted")
      // The same Layers serve again.
      yield* Effect.retry(b.get("probe"), { times: 200, schedule: Schedule.spaced("50 millis") })

      // 3. After the promotion the lock still holds: B's caller waits for A's value instead of creating.
      let bRuns = 0
      const waiter = yield* Effect.forkChild(Effect.exit(b.getOrCreate("held", Effect.sync(() => {
        bRuns++
        return 3
      }))))
      yield* sleep(300)
      yield* Deferred.succeed(release, undefined)
      const heldExit = yield* Fiber.join(holder)
      const waiterExit = yield* Fiber.join(waiter)
      console.log(
        `sentinel failover, locks: ${windowCalls} calls in the window, ${windowFailures.length} failed typed, ` +
          `${windowCreatorRuns} creator runs; bypassing: ${bypassCalls} calls answered by ${bypassRuns} creator runs; ` +
          `held lock: holder ${Exit.isSuccess(heldExit) ? "stored" : String(failureOf(heldExit))}, ${heldRuns} + ${bRuns} creator runs`
      )
      // The window: nothing created under a lock nobody could take; every failure typed.
      assert.isAtLeast(windowCalls, 1)
      assert.strictEqual(windowCreatorRuns, 0)
      assert.strictEqual(windowFailures.length, windowCalls)
      for (const failure of windowFailures) assert.instanceOf(failure, BackendError, String(failure))
      // Bypass: the creator ran without the cache, one run per key for the two callers.
      assert.strictEqual(bypassRuns * 2, bypassCalls)
      // The lock held across the failover: one creator, the holder's value stored and served to the waiter.
      assert.strictEqual(heldRuns, 1)
      assert.strictEqual(bRuns, 0)
      assert.deepStrictEqual(heldExit, Exit.succeed(1))
      assert.deepStrictEqual(waiterExit, Exit.succeed(1))
      assert.deepStrictEqual(yield* b.get("held"), Option.some(1))
    }).pipe(Effect.scoped, Effect.provide(Logger.layer([]))), { timeout: 90_000 })
})
