/**
 * A lock found lost while its creator ran: counted once in
 * `dogpile_lock_lost_total` (the counter `RedisLock` uses, attribute `lock`),
 * then what the `onLost` policy says: nothing, a warning, or `LockLostError`.
 *
 * @since 0.1.0
 */
import { CacheKey, LockLostError } from "@dogpile-effect/core"
import { Effect, Metric } from "effect"
import type { LostLockPolicy } from "./LockSettings.ts"

/**
 * The counter of lost locks (`dogpile_lock_lost_total`) with attribute `lock`
 * set to the lock's name.
 *
 * @example
 * ```ts
 * import { NodeRedisLock } from "@dogpile-effect/node-redis"
 * import { Metric } from "effect"
 * const lost = Metric.value(NodeRedisLock.lostLocks("node-redis"))
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
 * const report = reporter("user:42", "fail", lostLocks("node-redis"))
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
  const lost = Effect.fail(new LockLostError({ key: CacheKey.display(key) }))
  const first = Effect.suspend((): Effect.Effect<"lost", LockLostError> => {
    const counted = Metric.update(counter, 1)
    if (policy === "fail") return Effect.andThen(counted, lost)
    if (policy === "ignore") return Effect.as(counted, "lost")
    const message = `dogpile: the lock on ${JSON.stringify(CacheKey.display(key))} was lost while its creator ran`
    return counted.pipe(Effect.andThen(Effect.logWarning(message)), Effect.as("lost"))
  })
  return Effect.suspend(() => {
    if (!reported) {
      reported = true
      return first
    }
    return policy === "fail" ? lost : Effect.succeed("lost" as const)
  })
}
