/**
 * Release notifications of the node-redis lock: the client's shared release
 * subscriber (`ReleaseSubscriber`, one connection for every lock over the
 * client) hears the lock keys released on the lock's channel, by this process
 * or any other (ioredis' `RedisLock` announces on the same channel), and wakes
 * the fibers waiting for them.
 * {@link Waiters} `poll` is the wait loop of `acquire` and `awaitRelease`:
 * between attempts it waits for a release or a backoff from `pollMin` to
 * `pollMax`, whichever comes first, so a release that was not heard (the
 * subscriber reconnecting, a holder that crashed and whose lease ran out) is
 * found by the next re-check and no waiter outlives its deadline.
 *
 * @since 0.1.0
 */
import { Clock, Deferred, Effect, Exit, Option, type Scope } from "effect"
import type { Redis } from "effect/persistence/Redis"
import * as ReleaseSubscriber from "./ReleaseSubscriber.ts"

/**
 * Waiting for a lock key to be released.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * // Waits until `isFree` says so, woken early by a release of the key, failing after 5 s.
 * const wait = (waiters: Waiters, isFree: Effect.Effect<boolean>, now: number) =>
 *   waiters.poll("_lock:user:42", now + 5000, () => isFree, () => new Error("timed out"))
 * ```
 *
 * @category models
 * @since 0.1.0
 */
export interface Waiters {
  /**
   * Runs `attempt` until it returns `true`, waiting between attempts for a
   * release of `redisKey` or the backoff. `attempt` gets the milliseconds
   * left before `deadline` (Clock time) and whether a release was heard; when
   * no time is left after an attempt, `onTimeout` fails the loop.
   */
  poll<E, E2>(
    redisKey: string,
    deadline: number,
    attempt: (remainingMillis: number, notified: boolean) => Effect.Effect<boolean, E>,
    onTimeout: () => E2
  ): Effect.Effect<void, E | E2>
}

/** The fibers waiting per lock key. */
type Registry = Map<string, Set<Deferred.Deferred<void>>>

const wakeAll = (waiting: Registry, key: string) => {
  const set = waiting.get(key)
  if (set === undefined) return
  waiting.delete(key)
  for (const deferred of set) Deferred.doneUnsafe(deferred, Exit.void)
}

const register = (waiting: Registry, key: string, deferred: Deferred.Deferred<void>) => {
  let set = waiting.get(key)
  if (set === undefined) {
    set = new Set()
    waiting.set(key, set)
  }
  set.add(deferred)
}

const unregister = (waiting: Registry, key: string, deferred: Deferred.Deferred<void>) =>
  Effect.sync(() => {
    const set = waiting.get(key)
    if (set === undefined) return
    set.delete(deferred)
    if (set.size === 0) waiting.delete(key)
  })

/**
 * Listens on `channel` through the shared release subscriber of the `Redis`
 * service for the lifetime of the scope.
 *
 * @example
 * ```ts
 * const waiters = make({ channel: "_lock:released", pollMinMs: 5, pollMaxMs: 50 })
 * ```
 *
 * @category constructors
 * @since 0.1.0
 */
export const make = (options: {
  readonly channel: string
  readonly pollMinMs: number
  readonly pollMaxMs: number
}): Effect.Effect<Waiters, never, Redis | Scope.Scope> =>
  Effect.gen(function*() {
    const { channel, pollMaxMs, pollMinMs } = options
    const waiting: Registry = new Map()
    yield* ReleaseSubscriber.listen(channel, (key) => wakeAll(waiting, key))

    const poll: Waiters["poll"] = (redisKey, deadline, attempt, onTimeout) =>
      Effect.gen(function*() {
        let delay = pollMinMs
        let notified = false
        while (true) {
          const wake = Deferred.makeUnsafe<void>()
          register(waiting, redisKey, wake)
          const done = yield* Effect.gen(function*() {
            // Always one attempt, even past the deadline (a zero timeout means "try once").
            if (yield* attempt(deadline - (yield* Clock.currentTimeMillis), notified)) return true
            const left = deadline - (yield* Clock.currentTimeMillis)
            if (left <= 0) return yield* Effect.fail(onTimeout())
            notified = Option.isSome(yield* Effect.timeoutOption(Deferred.await(wake), Math.min(delay, left)))
            return false
          }).pipe(Effect.ensuring(unregister(waiting, redisKey, wake)))
          if (done) return
          delay = Math.min(delay * 2, pollMaxMs)
        }
      })

    return { poll }
  })
