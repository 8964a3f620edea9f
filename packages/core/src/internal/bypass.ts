/**
 * `onBackendError: "bypass"`: when the backend fails, run the creator without
 * the cache, still once per key per process (callers of one key share one
 * run), count it, and warn at most once a second.
 *
 * @internal
 */
import { Clock, Deferred, Effect, Metric } from "effect"
import { BackendError, type CacheError } from "../CacheError.ts"
import type { RegionMetrics } from "../RegionMetrics.ts"
import * as Trace from "./trace.ts"

const isBackendError = (error: unknown): error is BackendError => error instanceof BackendError

/** The bypass of one region. */
export interface Bypass {
  /**
   * `effect`, or on a backend failure `fallback` (the creator alone), shared by the callers of `id`
   * (a function when building it costs something: it is called only on a failure). `keys`: how many
   * keys the call bypasses (on its span).
   */
  readonly bypass: <X, E, R>(
    id: string | (() => string),
    effect: Effect.Effect<X, E | CacheError, R>,
    fallback: Effect.Effect<X, E, R>,
    keys?: number
  ) => Effect.Effect<X, E | CacheError, R>
  /** A store that fails while bypassing is allowed: logged, and the created value is still returned. */
  readonly guardStore: (effect: Effect.Effect<void, CacheError>) => Effect.Effect<void, CacheError>
}

/** Builds the bypass of one region; with `enabled` false both are the identity. */
export const make = (options: {
  readonly enabled: boolean
  readonly metrics: RegionMetrics
  readonly emit: (id: string, reason: string) => Effect.Effect<void>
}): Bypass => {
  const running = new Map<string, Deferred.Deferred<unknown, unknown>>()
  let lastWarning = Number.NEGATIVE_INFINITY
  let sinceWarning = 0

  // At most one warning a second while the backend is down; every bypass is counted, and can be an event.
  const warn = (reason: string) =>
    Clock.clockWith((clock) => {
      const now = clock.currentTimeMillisUnsafe()
      sinceWarning++
      if (now - lastWarning < 1000) return Effect.void
      const count = sinceWarning
      lastWarning = now
      sinceWarning = 0
      return Effect.logWarning(
        `dogpile: backend failed; running creators without the cache (${count} call${count === 1 ? "" : "s"} since the last warning)`,
        reason
      )
    })

  const singleFlight = <X, E, R>(id: string, fallback: Effect.Effect<X, E, R>): Effect.Effect<X, E, R> =>
    Effect.suspend(() => {
      const current = running.get(id) as Deferred.Deferred<X, E> | undefined
      if (current !== undefined) return Deferred.await(current)
      const deferred = Deferred.makeUnsafe<X, E>()
      running.set(id, deferred as Deferred.Deferred<unknown, unknown>)
      return fallback.pipe(
        Effect.onExit((exit) =>
          Effect.sync(() => {
            running.delete(id)
            Deferred.doneUnsafe(deferred, exit)
          })
        )
      )
    })

  const bypass: Bypass["bypass"] = (id, effect, fallback, keys = 1) =>
    options.enabled
      ? Effect.catchIf(effect, isBackendError, (error) => {
        const shared = typeof id === "string" ? id : id()
        return Effect.andThen(
          Effect.andThen(Metric.update(options.metrics.bypassed, 1), Effect.andThen(options.emit(shared, error.message), warn(error.message))),
          Effect.andThen(Trace.marking("bypassed", keys), singleFlight(shared, fallback))
        )
      })
      : effect

  const guardStore: Bypass["guardStore"] = (effect) =>
    options.enabled
      ? Effect.catchIf(effect, isBackendError, (error) =>
        Effect.logWarning("dogpile: could not store a created value; continuing without the cache", error.message))
      : effect

  return { bypass, guardStore }
}
