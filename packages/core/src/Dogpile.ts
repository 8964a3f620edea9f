/**
 * The dogpile algorithm, in one place, for one key and for many: who creates
 * a missing or expired value, who waits, who gets the stale value. It is
 * dogpile's `lock.py` over the `Lock` service:
 *
 * - **Fresh**: served, nobody locks.
 * - **Stale** (expired, or soft-invalidated): whoever takes the lock without
 *   waiting regenerates; everyone else gets the stale value at once. With
 *   `backgroundRefresh` the regenerating caller gets it too, and the creator
 *   runs in the region's scope; with `staleIfError` a failed regeneration
 *   serves the stale value.
 * - **Missing**: callers of one process queue behind one in-flight creation;
 *   its leader takes the lock, reads again (another process may have created
 *   the value meanwhile) and only then creates. A lock held elsewhere is
 *   waited for without being taken (`Lock.awaitRelease`), then the value is
 *   read; all waiters share the caller's deadline (`lockTimeout`).
 *
 * Many keys go through the same steps at once: the locks of all keys are
 * tried together (one round trip), the keys this caller holds are created by
 * one creator call, and keys held by others are waited for with no lock held,
 * so two overlapping batches never wait on each other.
 *
 * @since 0.2.0
 */
import { Cause, Deferred, Effect, Exit, FiberSet, Metric, Option, Scope } from "effect"
import { type CacheError, LockTimeoutError } from "./CacheError.ts"
import type * as EntryMeta from "./EntryMeta.ts"
import type * as RegionEvent from "./RegionEvent.ts"
import * as Creator from "./internal/creator.ts"
import * as Stale from "./internal/stale.ts"
import type { Target } from "./internal/keys.ts"
import type { CallSettings } from "./internal/settings.ts"
import type { Found } from "./internal/stored.ts"
import type { Lock, LockedMiss, LockLease } from "./Lock.ts"
import * as LockedMissPath from "./internal/lockedMiss.ts"
import type { RegionMetrics } from "./RegionMetrics.ts"

/**
 * What the algorithm needs from its region.
 *
 * @example
 * ```ts
 * // Built by Region.make; see Region.ts.
 * ```
 *
 * @category models
 * @since 0.2.0
 */
export interface Dogpile<A> {
  readonly lock: Lock["Service"]
  /** Reads keys again after a lock was taken or released (decode failures are not counted twice). */
  readonly reread: (targets: ReadonlyArray<Target>, call: CallSettings<A>) => Effect.Effect<ReadonlyArray<Found<A>>, CacheError>
  /** Stores created values with their metadata, created at `now` (epoch ms, the region's clock). */
  readonly store: (
    entries: ReadonlyArray<readonly [Target, A, EntryMeta.EntryMeta]>,
    call: CallSettings<A>,
    now: number
  ) => Effect.Effect<void, CacheError>
  readonly background: FiberSet.FiberSet<unknown, unknown>
  readonly metrics: RegionMetrics
  readonly lockTimeoutMs: number
  /** In-process creations of missing keys, by key id: later callers wait for them. */
  readonly inflight: Map<string, Deferred.Deferred<A, unknown>>
  /** Whether created entries keep their creator's duration (for early refresh); off, they carry no metadata by default. */
  readonly recordComputeTime: boolean
  /** The lock fused with the backend for a single key's miss (`Lock.lockedMiss`), when they share a store. */
  readonly locked?: LockedMiss | undefined
  /** Publishes a region event (the region fills in its name) if anyone listens. */
  readonly emit: (make: () => RegionEvent.RegionEventInput) => Effect.Effect<void>
}

/**
 * A creator of many values: given the keys (in the caller's order, each once),
 * it returns one value per key, in the same order.
 *
 * @category models
 * @since 0.2.0
 */
export type BatchCreator<A, E, R> = (
  targets: ReadonlyArray<Target>
) => Effect.Effect<ReadonlyArray<A | EntryMeta.Expiring<A>>, E, R>

