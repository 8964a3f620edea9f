/**
 * Missing keys, for the caller that leads their creation in this process:
 * take the free locks, read those keys again (another process may have
 * created them meanwhile) and create what is still missing with one creator
 * call; wait, with no lock held, for the keys others hold, read them, and go
 * round again until every key has a value or the caller's deadline passes.
 * Dogpile's `Lock._enter_create` for many keys at once.
 *
 * @internal
 */
import { Effect, Metric, Option, Scope } from "effect"
import { type CacheError, LockTimeoutError } from "../CacheError.ts"
import type { LockedMiss, LockLease } from "../Lock.ts"
import * as Creator from "./creator.ts"
import type { BatchCreator, DogpileContext } from "./dogpileContext.ts"
import type { Target } from "./keys.ts"
import * as LockedMissPath from "./lockedMiss.ts"
import type { CallSettings } from "./settings.ts"
import type { Found, Stored } from "./stored.ts"
import * as Trace from "./trace.ts"

/** One caller's creation of missing keys: its region, creator and settings, its deadline, and where values go. */
export interface MissingContext<A, E, R> {
  readonly d: DogpileContext<A>
  readonly creator: BatchCreator<A, E, R>
  readonly call: CallSettings<A>
  /** When the caller stops waiting for others' locks (epoch ms, the region's clock). */
  readonly deadline: number
  /** The values found or created so far, by key id. */
  readonly out: Map<string, A>
}

/** `effect`, its wait counted in `lockWaitMillis` (and on the call's span). */
export const timed = <A, X, E, R>(d: DogpileContext<A>, effect: Effect.Effect<X, E, R>) =>
  Effect.clockWith((clock) => {
    const start = clock.currentTimeMillisUnsafe()
    return Effect.tap(effect, () => {
      const waited = clock.currentTimeMillisUnsafe() - start
      return Effect.andThen(Metric.update(d.metrics.lockWaitMillis, waited), Trace.lockWait(waited))
    })
  })

/**
 * One round for missing keys: take the free locks, read those keys again, and create what is still
 * missing with one creator call. Returns the keys whose locks were held by others.
 */
const lockAndCreate = <A, E, R>(
  m: MissingContext<A, E, R>,
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
  m: MissingContext<A, E, R>,
  target: Target,
  locked: LockedMiss
): Effect.Effect<ReadonlyArray<Target>, E | CacheError, R> =>
  Effect.flatMap(
    LockedMissPath.attempt(locked, target, (lease) =>
      Effect.map(Creator.create(m.d, [target], [lease], m.creator, m.call), (values) => void m.out.set(target.id, values[0] as A))),
    (outcome) => outcome === "created" ? noneBusy : outcome === "held" ? Effect.succeed([target]) : lockAndCreateUsual(m, [target])
  )

const noneBusy: Effect.Effect<ReadonlyArray<Target>> = Effect.succeed([])

/** {@link lockAndCreate} through the lock alone: `Lock.tryTake` for one key, else `tryAcquire` in a parallel scope. */
const lockAndCreateUsual = <A, E, R>(
  m: MissingContext<A, E, R>,
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
  m: MissingContext<A, E, R>,
  targets: ReadonlyArray<Target>
): Effect.Effect<ReadonlyArray<Target>, E | CacheError, R> =>
  Effect.uninterruptibleMask((restore) =>
    Effect.flatMap(m.d.lock.tryTake!(targets[0]!.full), (taken) =>
      Option.isNone(taken)
        ? Effect.succeed(targets)
        : Effect.onExit(restore(createHeld(m, targets, [Option.some(taken.value.lease)])), () => taken.value.release))
  )

/** The keys whose lease was taken (with their leases), and the keys others hold. */
const splitByLease = (targets: ReadonlyArray<Target>, leases: ReadonlyArray<Option.Option<LockLease>>) => {
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
  return { mine, held, busy }
}

/**
 * The keys whose locks we took are read again (another process may have created them before we got
 * the locks) and what is still missing is created. Returns the keys whose locks others hold.
 */
const createHeld = <A, E, R>(
  m: MissingContext<A, E, R>,
  targets: ReadonlyArray<Target>,
  leases: ReadonlyArray<Option.Option<LockLease>>
): Effect.Effect<ReadonlyArray<Target>, E | CacheError, R> => {
  const { busy, held, mine } = splitByLease(targets, leases)
  if (mine.length === 0) return Effect.succeed(busy)
  return Effect.flatMap(m.d.reread(mine, m.call), (again) => {
    const toCreate: Array<Target> = []
    const leasesToConfirm: Array<LockLease> = []
    const previous: Array<Stored<A> | undefined> = []
    mine.forEach((target, i) => {
      const found = again[i] as Found<A>
      if (found._tag === "Fresh") m.out.set(target.id, found.value)
      else {
        toCreate.push(target)
        leasesToConfirm.push(held[i] as LockLease)
        previous.push(found._tag === "Stale" ? found.entry : undefined)
      }
    })
    // Found after taking the lock: another process created them meanwhile.
    const others = mine.length - toCreate.length
    if (toCreate.length === 0) return Effect.as(Trace.marking("miss", others), busy)
    const created = Effect.map(Creator.create(m.d, toCreate, leasesToConfirm, m.creator, m.call, previous), (values) => {
      toCreate.forEach((target, i) => m.out.set(target.id, values[i] as A))
      return busy
    })
    const marked = Effect.tap(created, () => Trace.marking("created", toCreate.length))
    return others === 0 ? marked : Effect.andThen(Trace.marking("miss", others), marked)
  })
}

/** Waits, with no lock held, until the locks of `targets` are released or the deadline passes. */
const awaitOthers = <A, E, R>(m: MissingContext<A, E, R>, targets: ReadonlyArray<Target>) =>
  Effect.clockWith((clock) => {
    const remaining = m.deadline - clock.currentTimeMillisUnsafe()
    if (remaining <= 0) return Effect.fail(timeoutOf(m.d, targets[0] as Target))
    return timed(m.d, Creator.together(targets, (target) => m.d.lock.awaitRelease(target.full, remaining)))
  })

const timeoutOf = <A>(d: DogpileContext<A>, target: Target) =>
  new LockTimeoutError({ key: typeof target.key === "string" ? target.key : `${target.key.hash}[${target.key.field}]`, timeoutMillis: d.lockTimeoutMs })

/**
 * Missing keys this caller leads: a round of lock-and-create, then wait for the keys others hold and
 * read them, until every key has a value or the deadline passes.
 */
export const fillMissing = <A, E, R>(m: MissingContext<A, E, R>, pending: ReadonlyArray<Target>): Effect.Effect<void, E | CacheError, R> =>
  Effect.flatMap(lockAndCreate(m, pending), (busy) =>
    busy.length === 0 ? Effect.void : Effect.flatMap(awaitOthers(m, busy), () => readReleased(m, busy)))

/** Reads the keys whose holders released them; those still missing go round again. */
const readReleased = <A, E, R>(m: MissingContext<A, E, R>, busy: ReadonlyArray<Target>): Effect.Effect<void, E | CacheError, R> =>
  Effect.flatMap(m.d.reread(busy, m.call), (again) => {
    const next: Array<Target> = []
    busy.forEach((target, i) => {
      const found = again[i] as Found<A>
      // A value that reads as stale right after its creator released it is still the newest there is.
      if (found._tag !== "Missing") m.out.set(target.id, found.value)
      else next.push(target)
    })
    const others = Trace.marking("miss", busy.length - next.length)
    return next.length === 0 ? others : Effect.andThen(others, fillMissing(m, next))
  })
