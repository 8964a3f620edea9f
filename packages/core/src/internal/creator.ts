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
import type { BatchCreator, Dogpile } from "../Dogpile.ts"
import type { LockLease } from "../Lock.ts"
import { display, type Target } from "./keys.ts"
import type { CallSettings } from "./settings.ts"

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
  d: Dogpile<A>,
  targets: ReadonlyArray<Target>,
  leases: ReadonlyArray<LockLease>,
  creator: BatchCreator<A, E, R>,
  call: CallSettings<A>
): Effect.Effect<ReadonlyArray<A>, E | CacheError, R> =>
  Effect.gen(function*() {
    const created = yield* runCreator(d, targets, creator, call)
    const keep = call.shouldCache
    const entries = targets.flatMap((target, i) => {
      const [value, meta] = created[i]!
      return keep === undefined || keep(value) ? [[target, value, meta] as const] : []
    })
    if (entries.length > 0) yield* d.store(entries, call)
    yield* Effect.forEach(
      targets,
      (target, i) => d.emit(() => ({ _tag: "Created", key: display(target), durationMs: created[i]![1].computeMs ?? 0 })),
      { discard: true }
    )
    yield* Effect.forEach(leases, (lease, i) => confirmLease(d, lease, targets[i]!), { concurrency: "unbounded", discard: true })
    return created.map(([value]) => value)
  })

/** Confirms one lease; a lost lock emits `LockLost` whether its policy fails the call or not. */
const confirmLease = <A>(d: Dogpile<A>, lease: LockLease, target: Target): Effect.Effect<void, CacheError> => {
  const lost = d.emit(() => ({ _tag: "LockLost", key: display(target) }))
  return lease.confirm.pipe(
    Effect.tapError(() => lost),
    Effect.flatMap((held) => (held === "lost" ? lost : Effect.void))
  )
}

/** The creator, marked as creating its keys, timed, bounded by the hard timeout, its results checked. */
const runCreator = <A, E, R>(
  d: Dogpile<A>,
  targets: ReadonlyArray<Target>,
  creator: BatchCreator<A, E, R>,
  call: CallSettings<A>
): Effect.Effect<ReadonlyArray<readonly [A, EntryMeta.EntryMeta]>, E | CacheError, R> =>
  CreatingKeys.use((creating) => {
    const next = new Set(creating)
    for (const target of targets) next.add(target.id)
    const shown = display(targets[0]!)
    const bounded = call.hardTimeoutMs === undefined
      ? Effect.suspend(() => creator(targets))
      : Effect.suspend(() => creator(targets)).pipe(
        Effect.timeoutOrElse({
          duration: call.hardTimeoutMs,
          orElse: () => Effect.fail(new CreatorTimeoutError({ key: shown, timeoutMillis: call.hardTimeoutMs! }))
        })
      )
    return Effect.flatMap(Clock.currentTimeMillis, (start) =>
      bounded.pipe(
        Effect.provideService(CreatingKeys, next),
        Effect.tapCause((cause) => Cause.hasInterruptsOnly(cause) ? Effect.void : Metric.update(d.metrics.creatorFailures, 1)),
        Effect.flatMap((values) =>
          Effect.flatMap(Clock.currentTimeMillis, (end) => results(d, targets, values, end - start, call, shown))
        )
      ))
  })

/** Unwraps `EntryMeta.expiresIn` values and builds each entry's metadata; a wrong result is a typed error. */
const results = <A>(
  d: Dogpile<A>,
  targets: ReadonlyArray<Target>,
  values: unknown,
  computeMs: number,
  call: CallSettings<A>,
  shown: string
): Effect.Effect<ReadonlyArray<readonly [A, EntryMeta.EntryMeta]>, CacheError> => {
  if (!Array.isArray(values) || values.length !== targets.length) {
    const got = Array.isArray(values) ? `${values.length} values` : `a ${typeof values}`
    return Effect.fail(new CreatorResultError({ key: shown, reason: `${got} for ${targets.length} keys` }))
  }
  return Effect.as(
    Metric.update(d.metrics.creations, targets.length),
    values.map((value): readonly [A, EntryMeta.EntryMeta] => {
      // Nothing by default: an entry carries metadata only when a feature needs it.
      const base: EntryMeta.EntryMeta = {
        ...(d.recordComputeTime ? { computeMs } : {}),
        ...(call.tags === undefined ? {} : { tags: call.tags })
      }
      if (!EntryMeta.isExpiring(value)) return [value as A, base]
      return [value.value as A, { ...base, expirationMs: expirationOf(value.expiration) }]
    })
  ).pipe(Effect.flatMap((entries) => {
    const bad = entries.findIndex(([, meta]) => meta.expirationMs !== undefined && !(meta.expirationMs > 0 && Number.isFinite(meta.expirationMs)))
    return bad === -1
      ? Effect.succeed(entries)
      : Effect.fail(new CreatorResultError({ key: display(targets[bad]!), reason: "EntryMeta.expiresIn needs a positive, finite duration" }))
  }))
}

const expirationOf = (input: Duration.Input): number => {
  const decoded = Duration.fromInput(input)
  return Option.isSome(decoded) ? Duration.toMillis(decoded.value) : Number.NaN
}

/** Tries the locks of `targets` together; the leases taken live in `scope`. */
export const tryLocks = <A>(d: Dogpile<A>, targets: ReadonlyArray<Target>, scope: Scope.Scope) =>
  Effect.forEach(targets, (target) => Scope.provide(d.lock.tryAcquire(target.full), scope), {
    concurrency: "unbounded"
  })