/** `effect`, its wait counted in `lockWaitMillis`. */
const timed = <A, X, E, R>(d: Dogpile<A>, effect: Effect.Effect<X, E, R>) =>
  Effect.clockWith((clock) => {
    const start = clock.currentTimeMillisUnsafe()
    return Effect.tap(effect, () => Metric.update(d.metrics.lockWaitMillis, clock.currentTimeMillisUnsafe() - start))
  })

// ---- missing values --------------------------------------------------------

/** One caller's creation of missing keys: its region, creator and settings, its deadline, and where values go. */
interface Missing<A, E, R> {
  readonly d: Dogpile<A>
  readonly creator: BatchCreator<A, E, R>
  readonly call: CallSettings<A>
  readonly deadline: number
  readonly out: Map<string, A>
}

/**
 * One round for missing keys: take the free locks, read those keys again, and
 * create what is still missing with one creator call. Returns the keys whose
 * locks were held by others.
 */
const lockAndCreate = <A, E, R>(
  m: Missing<A, E, R>,
  targets: ReadonlyArray<Target>
): Effect.Effect<ReadonlyArray<Target>, E | CacheError, R> =>
  targets.length === 1 && m.d.locked !== undefined
    ? lockAndCreateFused(m, targets[0]!, m.d.locked)
    : lockAndCreateUsual(m, targets)

/**
 * One key through the lock fused with the backend: the attempt checks the value is still absent (no read
 * again) and the store releases the lock; a value that appeared meanwhile goes the usual way.
 */
const lockAndCreateFused = <A, E, R>(
  m: Missing<A, E, R>,
  target: Target,
  locked: LockedMiss
): Effect.Effect<ReadonlyArray<Target>, E | CacheError, R> =>
  Effect.flatMap(
    LockedMissPath.attempt(locked, target, (lease) =>
      Effect.map(Creator.create(m.d, [target], [lease], m.creator, m.call), (values) => void m.out.set(target.id, values[0] as A))),
    (outcome) => outcome === "created" ? Effect.succeed([]) : outcome === "busy" ? Effect.succeed([target]) : lockAndCreateUsual(m, [target])
  )

const lockAndCreateUsual = <A, E, R>(
  m: Missing<A, E, R>,
  targets: ReadonlyArray<Target>
): Effect.Effect<ReadonlyArray<Target>, E | CacheError, R> =>
  targets.length === 1 && m.d.lock.tryTake !== undefined
    ? lockAndCreateOne(m, targets)
    // A parallel scope: the locks of a batch are released together, not one round trip after another.
    : Effect.acquireUseRelease(
      Scope.make("parallel"),
      (scope) => Effect.flatMap(Creator.tryLocks(m.d, targets, scope), (leases) => createHeld(m, targets, leases)),
      (scope, exit) => Scope.close(scope, exit)
    )

/** {@link lockAndCreate} for one key under a lock taken without a scope (`Lock.tryTake`): released when done. */
const lockAndCreateOne = <A, E, R>(
  m: Missing<A, E, R>,
  targets: ReadonlyArray<Target>
): Effect.Effect<ReadonlyArray<Target>, E | CacheError, R> =>
  Effect.uninterruptibleMask((restore) =>
    Effect.flatMap(m.d.lock.tryTake!(targets[0]!.full), (taken) =>
      Option.isNone(taken)
        ? Effect.succeed(targets)
        : Effect.onExit(restore(createHeld(m, targets, [Option.some(taken.value.lease)])), () => taken.value.release))
  )

/**
 * The keys whose locks we took are read again (another process may have
 * created them before we got the locks) and what is still missing is created.
 * Returns the keys whose locks others hold.
 */
