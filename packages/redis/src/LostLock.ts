/**
 * A Redis lock found lost while its creator ran (expired without renewal,
 * `FLUSHALL`, server restart): counted once in {@link lostLocks}, then what
 * the lock's `onLost` policy says: nothing, a warning, or `LockLostError`.
 *
 * @since 0.1.0
 */
import { CacheKey, LockLostError } from "@dogpile-effect/core"
import { Effect, Metric } from "effect"

/**
 * What to do when a lock turned out to be lost while its creator ran (expired
 * without renewal, `FLUSHALL`, server restart): the value is stored and
 * returned in every case; `"ignore"` says nothing, `"log"` logs a warning,
 * `"fail"` fails the creating caller with `LockLostError`. Always counted in
 * {@link lostLocks}.
 *
 * @example
 * ```ts
 * import type { RedisLock } from "@dogpile-effect/redis"
 * const policy: RedisLock.LostLockPolicy = "fail"
 * ```
 *
 * @since 0.1.0
 */
export type LostLockPolicy = "ignore" | "log" | "fail"

/**
 * The counter of lost locks (`dogpile_lock_lost_total`), with attribute `lock` set
 * to the lock's name.
 *
 * @example
 * ```ts
 * import { RedisLock } from "@dogpile-effect/redis"
 * import { Metric } from "effect"
 * const lost = Metric.value(RedisLock.lostLocks("redis"))
 * ```
 *
 * @since 0.1.0
 */
export const lostLocks = (name: string): Metric.Metric<number, Metric.CounterState<number>> =>
  Metric.withAttributes(
    Metric.counter("dogpile_lock_lost_total", {
      description: "Distributed locks found lost when their creator finished",
      incremental: true
    }),
    { lock: name }
  )

/**
 * The report of one lease's lost lock: the first run counts it (and logs it
 * under `"log"`); every run succeeds with `"lost"`, or fails with
 * `LockLostError` under `"fail"`.
 *
 * @example
 * ```ts
 * import { LostLock } from "@dogpile-effect/redis/lock-kit"
 * const report = LostLock.reporter("user:42", "fail", LostLock.lostLocks("redis"))
 * ```
 *
 * @category constructors
 * @since 0.1.0
 */
export const reporter = (
  key: CacheKey.CacheKey,
  policy: LostLockPolicy,
  counter: Metric.Metric<number, Metric.CounterState<number>>
): Effect.Effect<"lost", LockLostError> => {
  let reported = false
  const failLost = () => Effect.fail(new LockLostError({ key: CacheKey.display(key) }))
  return Effect.suspend((): Effect.Effect<"lost", LockLostError> => {
    if (reported) return policy === "fail" ? failLost() : Effect.succeed("lost")
    reported = true
    const counted = Metric.update(counter, 1)
    switch (policy) {
      case "ignore":
        return Effect.as(counted, "lost")
      case "log":
        return counted.pipe(
          Effect.andThen(Effect.logWarning(`dogpile: the lock on ${JSON.stringify(CacheKey.display(key))} was lost while its creator ran`)),
          Effect.as("lost")
        )
      case "fail":
        return Effect.andThen(counted, failLost())
    }
  })
}
