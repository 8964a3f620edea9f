/**
 * A counter for the hit path. `Metric.updateUnsafe` finds its series in the
 * context's registry on every update (two context lookups and a registry
 * lookup, ~40 ns: a tenth of an in-process hit); a hot counter finds the
 * series once per registry and metric attributes, and then adds through the
 * series' own hooks. Same series, same values as `Metric.update`: exporters,
 * `Metric.value` and `Metric.snapshot` see every count at once. A series
 * removed from its registry (`Metric.remove`) is found again, created anew,
 * on the next count.
 *
 * @internal
 */
import { Context, Metric } from "effect"

/** A counter series and where it lives. */
interface Series {
  readonly registry: Metric.MetricRegistry
  readonly key: string
  readonly hooks: Metric.Metric.Hooks<number, unknown>
}

/** Adds to a counter in the series that `context` selects. */
export interface HotCounter {
  readonly add: (amount: number, context: Context.Context<never>) => void
}

/** The registry key of `metric`'s series under `attributes`, as the metric itself computes it. */
const keyOf = (metric: Metric.Metric<number, unknown>, context: Context.Context<never>): string | undefined => {
  const probe: Metric.MetricRegistry = new Map()
  metric.valueUnsafe(Context.add(context, Metric.MetricRegistry, probe))
  return probe.keys().next().value
}

/** A hot counter over `metric`. */
export const make = (metric: Metric.Metric<number, unknown>): HotCounter => {
  // Keyed by the registry, then by the contextual attributes (the same object for contexts that share them).
  const known = new WeakMap<Metric.MetricRegistry, WeakMap<object, string>>()
  let lastContext: Context.Context<never> | undefined
  let last: Series | undefined

  const locate = (context: Context.Context<never>): Series | undefined => {
    const registry = Context.get(context, Metric.MetricRegistry)
    const attributes = Context.get(context, Metric.CurrentMetricAttributes)
    let keys = known.get(registry)
    if (keys === undefined) known.set(registry, keys = new WeakMap())
    let key = keys.get(attributes)
    if (key === undefined) {
      key = keyOf(metric, context)
      if (key === undefined) return undefined
      keys.set(attributes, key)
    }
    if (!registry.has(key)) metric.valueUnsafe(context) // creates the series, as an update would
    const metadata = registry.get(key)
    return metadata === undefined ? undefined : { registry, key, hooks: metadata.hooks }
  }

  return {
    add: (amount, context) => {
      if (context !== lastContext || last === undefined || last.registry.get(last.key)?.hooks !== last.hooks) {
        last = locate(context)
        lastContext = context
      }
      if (last === undefined) metric.updateUnsafe(amount, context)
      else last.hooks.update(amount, context)
    }
  }
}
