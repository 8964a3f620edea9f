/**
 * Running a creator under held locks: dogpile's `gen_value` step. The creator
 * runs with its keys marked as "being created by this fiber" (so asking for one
 * of them again fails instead of deadlocking), its value is stored when
 * `shouldCache` allows, and the leases are confirmed together.
 *
 * @internal
 */
import { Cause, Clock, Context, Duration, Effect, Metric, Option, Scope } from "effect"
import { type CacheError, CreatorResultError, CreatorTimeoutError, ReentrantCreateError } from "../CacheError.ts"
import * as EntryMeta from "../EntryMeta.ts"
import type { BatchCreator, DogpileContext } from "./dogpileContext.ts"
import type { LockLease } from "../Lock.ts"
import { display, type Target } from "./keys.ts"
import type { CallSettings } from "./settings.ts"
import * as Trace from "./trace.ts"

/**
 * The keys whose creators the current fiber is running, to catch a creator
 * that asks for its own key (which would otherwise wait for itself forever).
 */
const CreatingKeys = Context.Reference<ReadonlySet<string>>("@dogpile-effect/core/Dogpile/CreatingKeys", {
  defaultValue: () => new Set()
})

/** The `ReentrantCreateError` for the first of `targets` that the fiber with `context` is creating, if any. */
export const reentered = (
  context: Context.Context<never>,
  targets: ReadonlyArray<Target>,
  show: (target: Target) => string
): ReentrantCreateError | undefined => {
  const creating = Context.get(context, CreatingKeys)
  if (creating.size === 0) return undefined
  const own = targets.find((target) => creating.has(target.id))
  return own === undefined ? undefined : new ReentrantCreateError({ key: show(own) })
}

/** Fails with `ReentrantCreateError` when the current fiber is creating one of `targets`. */
export const checkReentry = (targets: ReadonlyArray<Target>, show: (target: Target) => string) =>
  Effect.withFiber((fiber) => {
    const error = reentered(fiber.context, targets, show)
    return error === undefined ? Effect.void : Effect.fail(error)
  })

/** Runs the creator for `targets` (held by us), stores what should be cached, confirms the leases. */
export const create = <A, E, R>(
  d: DogpileContext<A>,
  targets: ReadonlyArray<Target>,
  leases: ReadonlyArray<LockLease>,
  creator: BatchCreator<A, E, R>,
  call: CallSettings<A>
): Effect.Effect<ReadonlyArray<A>, E | CacheError, R> =>
  Effect.flatMap(runCreator(d, targets, creator, call), ({ created, now }) => {
    const keep = call.shouldCache
    const entries = targets.flatMap((target, i) => {
      const [value, meta] = created[i]!
      return keep === undefined || keep(value) ? [[target, value, meta] as const] : []
    })
    const events = together(targets, (target, i) =>
      d.emit(() => ({ _tag: "Created", key: display(target), durationMs: created[i]![1].computeMs ?? 0 })))
    const confirmed = together(leases, (lease, i) => confirmLease(d, lease, targets[i]!))
    const after = Effect.andThen(events, confirmed)
    const values = created.map(([value]) => value)
    return Effect.as(entries.length > 0 ? Effect.andThen(d.store(entries, call, now), after) : after, values)
  })

/**
 * Confirms one lease, releasing the lock with it where the lease can (the store is done: this is the lock's last
 * use); a lost lock emits `LockLost` whether its policy fails the call or not.
 */
const confirmLease = <A>(d: DogpileContext<A>, lease: LockLease, target: Target): Effect.Effect<void, CacheError> => {
  const lost = d.emit(() => ({ _tag: "LockLost", key: display(target) }))
  return Effect.matchEffect(lease.confirmAndRelease ?? lease.confirm, {
    onFailure: (error) => Effect.andThen(lost, Effect.fail(error)),
    onSuccess: (held) => (held === "lost" ? lost : Effect.void)
  })
}

/**
 * The creator, marked as creating its keys, timed, bounded by the hard
 * timeout, its results checked. Succeeds with the entries and the time they
 * were created at (the clock when the creator ended).
 */
