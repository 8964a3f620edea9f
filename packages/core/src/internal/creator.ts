/**
 * Running a creator under held locks: dogpile's `gen_value` step. The creator
 * runs with its keys marked as "being created by this fiber" (so asking for one
 * of them again fails instead of deadlocking), its value is stored when
 * `shouldCache` allows, and the leases are confirmed together.
 *
 * @internal
 */
import { Cause, Clock, Context, Duration, Effect, Exit, Option, Scope } from "effect"
import { type CacheError, CreatorResultError, CreatorTimeoutError, ReentrantCreateError } from "../CacheError.ts"
import * as Conditional from "../Conditional.ts"
import * as EntryMeta from "../EntryMeta.ts"
import type { BatchCreator, DogpileContext } from "./dogpileContext.ts"
import type { LockLease } from "../Lock.ts"
import { display, type Target } from "./keys.ts"
import * as Renewal from "./renewal.ts"
import type { CallSettings } from "./settings.ts"
import type { Stored } from "./stored.ts"
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

/**
 * Runs the creator for `targets` (held by us), stores what should be cached, confirms the leases.
 * `previous[i]`: the entry `targets[i]` replaces, for a conditional creator; what it answers "not
 * modified" is renewed (its bytes restamped, not encoded again) instead of stored.
 */
