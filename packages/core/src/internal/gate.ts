/**
 * Where every operation of a region starts: a closed region fails at once,
 * naming itself, and a span is opened only when a tracer exports it.
 *
 * @internal
 */
import { Effect, type Fiber, Tracer } from "effect"
import { RegionClosedError } from "../CacheError.ts"
import * as Trace from "./trace.ts"

/** A region's gate: its name (for errors and spans) and whether it is closed. */
export interface Gate {
  readonly name: string
  readonly spanOptions: {
    readonly attributes: { readonly region: string; readonly "dogpile.region": string }
  }
  closed: boolean
}

/** The gate of the region `name`, open. */
export const make = (name: string): Gate => ({
  name,
  spanOptions: { attributes: { region: name, "dogpile.region": name } },
  closed: false
})

/** `self` in the call's span (`Trace.inSpan`, the way `Effect.fn` runs its body), its record written on it as it ends. */
const span = <X, E, R>(
  gate: Gate,
  spanName: string,
  self: Effect.Effect<X, E, R>,
  subject: Trace.Subject,
  fallback?: Trace.Outcome
): Effect.Effect<X, E, R> =>
  Trace.inSpan(spanName, gate.spanOptions, (opened) => Trace.recorded(opened, self, subject, fallback))

/**
 * Whether spans are exported: Effect's native tracer exports nothing (and a span costs more than a whole
 * hit), so under it, or with tracing turned off, no operation opens one.
 */
export const exporting = (fiber: Fiber.Fiber<unknown, unknown>): boolean => {
  const cache = fiber.cache
  return cache.tracer !== undefined && cache.tracer !== Tracer.nativeTracer && cache.tracerEnabled
}

const closedError = (gate: Gate) => Effect.fail(new RegionClosedError({ region: gate.name }))

/**
 * Every operation without a synchronous hit starts here: a closed region fails, an exported call gets
 * its span. `subject`: the call's key, or its keys (counted on the span, never named).
 */
export const open = <X, E, R>(
  gate: Gate,
  spanName: string,
  body: () => Effect.Effect<X, E, R>,
  subject?: Trace.Subject
): Effect.Effect<X, E | RegionClosedError, R> =>
  Effect.withFiber((fiber): Effect.Effect<X, E | RegionClosedError, R> => {
    const inner: Effect.Effect<X, E | RegionClosedError, R> = gate.closed ? closedError(gate) : body()
    return exporting(fiber) ? span(gate, spanName, inner, subject) : inner
  })

/**
 * A call with a synchronous hit that cannot run as is (`get`, `getOrCreate` run as is, in one
 * primitive, on an open region with no span exported): an exporting tracer sees its span (hits
 * included: a call that records no other outcome was answered by the synchronous hit, a `hit`); a
 * closed region fails naming itself.
 */
export const loud = <X, E, R>(
  gate: Gate,
  spanName: string,
  run: (fiber: Fiber.Fiber<unknown, unknown>) => Effect.Effect<X, E, R>,
  key: Trace.Subject
): Effect.Effect<X, E | RegionClosedError, R> =>
  span<X, E | RegionClosedError, R>(gate, spanName, gate.closed ? closedError(gate) : Effect.withFiber(run), key, "hit")
