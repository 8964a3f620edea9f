/**
 * The metrics every region reports, labelled with `region`.
 *
 * @since 0.1.0
 */
import { Metric } from "effect"

/**
 * Unlabelled metric definitions, for querying or exporting. Names follow the
 * Prometheus conventions (counters end in `_total`, the unit is spelled out);
 * `docs/metrics.md` shows how to export them to Prometheus or OpenTelemetry.
 *
 * @since 0.1.0
 */
export const hits = Metric.counter("dogpile_hits_total", { description: "Fresh values served from the store", incremental: true })
/** @since 0.1.0 */
export const misses = Metric.counter("dogpile_misses_total", { description: "Reads that found no usable value", incremental: true })
/** @since 0.1.0 */
export const staleServed = Metric.counter("dogpile_stale_served_total", {
  description: "Stale values served while another caller regenerates (or after a failed regeneration)",
  incremental: true
})
/** @since 0.1.0 */
export const creations = Metric.counter("dogpile_creations_total", { description: "Creator runs that succeeded", incremental: true })
/** @since 0.1.0 */
export const creatorFailures = Metric.counter("dogpile_creator_failures_total", { description: "Creator runs that failed", incremental: true })
/** @since 0.1.0 */
export const decodeFailures = Metric.counter("dogpile_decode_failures_total", {
  description: "Stored values that failed to decode or had another format version (treated as misses)",
  incremental: true
})
/** @since 0.1.0 */
export const bypassed = Metric.counter("dogpile_bypassed_total", {
  description: "Calls that ran the creator without the cache because the backend failed",
  incremental: true
})
/** @since 0.1.0 */
export const lockWaitMillis = Metric.histogram("dogpile_lock_wait_milliseconds", {
  description: "Time callers waited for another caller's creation, in milliseconds",
  // `unit` becomes the OTLP metric's unit; the Prometheus formatter leaves it out of the labels.
  attributes: { unit: "ms" },
  boundaries: Metric.exponentialBoundaries({ start: 1, factor: 2, count: 16 })
})

/**
 * The metrics of one region.
 *
 * @since 0.1.0
 */
export interface RegionMetrics {
  readonly hits: CounterMetric
  readonly misses: CounterMetric
  readonly staleServed: CounterMetric
  readonly creations: CounterMetric
  readonly creatorFailures: CounterMetric
  readonly decodeFailures: CounterMetric
  readonly bypassed: CounterMetric
  readonly lockWaitMillis: Metric.Metric<number, Metric.HistogramState>
}

/**
 * A counter labelled for one region.
 *
 * @since 0.1.0
 */
export type CounterMetric = Metric.Metric<number, Metric.CounterState<number>>

/**
 * The metrics labelled for the region `region`.
 *
 * @example
 * ```ts
 * import { RegionMetrics } from "@dogpile-effect/core"
 * import { Effect, Metric } from "effect"
 * const hitCount = Metric.value(RegionMetrics.forRegion("users").hits)
 * ```
 *
 * @since 0.1.0
 */
export const forRegion = (region: string): RegionMetrics => {
  const attributes = { region }
  return {
    hits: Metric.withAttributes(hits, attributes),
    misses: Metric.withAttributes(misses, attributes),
    staleServed: Metric.withAttributes(staleServed, attributes),
    creations: Metric.withAttributes(creations, attributes),
    creatorFailures: Metric.withAttributes(creatorFailures, attributes),
    decodeFailures: Metric.withAttributes(decodeFailures, attributes),
    bypassed: Metric.withAttributes(bypassed, attributes),
    lockWaitMillis: Metric.withAttributes(lockWaitMillis, attributes)
  }
}
