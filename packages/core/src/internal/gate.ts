/**
 * Where every operation of a region starts: a closed region fails at once,
 * naming itself, and a span is opened only when a tracer exports it.
 *
 * @internal
 */
import { Effect, type Fiber, Tracer } from "effect"
import { RegionClosedError } from "../CacheError.ts"

/** A region's gate: its name (for errors and spans) and whether it is closed. */
export interface Gate {
  readonly name: string
  readonly spanOptions: { readonly attributes: { readonly region: string }; readonly captureStackTrace: false }
  closed: boolean
}

/** The gate of the region `name`, open. */
export const make = (name: string): Gate => ({ name, spanOptions: { attributes: { region: name }, captureStackTrace: false }, closed: false })

/**
 * `self` in a span named `spanName`. Data-first on purpose: effect 4.1's data-last `withSpan` ignores
 * `captureStackTrace` and captures a stack trace on every call, which dominated the hit path.
 */
const span = <X, E, R>(gate: Gate, spanName: string, self: Effect.Effect<X, E, R>) =>
  Effect.withSpan(self, spanName, gate.spanOptions)

/**
 * Whether spans are exported: Effect's native tracer exports nothing (and a span costs more than a whole
 * hit), so under it, or with tracing turned off, no operation opens one.
 */
export const exporting = (fiber: Fiber.Fiber<unknown, unknown>): boolean => {
  const cache = fiber.cache
  return cache.tracer !== undefined && cache.tracer !== Tracer.nativeTracer && cache.tracerEnabled
}

const closedError = (gate: Gate) => Effect.fail(new RegionClosedError({ region: gate.name }))

/** Every operation without a synchronous hit starts here: a closed region fails, an exported call gets its span. */
export const open = <X, E, R>(
  gate: Gate,
  spanName: string,
  body: () => Effect.Effect<X, E, R>
): Effect.Effect<X, E | RegionClosedError, R> =>
  Effect.withFiber((fiber): Effect.Effect<X, E | RegionClosedError, R> => {
    const inner: Effect.Effect<X, E | RegionClosedError, R> = gate.closed ? closedError(gate) : body()
    return exporting(fiber) ? span(gate, spanName, inner) : inner
  })

/**
 * A call with a synchronous hit that cannot run as is (`get`, `getOrCreate` run as is, in one
 * primitive, on an open region with no span exported): an exporting tracer sees its span (hits
 * included); a closed region fails naming itself.
 */
export const loud = <X, E, R>(
  gate: Gate,
  spanName: string,
  run: (fiber: Fiber.Fiber<unknown, unknown>) => Effect.Effect<X, E, R>
): Effect.Effect<X, E | RegionClosedError, R> =>
  span<X, E | RegionClosedError, R>(gate, spanName, gate.closed ? closedError(gate) : Effect.withFiber(run))