export const create = <A, E, R>(
  d: DogpileContext<A>,
  targets: ReadonlyArray<Target>,
  leases: ReadonlyArray<LockLease>,
  creator: BatchCreator<A, E, R>,
  call: CallSettings<A>,
  previous?: ReadonlyArray<Stored<A> | undefined>
): Effect.Effect<ReadonlyArray<A>, E | CacheError, R> =>
  Effect.flatMap(runCreator(d, targets, creator, call, previous), ({ created, now }) => {
    const keep = call.shouldCache
    const entries: Array<readonly [Target, A, EntryMeta.EntryMeta]> = []
    const renewals: Array<Renewal.Renewal<A>> = []
    const renewedAt: Array<number> = []
    created.forEach(([value, meta, renew], i) => {
      if (renew) {
        renewals.push({ target: targets[i]!, previous: previous![i]!, meta })
        renewedAt.push(i)
      } else if (keep === undefined || keep(value)) entries.push([targets[i]!, value, meta])
    })
    const events = each(targets, (target, i) =>
      d.emit(() => ({
        _tag: created[i]![2] ? "NotModified" : "Created",
        key: display(target),
        durationMs: created[i]![1].computeMs ?? 0
      })))
    const confirmed = each(leases, (lease, i) => confirmLease(d, lease, targets[i]!))
    const after = Effect.andThen(events, confirmed)
    const values = created.map(([value]) => value)
    const stored = entries.length > 0 ? d.store(entries, call, now) : Effect.void
    if (renewals.length === 0) return Effect.as(entries.length > 0 ? Effect.andThen(stored, after) : after, values)
    // A renewal may find the entry changed or invalidated meanwhile: it then serves what the store holds.
    const renewed = Effect.map(Renewal.write(d, renewals, call, now), (served) => {
      served.forEach((value, j) => (values[renewedAt[j]!] = value))
      return values
    })
    return Effect.andThen(stored, Effect.flatMap(renewed, (served) => Effect.as(after, served)))
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
  call: CallSettings<A>,
  previous: ReadonlyArray<Stored<A> | undefined> | undefined
): Effect.Effect<{ readonly created: ReadonlyArray<Made<A>>; readonly now: number }, E | CacheError, R> =>
  Effect.withFiber((fiber) => {
    const next = new Set(Context.get(fiber.context, CreatingKeys))
    for (const target of targets) next.add(target.id)
    const clock = Context.get(fiber.context, Clock.Clock)
    const start = clock.currentTimeMillisUnsafe()
    const shown = display(targets[0]!)
    const run = Effect.suspend(() => creator(targets, previous))
    const bounded = call.hardTimeoutMs === undefined ? run : run.pipe(
      Effect.timeoutOrElse({
        duration: call.hardTimeoutMs,
        orElse: () => Effect.fail(new CreatorTimeoutError({ key: shown, timeoutMillis: call.hardTimeoutMs! }))
      })
    )
    // One step for both outcomes: the failure counted, the success checked and counted synchronously.
    return Effect.matchCauseEffect(Effect.provideService(bounded, CreatingKeys, next), {
      onFailure: (cause) => {
        Trace.creatorRan(fiber.context, clock.currentTimeMillisUnsafe() - start)
        if (!Cause.hasInterruptsOnly(cause)) d.metrics.creatorFailures.updateUnsafe(1, fiber.context)
        return Effect.failCause(cause)
      },
      onSuccess: (values) => {
        const now = clock.currentTimeMillisUnsafe()
        Trace.creatorRan(fiber.context, now - start)
        const created = results(d, targets, values, { computeMs: now - start, now, previous }, call, shown, fiber.context)
        return created instanceof CreatorResultError ? Effect.fail(created) : Exit.succeed({ created, now })
      }
    })
  })

/** One creator result: the value, its metadata, and whether it renews the previous entry ("not modified"). */
type Made<A> = readonly [A, EntryMeta.EntryMeta, boolean]

/** When a creator ran: how long it took, when it ended, and the entries it replaced (if conditional). */
interface Run<A> {
  readonly computeMs: number
  readonly now: number
  readonly previous: ReadonlyArray<Stored<A> | undefined> | undefined
}

/**
 * Unwraps `EntryMeta.expiresIn` and `Conditional` answers and builds each entry's metadata (renewing
 * the previous entry for `Conditional.notModified`), counted in the region's metrics (updated at once,
 * in `context`); a wrong result is a typed error.
 */
const results = <A>(
  d: DogpileContext<A>,
  targets: ReadonlyArray<Target>,
  values: unknown,
  run: Run<A>,
  call: CallSettings<A>,
  shown: string,
  context: Context.Context<never>
): ReadonlyArray<Made<A>> | CreatorResultError => {
  const list = plainList(values)
  if (list === undefined || list.length !== targets.length) {
    const got = list === undefined ? `a ${typeof values} that is not a readable array` : `${list.length} values`
    return new CreatorResultError({ key: shown, reason: `${got} for ${targets.length} keys` })
  }
  const computeMs = run.computeMs
  // Nothing by default: an entry carries metadata only when a feature needs it.
  const base: EntryMeta.EntryMeta = d.recordComputeTime || call.tags !== undefined
    ? { ...(d.recordComputeTime ? { computeMs } : {}), ...(call.tags === undefined ? {} : { tags: call.tags }) }
    : EntryMeta.empty
  const made: Array<Made<A>> = []
  let renewals = 0
  for (let i = 0; i < list.length; i++) {
    const one = madeOf(d, list[i], base, run, i, call)
    if (typeof one === "string") {
      // Counted as before this check existed: the creator did run and succeed.
      d.metrics.creations.updateUnsafe(targets.length, context)
      return new CreatorResultError({ key: display(targets[i]!), reason: one })
    }
    if (one[2]) renewals++
    made.push(one)
  }
  d.metrics.creations.updateUnsafe(targets.length - renewals, context)
  if (renewals > 0) d.metrics.notModified.updateUnsafe(renewals, context)
  return made
}

/** One creator answer as an entry, or why it is wrong. */
const madeOf = <A>(
  d: DogpileContext<A>,
  value: unknown,
  base: EntryMeta.EntryMeta,
  run: Run<A>,
  i: number,
  call: CallSettings<A>
): Made<A> | string => {
  if (Conditional.isNotModified(value)) return renewal(d, run, i, call)
  if (Conditional.isFresh(value)) {
    const validator = value.validator
    if (validator !== undefined && !validValidator(validator)) {
      return `a Conditional.fresh validator must be a string of at most ${EntryMeta.MAX_VALIDATOR_BYTES} UTF-8 bytes`
    }
    const withValidator = validator === undefined ? base : { ...base, validator }
    return withExpiration(value.value as A, withValidator, value.expiration)
  }
  if (EntryMeta.isExpiring(value)) return withExpiration(value.value as A, base, value.expiration)
  return [value as A, base, false]
}

/** `value` with `meta` and, when given, its own expiration (which must be positive and finite). */
const withExpiration = <A>(value: A, meta: EntryMeta.EntryMeta, expiration: Duration.Input | undefined): Made<A> | string => {
  if (expiration === undefined) return [value, meta, false]
  const expirationMs = expirationOf(expiration)
  return expirationMs > 0 && Number.isFinite(expirationMs)
    ? [value, { ...meta, expirationMs }, false]
    : "EntryMeta.expiresIn needs a positive, finite duration"
}

/** The previous entry of key `i`, renewed at the run's end: same value, validator and expiration, new creation time. */
const renewal = <A>(d: DogpileContext<A>, run: Run<A>, i: number, call: CallSettings<A>): Made<A> | string => {
  const previous = run.previous?.[i]
  if (previous === undefined) return "Conditional.notModified answered without a previous entry to renew"
  const meta: EntryMeta.EntryMeta = {
    ...previous.meta,
    ...(d.recordComputeTime ? { computeMs: run.computeMs } : {}),
    ...(call.tags === undefined ? {} : { tags: call.tags })
  }
  return [previous.value, meta, true]
}

const utf8 = new TextEncoder()

/** Whether `validator` is a string of at most `EntryMeta.MAX_VALIDATOR_BYTES` UTF-8 bytes. */
const validValidator = (validator: unknown): boolean =>
  typeof validator === "string" && validator.length <= EntryMeta.MAX_VALIDATOR_BYTES &&
  utf8.encode(validator).length <= EntryMeta.MAX_VALIDATOR_BYTES

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

/** {@link together} for its effects alone (their results dropped): one item runs as it is, nothing mapped. */
export const each = <X, E, R>(
  items: ReadonlyArray<X>,
  f: (item: X, i: number) => Effect.Effect<unknown, E, R>
): Effect.Effect<unknown, E, R> =>
  items.length === 1
    ? f(items[0]!, 0)
    : Effect.forEach(items, f, { concurrency: "unbounded", discard: true })
