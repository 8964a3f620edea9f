/**
 * What a region call's span says about it. The gate (`gate.ts`) gives each
 * exported call a fresh {@link CallTrace} in its context; the points where the
 * read path decides an outcome, waits for a lock or runs a creator add to it,
 * and the gate writes it on the span when the call ends. With no exported
 * span there is no record: every step here is then one context lookup.
 *
 * @internal
 */
import { Context, Effect, Exit, References, Tracer } from "effect"
import * as CacheKey from "../CacheKey.ts"
import { RecordKeys } from "../RegionTracing.ts"

/** What a call did with a key: served it fresh, found nothing, served it stale, created it, … */
export type Outcome = "hit" | "miss" | "stale_served" | "created" | "early_refresh" | "bypassed" | "error"

/** The running record of one traced call. */
export interface CallTrace {
  /** Keys by outcome (many-key calls count each; a single-key call has one). */
  readonly outcomes: Map<Outcome, number>
  /** Time waited for the dogpile lock (another creator's), in the region's clock's milliseconds. */
  lockWaitMs: number
  /** Time the creator ran, summed over its runs in this call. */
  creatorMs: number
  /** Whether a creator ran at all (a creator of 0 ms still says so). */
  created: boolean
  /** Whether the call waited for a lock at all. */
  waited: boolean
}

/** The record of the traced call the fiber runs in; `undefined` when its span is not exported. */
export const Current = Context.Reference<CallTrace | undefined>("@dogpile-effect/core/internal/trace/Current", {
  defaultValue: () => undefined
})

const make = (): CallTrace => ({ outcomes: new Map(), lockWaitMs: 0, creatorMs: 0, created: false, waited: false })

/** Counts `n` keys of the call running with `context` under `outcome`. */
export const mark = (context: Context.Context<never>, outcome: Outcome, n = 1): void => {
  const trace = Context.get(context, Current)
  if (trace !== undefined && n > 0) trace.outcomes.set(outcome, (trace.outcomes.get(outcome) ?? 0) + n)
}

/** {@link mark} as an effect, for steps without the fiber at hand. */
export const marking = (outcome: Outcome, n = 1): Effect.Effect<void> =>
  Effect.withFiber((fiber) => {
    mark(fiber.context, outcome, n)
    return Effect.void
  })

/** Counts the keys of the current call served (`true`: `hit`) or not (`miss`). */
export const hitsAndMisses = (served: ReadonlyArray<boolean>): Effect.Effect<void> =>
  Effect.withFiber((fiber) => {
    if (Context.get(fiber.context, Current) === undefined) return Effect.void
    const hits = served.filter((s) => s).length
    mark(fiber.context, "hit", hits)
    mark(fiber.context, "miss", served.length - hits)
    return Effect.void
  })

/** Adds `ms` of waiting for the dogpile lock to the current call. */
export const lockWait = (ms: number): Effect.Effect<void> =>
  Effect.withFiber((fiber) => {
    const trace = Context.get(fiber.context, Current)
    if (trace === undefined) return Effect.void
    trace.lockWaitMs += ms
    trace.waited = true
    return Effect.void
  })

/** Adds a creator run of `ms` to the call running with `context`. */
export const creatorRan = (context: Context.Context<never>, ms: number): void => {
  const trace = Context.get(context, Current)
  if (trace === undefined) return
  trace.creatorMs += ms
  trace.created = true
}

/**
 * What the span of a call is about: `undefined` (no key: `invalidate`), one key, or the keys of a
 * many-key call (counted, never named).
 */
export type Subject = CacheKey.CacheKey | ReadonlyArray<unknown> | undefined

/** The attributes of a call that ended with `exit`, for the span it ran in. */
const attributes = (
  trace: CallTrace,
  exit: Exit.Exit<unknown, unknown>,
  subject: Subject,
  fallback: Outcome | undefined,
  recordKeys: boolean
): Record<string, unknown> => {
  const out: Record<string, unknown> = {}
  if (Array.isArray(subject)) {
    out["dogpile.keys"] = subject.length
    for (const [outcome, n] of trace.outcomes) out[`dogpile.outcome.${outcome}`] = n
    if (Exit.isFailure(exit)) out["dogpile.outcome"] = "error"
  } else {
    if (recordKeys && subject !== undefined) out["dogpile.key"] = CacheKey.display(subject as CacheKey.CacheKey)
    const outcome = Exit.isFailure(exit) ? "error" : single(trace) ?? fallback
    if (outcome !== undefined) out["dogpile.outcome"] = outcome
  }
  if (trace.waited) out["dogpile.lock.wait_ms"] = trace.lockWaitMs
  if (trace.created) out["dogpile.creator.ms"] = trace.creatorMs
  return out
}

/** A single-key call's one outcome: the last step's (a key created after a wait is `created`). */
const single = (trace: CallTrace): Outcome | undefined => {
  let last: Outcome | undefined
  for (const outcome of trace.outcomes.keys()) last = outcome
  return trace.outcomes.has("created") ? "created" : last
}

/**
 * `self` with a fresh record, written on `span` when it ends. `fallback`: the outcome of a call that
 * recorded none (a single-key read answered by the synchronous hit: `hit`).
 */
export const recorded = <X, E, R>(
  span: Tracer.Span,
  self: Effect.Effect<X, E, R>,
  subject: Subject,
  fallback: Outcome | undefined
): Effect.Effect<X, E, R> =>
  Effect.withFiber((fiber) => {
    const trace = make()
    const recordKeys = Context.get(fiber.context, RecordKeys)
    return Effect.onExit(
      Effect.provideService(self, Current, trace),
      (exit) =>
        Effect.sync(() => {
          const out = attributes(trace, exit, subject, fallback, recordKeys)
          for (const key in out) span.attribute(key, out[key])
        })
    )
  })

const noStack = (): string | undefined => undefined

/**
 * `body` in a span named `spanName`, the way `Effect.fn(spanName)` runs its body: the span is opened
 * with `useSpan` (a child of the caller's span, ended with the body's exit) and made the parent of the
 * body's spans, and a stack frame named for the call is pushed, so a failure inside names it. Unlike
 * `Effect.fn`, no `Error` is built to capture the caller's source line: a region call is built before
 * it knows whether a tracer exports it, so that capture would be paid by every call, hits with tracing
 * off included (`bench/tracing.ts` measures it).
 */
export const inSpan = <X, E, R>(
  spanName: string,
  options: Tracer.SpanOptionsNoTrace,
  body: (span: Tracer.Span) => Effect.Effect<X, E, R>
): Effect.Effect<X, E, R> =>
  Effect.useSpan(spanName, options, (opened) =>
    body(opened).pipe(
      Effect.provideService(Tracer.ParentSpan, opened),
      Effect.updateService(References.CurrentStackFrame, (parent) => ({ name: spanName, stack: noStack, parent }))
    ))
