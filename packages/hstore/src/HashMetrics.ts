/**
 * The metrics of the hash backend.
 *
 * @since 0.1.0
 */
import { Metric } from "effect"

/**
 * Values longer than the listpack value limit (or equal to the overflow
 * marker) that were stored as plain overflow keys instead of hash fields.
 *
 * @example
 * ```ts
 * import { HashMetrics } from "@dogpile-effect/hstore"
 * import { Metric } from "effect"
 * const count = Metric.value(HashMetrics.overflowWrites)
 * ```
 *
 * @category metrics
 * @since 0.1.0
 */
export const overflowWrites = Metric.counter("dogpile_hstore_overflow_writes_total", {
  description: "Hash-addressed values stored as plain overflow keys because they exceed hash-max-listpack-value",
  incremental: true
})

/**
 * Hash fields read after their `entryExpiry.maxAge` (returned as misses).
 *
 * @example
 * ```ts
 * import { HashMetrics } from "@dogpile-effect/hstore"
 * import { Metric } from "effect"
 * const count = Metric.value(HashMetrics.expiredReads)
 * ```
 *
 * @category metrics
 * @since 0.1.0
 */
export const expiredReads = Metric.counter("dogpile_hstore_expired_reads_total", {
  description: "Hash fields read past entryExpiry.maxAge and reported as misses",
  incremental: true
})

/**
 * Expired hash fields removed by the sweeper.
 *
 * @example
 * ```ts
 * import { HashMetrics } from "@dogpile-effect/hstore"
 * import { Metric } from "effect"
 * const count = Metric.value(HashMetrics.expiredRemoved)
 * ```
 *
 * @category metrics
 * @since 0.1.0
 */
export const expiredRemoved = Metric.counter("dogpile_hstore_expired_removed_total", {
  description: "Expired hash fields deleted by the sweeper",
  incremental: true
})

/**
 * Expired hash fields not queued for removal because the sweep queue was full.
 *
 * @example
 * ```ts
 * import { HashMetrics } from "@dogpile-effect/hstore"
 * import { Metric } from "effect"
 * const count = Metric.value(HashMetrics.sweepDropped)
 * ```
 *
 * @category metrics
 * @since 0.1.0
 */
export const sweepDropped = Metric.counter("dogpile_hstore_sweep_dropped_total", {
  description: "Expired hash fields left in place because the sweep queue was full",
  incremental: true
})

/**
 * Hash-key reads whose bucket name holds another Redis type (a string, a
 * list…): those keys read as misses, the rest of the batch is unaffected.
 *
 * @example
 * ```ts
 * import { HashMetrics } from "@dogpile-effect/hstore"
 * import { Metric } from "effect"
 * const count = Metric.value(HashMetrics.wrongTypeReads)
 * ```
 *
 * @category metrics
 * @since 0.1.0
 */
export const wrongTypeReads = Metric.counter("dogpile_hstore_wrong_type_reads_total", {
  description: "Hash-key reads answered as misses because the bucket key holds another Redis type",
  incremental: true
})
