/**
 * Release notifications of the Redis lock: a subscriber connection hears the
 * keys released on the lock's channel and wakes the fibers waiting for them;
 * {@link Waiters} `poll` is the wait loop of `acquire` and `awaitRelease`.
 *
 * @since 0.2.0
 */
import { Clock, Deferred, Effect, Exit, Option, type Scope } from "effect"
import { RedisClient } from "./RedisClient.ts"

/**
 * Waiting for a lock key to be released.
 *
 * @category models
 * @since 0.2.0
 */
export interface Waiters {
  /**
   * Runs `attempt` until it returns `true`, waiting between attempts for a
   * release notification of `redisKey` or a backoff from `pollMin` to
   * `pollMax`, whichever comes first. `attempt` gets the milliseconds left
   * before `deadline` (Clock time; zero or less on a first attempt past it)
   * and whether a release was heard; when no time is left after an attempt,
   * `onTimeout` fails the loop.
   */
  poll<E, E2>(
    redisKey: string,
    deadline: number,
    attempt: (remainingMillis: number, notified: boolean) => Effect.Effect<boolean, E>,
    onTimeout: () => E2
  ): Effect.Effect<void, E | E2>
}

/**
 * Subscribes to `channel` on a second connection that lives in the scope.
 *
 * @example
 * ```ts
 * import { LockWaiters } from "@dogpile-effect/redis"
 * const waiters = LockWaiters.make({ channel: "_lock:released", pollMinMs: 5, pollMaxMs: 50 })
 * ```
 *
 * @category constructors
 * @since 0.2.0
 */
export const make = (options: {
  readonly channel: string
  readonly pollMinMs: number
  readonly pollMaxMs: number
}): Effect.Effect<Waiters, never, RedisClient | Scope.Scope> =>
  Effect.gen(function*() {
    const redis = yield* RedisClient
    const { channel, pollMinMs, pollMaxMs } = options
    const waiting = new Map<string, Set<Deferred.Deferred<void>>>()
    const wakeAll = (key: string) => {
      const set = waiting.get(key)
      if (set === undefined) return
      waiting.delete(key)
      for (const deferred of set) Deferred.doneUnsafe(deferred, Exit.void)
    }
    const subscriber = yield* redis.duplicate
    subscriber.on("message", (from: string, message: string) => {
      if (from === channel) wakeAll(message)
    })
    // Queued until the connection is up, and renewed by ioredis after reconnects.
    subscriber.subscribe(channel).catch(() => {})

    const register = (key: string, deferred: Deferred.Deferred<void>) => {
      let set = waiting.get(key)
      if (set === undefined) {
        set = new Set()
        waiting.set(key, set)
      }
      set.add(deferred)
    }
    const unregister = (key: string, deferred: Deferred.Deferred<void>) =>
      Effect.sync(() => {
        const set = waiting.get(key)
        if (set === undefined) return
        set.delete(deferred)
        if (set.size === 0) waiting.delete(key)
      })

    const poll: Waiters["poll"] = (redisKey, deadline, attempt, onTimeout) =>
      Effect.gen(function*() {
        let delay = pollMinMs
        let notified = false
        while (true) {
          const wake = Deferred.makeUnsafe<void>()
          register(redisKey, wake)
          const done = yield* Effect.gen(function*() {
            // Always one attempt, even when the deadline has passed (a zero timeout means "try once").
            if (yield* attempt(deadline - (yield* Clock.currentTimeMillis), notified)) return true
            const left = deadline - (yield* Clock.currentTimeMillis)
            if (left <= 0) return yield* Effect.fail(onTimeout())
            notified = Option.isSome(yield* Effect.timeoutOption(Deferred.await(wake), Math.min(delay, left)))
            return false
          }).pipe(Effect.ensuring(unregister(redisKey, wake)))
          if (done) return
          delay = Math.min(delay * 2, pollMaxMs)
        }
      })

    return { poll }
  })
