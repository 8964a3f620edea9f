/**
 * Whether releases wake a lock's waiters: the check the release-subscriber
 * tests of both clients (ioredis' `RedisLock`, node-redis' `NodeRedisLock`)
 * run against a real server.
 */
import { assert } from "@effect/vitest"
import type { Lock } from "@dogpile-effect/core"
import { Effect, Exit, Fiber, Scope } from "effect"

/**
 * Each holder takes `key` (its own naming); a waiter per lock waits for its
 * release with a 15 s deadline. Built with leases of a minute and polling of
 * 20 s, only a release message wakes a waiter in time. `whileHeld` runs once
 * every holder has the lock and no waiter has woken. Returns how many woke.
 *
 * @example
 * ```ts
 * assert.strictEqual(yield* releasesWake("k", holders, waiters), holders.length)
 * ```
 */
export const releasesWake = <E = never, R = never>(
  key: string,
  holders: ReadonlyArray<Lock["Service"]>,
  waiters: ReadonlyArray<Lock["Service"]>,
  whileHeld: Effect.Effect<void, E, R> = Effect.void
) =>
  Effect.gen(function*() {
    const held = yield* Effect.forEach(holders, (lock) =>
      Effect.gen(function*() {
        const scope = yield* Scope.make()
        yield* lock.acquire(key, "5 seconds").pipe(Scope.provide(scope))
        return scope
      }))
    let woken = 0
    const waiting = yield* Effect.forkChild(
      Effect.forEach(waiters, (lock) => lock.awaitRelease(key, "15 seconds").pipe(Effect.tap(() => Effect.sync(() => woken++))), {
        concurrency: "unbounded",
        discard: true
      })
    )
    yield* Effect.sleep("300 millis")
    assert.strictEqual(woken, 0)
    yield* whileHeld
    for (const scope of held) yield* Scope.close(scope, Exit.void)
    yield* Fiber.join(waiting)
    return woken
  })