const createHeld = <A, E, R>(
  m: Missing<A, E, R>,
  targets: ReadonlyArray<Target>,
  leases: ReadonlyArray<Option.Option<LockLease>>
): Effect.Effect<ReadonlyArray<Target>, E | CacheError, R> => {
  const mine: Array<Target> = []
  const held: Array<LockLease> = []
  const busy: Array<Target> = []
  targets.forEach((target, i) => {
    const lease = leases[i] as Option.Option<LockLease>
    if (Option.isSome(lease)) {
      mine.push(target)
      held.push(lease.value)
    } else {
      busy.push(target)
    }
  })
  if (mine.length === 0) return Effect.succeed(busy)
  return Effect.flatMap(m.d.reread(mine, m.call), (again) => {
    const toCreate: Array<Target> = []
    const leasesToConfirm: Array<LockLease> = []
    mine.forEach((target, i) => {
      const found = again[i] as Found<A>
      if (found._tag === "Fresh") m.out.set(target.id, found.value)
      else {
        toCreate.push(target)
        leasesToConfirm.push(held[i] as LockLease)
      }
    })
    if (toCreate.length === 0) return Effect.succeed(busy)
    return Effect.map(Creator.create(m.d, toCreate, leasesToConfirm, m.creator, m.call), (values) => {
      toCreate.forEach((target, i) => m.out.set(target.id, values[i] as A))
      return busy
    })
  })
}

/** Waits, with no lock held, until the locks of `targets` are released or the deadline passes. */
const awaitOthers = <A, E, R>(m: Missing<A, E, R>, targets: ReadonlyArray<Target>) =>
  Effect.clockWith((clock) => {
    const remaining = m.deadline - clock.currentTimeMillisUnsafe()
    if (remaining <= 0) return Effect.fail(timeoutOf(m.d, targets[0] as Target))
    return timed(m.d, Creator.together(targets, (target) => m.d.lock.awaitRelease(target.full, remaining)))
  })

const timeoutOf = <A>(d: Dogpile<A>, target: Target) =>
  new LockTimeoutError({ key: typeof target.key === "string" ? target.key : `${target.key.hash}[${target.key.field}]`, timeoutMillis: d.lockTimeoutMs })

/**
 * Missing keys this caller leads: a round of lock-and-create, then wait for
 * the keys others hold and read them, until every key has a value or the
 * deadline passes.
 */
const fillMissing = <A, E, R>(m: Missing<A, E, R>, pending: ReadonlyArray<Target>): Effect.Effect<void, E | CacheError, R> =>
  Effect.flatMap(lockAndCreate(m, pending), (busy) =>
    busy.length === 0 ? Effect.void : Effect.flatMap(awaitOthers(m, busy), () => readReleased(m, busy)))

/** Reads the keys whose holders released them; those still missing go round again. */
const readReleased = <A, E, R>(m: Missing<A, E, R>, busy: ReadonlyArray<Target>): Effect.Effect<void, E | CacheError, R> =>
  Effect.flatMap(m.d.reread(busy, m.call), (again) => {
    const next: Array<Target> = []
    busy.forEach((target, i) => {
      const found = again[i] as Found<A>
      // A value that reads as stale right after its creator released it is still the newest there is.
      if (found._tag !== "Missing") m.out.set(target.id, found.value)
      else next.push(target)
    })
    return next.length === 0 ? Effect.void : fillMissing(m, next)
  })

// ---- in-process coalescing -------------------------------------------------

/**
 * Missing keys: join the in-process creations already running for some of
 * them, lead the others. A follower whose leader failed retries on its own
 * (it may become the creator), except after a lock timeout, which the leader's
 * followers share. Registers its creations when called: call it as the run
 * reaches it (inside a running effect), not ahead.
 */
