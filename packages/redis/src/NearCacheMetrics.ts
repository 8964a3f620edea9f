/**
 * The near cache's metrics. Hits happen on a path that must stay free of
 * fiber work, so everything is counted in plain numbers first and added to
 * these counters every second (and on demand).
 *
 * @since 0.1.0
 */
import { Effect, Metric } from "effect"

/**
 * Near-cache hits (no Redis round trip).
 *
 * @example
 * ```ts
 * import { NearCacheMetrics } from "@dogpile-effect/redis"
 * import { Metric } from "effect"
 * const hits = Metric.value(NearCacheMetrics.hits)
 * ```
 *
 * @category metrics
 * @since 0.1.0
 */
export const hits = Metric.counter("dogpile_near_hits_total", { description: "Reads served by the near cache", incremental: true })
/**
 * Reads the near cache could not serve (passed to Redis).
 *
 * @example
 * ```ts
 * import { NearCacheMetrics } from "@dogpile-effect/redis"
 * import { Metric } from "effect"
 * const misses = Metric.value(NearCacheMetrics.misses)
 * ```
 *
 * @category metrics
 * @since 0.1.0
 */
export const misses = Metric.counter("dogpile_near_misses_total", { description: "Reads the near cache passed to Redis", incremental: true })
/**
 * Entries dropped to stay within `maxEntries`/`maxBytes`, or past `maxAge`.
 *
 * @example
 * ```ts
 * import { NearCacheMetrics } from "@dogpile-effect/redis"
 * import { Metric } from "effect"
 * const evictions = Metric.value(NearCacheMetrics.evictions)
 * ```
 *
 * @category metrics
 * @since 0.1.0
 */
export const evictions = Metric.counter("dogpile_near_evictions_total", { description: "Near-cache entries evicted by size or age", incremental: true })
/**
 * Keys named by invalidation messages from Redis.
 *
 * @example
 * ```ts
 * import { NearCacheMetrics } from "@dogpile-effect/redis"
 * import { Metric } from "effect"
 * const invalidations = Metric.value(NearCacheMetrics.invalidations)
 * ```
 *
 * @category metrics
 * @since 0.1.0
 */
export const invalidations = Metric.counter("dogpile_near_invalidations_total", { description: "Keys in invalidation messages received", incremental: true })
/**
 * Times the near cache was emptied (FLUSHDB/FLUSHALL, a lost or re-established connection, a silent subscriber).
 *
 * @example
 * ```ts
 * import { NearCacheMetrics } from "@dogpile-effect/redis"
 * import { Metric } from "effect"
 * const flushes = Metric.value(NearCacheMetrics.flushes)
 * ```
 *
 * @category metrics
 * @since 0.1.0
 */
export const flushes = Metric.counter("dogpile_near_flushes_total", { description: "Times the near cache was emptied", incremental: true })
/**
 * Reads served but not kept because an invalidation or flush raced with them.
 *
 * @example
 * ```ts
 * import { NearCacheMetrics } from "@dogpile-effect/redis"
 * import { Metric } from "effect"
 * const discarded = Metric.value(NearCacheMetrics.discarded)
 * ```
 *
 * @category metrics
 * @since 0.1.0
 */
export const discarded = Metric.counter("dogpile_near_discarded_total", { description: "Reads not kept because they raced with an invalidation", incremental: true })

/**
 * Reads that waited for the event loop's next turn because it had not read
 * its sockets within `maxLoopLag`.
 *
 * @example
 * ```ts
 * import { NearCacheMetrics } from "@dogpile-effect/redis"
 * import { Metric } from "effect"
 * const lagged = Metric.value(NearCacheMetrics.lagged)
 * ```
 *
 * @category metrics
 * @since 0.1.0
 */
export const lagged = Metric.counter("dogpile_near_lagged_total", { description: "Reads that waited for the event loop to read its sockets first", incremental: true })

/**
 * What was counted in memory since the last {@link publish}.
 *
 * @example
 * ```ts
 * import { NearCacheMetrics } from "@dogpile-effect/redis"
 * const counts = NearCacheMetrics.counts()
 * counts.hits++
 * ```
 *
 * @category models
 * @since 0.1.0
 */
export interface Counts {
  hits: number
  misses: number
  evictions: number
  invalidations: number
  flushes: number
  discarded: number
  lagged: number
}

/**
 * Zeroed counts.
 *
 * @example
 * ```ts
 * import { NearCacheMetrics } from "@dogpile-effect/redis"
 * NearCacheMetrics.counts().misses // 0
 * ```
 *
 * @category constructors
 * @since 0.1.0
 */
export const counts = (): Counts => ({ hits: 0, misses: 0, evictions: 0, invalidations: 0, flushes: 0, discarded: 0, lagged: 0 })

const counted = [
  ["hits", hits],
  ["misses", misses],
  ["evictions", evictions],
  ["invalidations", invalidations],
  ["flushes", flushes],
  ["discarded", discarded],
  ["lagged", lagged]
] as const

/**
 * Adds what was counted since the last call to the metrics, and resets the counts.
 *
 * @example
 * ```ts
 * import { NearCacheMetrics } from "@dogpile-effect/redis"
 * const counts = NearCacheMetrics.counts()
 * const program = NearCacheMetrics.publish(counts)
 * ```
 *
 * @category metrics
 * @since 0.1.0
 */
export const publish = (counts: Counts) =>
  Effect.suspend(() => {
    const updates: Array<Effect.Effect<void>> = []
    for (const [name, metric] of counted) {
      const n = counts[name]
      if (n === 0) continue
      counts[name] = 0
      updates.push(Metric.update(metric, n))
    }
    return updates.length === 0 ? Effect.void : Effect.all(updates, { discard: true })
  })