const runCreator = <A, E, R>(
  d: DogpileContext<A>,
  targets: ReadonlyArray<Target>,
  creator: BatchCreator<A, E, R>,
  call: CallSettings<A>
): Effect.Effect<{ readonly created: ReadonlyArray<readonly [A, EntryMeta.EntryMeta]>; readonly now: number }, E | CacheError, R> =>
  Effect.withFiber((fiber) => {
    const next = new Set(Context.get(fiber.context, CreatingKeys))
    for (const target of targets) next.add(target.id)
    const clock = Context.get(fiber.context, Clock.Clock)
    const start = clock.currentTimeMillisUnsafe()
    const shown = display(targets[0]!)
    const run = Effect.suspend(() => creator(targets))
    const bounded = call.hardTimeoutMs === undefined ? run : run.pipe(
      Effect.timeoutOrElse({
        duration: call.hardTimeoutMs,
        orElse: () => Effect.fail(new CreatorTimeoutError({ key: shown, timeoutMillis: call.hardTimeoutMs! }))
      })
    )
    return bounded.pipe(
      Effect.provideService(CreatingKeys, next),
      Effect.onError((cause) => {
        Trace.creatorRan(fiber.context, clock.currentTimeMillisUnsafe() - start)
        return Cause.hasInterruptsOnly(cause) ? Effect.void : Metric.update(d.metrics.creatorFailures, 1)
      }),
      Effect.flatMap((values) => {
        const now = clock.currentTimeMillisUnsafe()
        Trace.creatorRan(fiber.context, now - start)
        return Effect.map(results(d, targets, values, now - start, call, shown), (created) => ({ created, now }))
      })
    )
  })

/** Unwraps `EntryMeta.expiresIn` values and builds each entry's metadata; a wrong result is a typed error. */
const results = <A>(
  d: DogpileContext<A>,
  targets: ReadonlyArray<Target>,
  values: unknown,
  computeMs: number,
  call: CallSettings<A>,
  shown: string
): Effect.Effect<ReadonlyArray<readonly [A, EntryMeta.EntryMeta]>, CacheError> => {
  const list = plainList(values)
  if (list === undefined || list.length !== targets.length) {
    const got = list === undefined ? `a ${typeof values} that is not a readable array` : `${list.length} values`
    return Effect.fail(new CreatorResultError({ key: shown, reason: `${got} for ${targets.length} keys` }))
  }
  // Nothing by default: an entry carries metadata only when a feature needs it.
  const base: EntryMeta.EntryMeta = d.recordComputeTime || call.tags !== undefined
    ? { ...(d.recordComputeTime ? { computeMs } : {}), ...(call.tags === undefined ? {} : { tags: call.tags }) }
    : EntryMeta.empty
  const entries = list.map((value): readonly [A, EntryMeta.EntryMeta] =>
    EntryMeta.isExpiring(value) ? [value.value as A, { ...base, expirationMs: expirationOf(value.expiration) }] : [value as A, base]
  )
  const bad = entries.findIndex(([, meta]) => meta.expirationMs !== undefined && !(meta.expirationMs > 0 && Number.isFinite(meta.expirationMs)))
  const counted = Metric.update(d.metrics.creations, targets.length)
  return bad === -1
    ? Effect.as(counted, entries)
    : Effect.andThen(counted, Effect.fail(new CreatorResultError({ key: display(targets[bad]!), reason: "EntryMeta.expiresIn needs a positive, finite duration" })))
}

/** A creator's list copied into a plain array; `undefined` for anything else, or a list that throws when read (a revoked Proxy). */
const plainList = (values: unknown): ReadonlyArray<unknown> | undefined => {
  try {
    return Array.isArray(values) ? Array.from(values as ReadonlyArray<unknown>) : undefined
  } catch {
    return undefined
  }
}

const expirationOf = (input: Duration.Input): number => {
  const decoded = Duration.fromInput(input)
  return Option.isSome(decoded) ? Duration.toMillis(decoded.value) : Number.NaN
}

/** Tries the locks of `targets` together; the leases taken live in `scope`. */
export const tryLocks = <A>(d: DogpileContext<A>, targets: ReadonlyArray<Target>, scope: Scope.Scope) =>
  together(targets, (target) => Scope.provide(d.lock.tryAcquire(target.full), scope))

/**
 * `f` over every item at once (the lock steps of a batch: one round trip for all). A single item, the
 * common case, runs in the caller's own fiber: forking one costs more than the rest of an in-process miss.
 */
export const together = <X, B, E, R>(
  items: ReadonlyArray<X>,
  f: (item: X, i: number) => Effect.Effect<B, E, R>
): Effect.Effect<Array<B>, E, R> =>
  items.length === 1 ? Effect.map(f(items[0]!, 0), (b) => [b]) : Effect.forEach(items, f, { concurrency: "unbounded" })