const coalesce = <A, E, R>(m: Missing<A, E, R>, targets: ReadonlyArray<Target>): Effect.Effect<void, E | CacheError, R> => {
  const { d } = m
  const leading: Array<Target> = []
  const following: Array<[Target, Deferred.Deferred<A, unknown>]> = []
  const mine = new Map<string, Deferred.Deferred<A, unknown>>()
  for (const target of targets) {
    const running = d.inflight.get(target.id)
    if (running !== undefined) following.push([target, running])
    else {
      const deferred = Deferred.makeUnsafe<A, unknown>()
      d.inflight.set(target.id, deferred)
      mine.set(target.id, deferred)
      leading.push(target)
    }
  }
  const lead = Effect.onExit(fillMissing(m, leading), (exit) => {
    settleFollowers(m, leading, mine, exit)
    return Effect.void
  })
  const follow = Effect.asVoid(Creator.together(following, ([target, deferred]) => followOne(m, target, deferred)))
  return leading.length === 0 ? follow : following.length === 0 ? lead : Effect.andThen(lead, follow)
}

/** Hands the leader's outcome to the callers waiting on its keys. */
const settleFollowers = <A, E, R, E2>(
  m: Missing<A, E, R>,
  leading: ReadonlyArray<Target>,
  mine: ReadonlyMap<string, Deferred.Deferred<A, unknown>>,
  exit: Exit.Exit<void, E2>
): void => {
  for (const target of leading) {
    const deferred = mine.get(target.id) as Deferred.Deferred<A, unknown>
    if (m.d.inflight.get(target.id) === deferred) m.d.inflight.delete(target.id)
    const result: Exit.Exit<A, unknown> = Exit.isSuccess(exit) && m.out.has(target.id)
      ? Exit.succeed(m.out.get(target.id) as A)
      : Exit.isFailure(exit)
      ? Exit.failCause(exit.cause)
      : Exit.fail("no value")
    Deferred.doneUnsafe(deferred, result)
  }
}

const followOne = <A, E, R>(
  m: Missing<A, E, R>,
  target: Target,
  deferred: Deferred.Deferred<A, unknown>
): Effect.Effect<void, E | CacheError, R> =>
  Effect.flatMap(timed(m.d, Effect.exit(Deferred.await(deferred))), (exit): Effect.Effect<void, E | CacheError, R> => {
    if (Exit.isSuccess(exit)) return Effect.sync(() => void m.out.set(target.id, exit.value))
    const timedOut = Cause.findErrorOption(exit.cause).pipe(Option.filter((e) => e instanceof LockTimeoutError))
    if (Option.isSome(timedOut)) return Effect.fail(timedOut.value as LockTimeoutError)
    // The leader's creator failed or was interrupted: read again, and create if we must.
    return Effect.flatMap(m.d.reread([target], m.call), ([found]) =>
      found === undefined || found._tag === "Missing"
        ? coalesce(m, [target])
        : Effect.sync(() => void m.out.set(target.id, found.value)))
  })

// ---- the entry point -------------------------------------------------------

/**
 * Fails with `ReentrantCreateError` when the current fiber is creating one of
 * `targets` (a creator asking for its own key would wait for itself forever).
 *
 * @example
 * ```ts
 * // Region.getOrCreate checks it before reading.
 * ```
 *
 * @category guards
 * @since 0.2.0
 */
export const checkReentry = Creator.checkReentry

/**
 * {@link checkReentry} without an effect: the error for the fiber whose
 * context is `context`, or `undefined`.
 *
 * @example
 * ```ts
 * // Region.getOrCreate checks it in the same step as its in-process hit.
 * ```
 *
 * @category guards
 * @since 0.3.0
 */
export const reentered = Creator.reentered

/**
 * The values of `found` when every read found a fresh value not chosen for an
 * early refresh (nothing to create, no lock to take), else `undefined`.
 *
 * @example
 * ```ts
 * import { Dogpile } from "@dogpile-effect/core"
 * Dogpile.freshValues([{ _tag: "Fresh", value: 1 }]) // [1]
 * Dogpile.freshValues([{ _tag: "Stale", value: 1 }]) // undefined
 * ```
 *
 * @category algorithm
 * @since 0.3.0
 */
