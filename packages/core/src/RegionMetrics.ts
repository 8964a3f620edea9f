/**
 * The metrics every region reports, labelled with `region`.
 *
 * @since 0.1.0
 */
import { Metric } from "effect"

/** An incremental counter; `region` labels it (the same series as `Metric.withAttributes(counter, { region })`). */
function counter(id: string, description: string, region?: string): CounterMetric {
  return Metric.counter(id, { description, incremental: true, ...(region === undefined ? {} : { attributes: { region } }) })
}

function histogram(region?: string): Metric.Metric<number, Metric.HistogramState> {
  return Metric.histogram("dogpile_lock_wait_milliseconds", {
    description: "Time callers waited for another caller's creation, in milliseconds",
    // `unit` becomes the OTLP metric's unit; the Prometheus formatter leaves it out of the labels.
    attributes: region === undefined ? { unit: "ms" } : { unit: "ms", region },
    boundaries: Metric.exponentialBoundaries({ start: 1, factor: 2, count: 16 })
  })
}

/**
 * Unlabelled metric definitions, for querying or exporting. Names follow the
 * Prometheus conventions (counters end in `_total`, the unit is spelled out);
 * `docs/metrics.md` shows how to export them to Prometheus or OpenTelemetry.
 *
 * @since 0.1.0
 */
export const hits = counter("dogpile_hits_total", "Fresh values served from the store")
/** @since 0.1.0 */
export const misses = counter("dogpile_misses_total", "Reads that found no usable value")
/** @since 0.1.0 */
export const staleServed = counter(
  "dogpile_stale_served_total",
  "Stale values served while another caller regenerates (or after a failed regeneration)"
)
/** @since 0.1.0 */
export const creations = counter("dogpile_creations_total", "Creator runs that succeeded")
/** @since 0.1.0 */
export const notModified = counter(
  "dogpile_not_modified_total",
  "Conditional creator runs that answered \"not modified\": the entry was renewed without encoding or rewriting its value"
)
/** @since 0.1.0 */
export const creatorFailures = counter("dogpile_creator_failures_total", "Creator runs that failed")
/** @since 0.1.0 */
export const decodeFailures = counter(
  "dogpile_decode_failures_total",
  "Stored values that failed to decode or had another format version (treated as misses)"
)
/** @since 0.1.0 */
export const bypassed = counter("dogpile_bypassed_total", "Calls that ran the creator without the cache because the backend failed")
/** @since 0.1.0 */
export const lockWaitMillis = histogram()

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
  /** Conditional refreshes answered "not modified" (these are not counted in `creations`). */
  readonly notModified: CounterMetric
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
  // Labelled by construction, not with `Metric.withAttributes`: that adds to the context on every
  // update, which cost more than the rest of an in-process hit.
  const labelled = (metric: CounterMetric) => counter(metric.id, metric.description ?? "", region)
  return {
    hits: labelled(hits),
    misses: labelled(misses),
    staleServed: labelled(staleServed),
    creations: labelled(creations),
    notModified: labelled(notModified),
    creatorFailures: labelled(creatorFailures),
    decodeFailures: labelled(decodeFailures),
    bypassed: labelled(bypassed),
    lockWaitMillis: histogram(region)
  }
}