export const freshValues = <A>(found: ReadonlyArray<Found<A>>): ReadonlyArray<A> | undefined => {
  const values: Array<A> = []
  for (const f of found) {
    if (f._tag !== "Fresh" || f.early === true) return undefined
    values.push(f.value)
  }
  return values
}

/**
 * Gives every target a value: `found[i]` is what the caller's read found for
 * `targets[i]` (distinct keys). Fresh values are kept; stale ones are
 * regenerated by whoever gets their lock; missing ones are created once. The
 * result maps each key id to its value.
 *
 * @example
 * ```ts
 * // Region.getOrCreate and Region.getOrCreateMany call it after their read.
 * ```
 *
 * @category algorithm
 * @since 0.2.0
 */
export const run = <A, E, R>(
  d: Dogpile<A>,
  targets: ReadonlyArray<Target>,
  found: ReadonlyArray<Found<A>>,
  creator: BatchCreator<A, E, R>,
  call: CallSettings<A>
): Effect.Effect<ReadonlyMap<string, A>, E | CacheError, R> =>
  Effect.suspend(() => {
    const out = new Map<string, A>()
    const known = new Map<string, A>()
    const staleTargets: Array<Target> = []
    const earlyTargets: Array<Target> = []
    const missingTargets: Array<Target> = []
    targets.forEach((target, i) => {
      const f = found[i] as Found<A>
      if (f._tag === "Missing") return void missingTargets.push(target)
      known.set(target.id, f.value)
      if (f._tag === "Stale") staleTargets.push(target)
      else if (f.early === true) earlyTargets.push(target)
      else out.set(target.id, f.value)
    })
    if (staleTargets.length === 0 && missingTargets.length === 0 && earlyTargets.length === 0) return Effect.succeed(out)
    return Effect.clockWith((clock) => {
      const m: Missing<A, E, R> = { d, creator, call, deadline: clock.currentTimeMillisUnsafe() + d.lockTimeoutMs, out }
      let steps: Effect.Effect<void, E | CacheError, R> | undefined
      const then = (step: Effect.Effect<void, E | CacheError, R>) => (steps = steps === undefined ? step : Effect.andThen(steps, step))
      if (earlyTargets.length > 0) then(Stale.refresh(d, earlyTargets, known, creator, call, out, true))
      if (staleTargets.length > 0) then(Stale.refresh(d, staleTargets, known, creator, call, out))
      // Coalescing registers its creations when called: after the refreshes, once they have run.
      if (missingTargets.length > 0) then(steps === undefined ? coalesce(m, missingTargets) : Effect.suspend(() => coalesce(m, missingTargets)))
      return Effect.as(steps as Effect.Effect<void, E | CacheError, R>, out)
    })
  })

/**
 * {@link run} for a batch that may repeat keys: `targets` as the caller gave
 * them, `distinct` without repeats (what was read, `found[i]` for
 * `distinct[i]`); the values in the caller's order. A batch read all fresh,
 * without repeats, is answered at once.
 *
 * @example
 * ```ts
 * // Region.getOrCreateMany calls it after its read.
 * ```
 *
 * @category algorithm
 * @since 0.3.0
 */
export const valuesFor = <A, E, R>(
  d: Dogpile<A>,
  targets: ReadonlyArray<Target>,
  distinct: ReadonlyArray<Target>,
  found: ReadonlyArray<Found<A>>,
  creator: BatchCreator<A, E, R>,
  call: CallSettings<A>
): Effect.Effect<ReadonlyArray<A>, E | CacheError, R> => {
  const fresh = distinct.length === targets.length ? freshValues(found) : undefined
  return fresh !== undefined
    ? Exit.succeed(fresh)
    : Effect.map(run(d, distinct, found, creator, call), (values) => targets.map((t) => values.get(t.id) as A))
}
