/**
 * The dogpile algorithm, in one place, for one key and for many: who creates
 * a missing or expired value, who waits, who gets the stale value. It is
 * dogpile's `lock.py` over the `Lock` service, on what each key's read
 * decided (`ReadDecision`):
 *
 * - **Fresh**: served, nobody locks.
 * - **Fresh, refreshed early** (XFetch): served; whoever takes the lock
 *   without waiting regenerates it in the background (`stale.ts`).
 * - **Stale** (expired, or soft-invalidated): whoever takes the lock without
 *   waiting regenerates; everyone else gets the stale value at once. With
 *   `backgroundRefresh` the regenerating caller gets it too, and the creator
 *   runs in the region's scope; with `staleIfError` a failed regeneration
 *   serves the stale value (`stale.ts`).
 * - **Missing or invalidated**: callers of one process queue behind one
 *   in-flight creation (`coalesce.ts`); its leader takes the lock, reads again
 *   (another process may have created the value meanwhile) and only then
 *   creates. A lock held elsewhere is waited for without being taken
 *   (`Lock.awaitRelease`), then the value is read; all waiters share the
 *   caller's deadline (`lockTimeout`) (`missing.ts`).
 *
 * Many keys go through the same steps at once: the locks of all keys are
 * tried together (one round trip), the keys this caller holds are created by
 * one creator call, and keys held by others are waited for with no lock held,
 * so two overlapping batches never wait on each other.
 *
 * @internal
 */
import { Effect, Exit } from "effect"
import type { CacheError } from "../CacheError.ts"
import { coalesce } from "./coalesce.ts"
import type { BatchCreator, DogpileContext } from "./dogpileContext.ts"
import type { Target } from "./keys.ts"
import type { MissingContext } from "./missing.ts"
import type { CallSettings } from "./settings.ts"
import * as Stale from "./stale.ts"
import type { Found, Stored } from "./stored.ts"

/**
 * The values of `found` when every read found a fresh value not chosen for an early refresh (nothing
 * to create, no lock to take), else `undefined`.
 *
 * @example
 * ```ts
 * freshValues([{ _tag: "Fresh", value: 1 }]) // [1]
 * freshValues([{ _tag: "Fresh", value: 1, early: true }]) // undefined
 * freshValues([{ _tag: "Stale", value: 1 }]) // undefined
 * ```
 */
export const freshValues = <A>(found: ReadonlyArray<Found<A>>): ReadonlyArray<A> | undefined => {
  const values: Array<A> = []
  for (const f of found) {
    if (f._tag !== "Fresh" || f.early === true) return undefined
    values.push(f.value)
  }
  return values
}

/** What a batch's reads found, by what each key needs. */
interface Sorted<A> {
  /** Values to serve now (fresh), by key id. */
  readonly out: Map<string, A>
  /** Every value found (fresh or stale), by key id: what a refresh serves. */
  readonly known: Map<string, A>
  /** The entries a conditional creator may renew (stale by time, or refreshed early), by key id. */
  readonly previous: Map<string, Stored<A>>
  readonly stale: Array<Target>
  readonly early: Array<Target>
  readonly missing: Array<Target>
}

/** Sorts `targets` by what their reads found. */
const sort = <A>(targets: ReadonlyArray<Target>, found: ReadonlyArray<Found<A>>): Sorted<A> => {
  const sorted: Sorted<A> = { out: new Map(), known: new Map(), previous: new Map(), stale: [], early: [], missing: [] }
  targets.forEach((target, i) => {
    const f = found[i] as Found<A>
    if (f._tag === "Missing") return void sorted.missing.push(target)
    sorted.known.set(target.id, f.value)
    if (f.entry !== undefined && (f._tag === "Stale" || f.early === true)) sorted.previous.set(target.id, f.entry)
    if (f._tag === "Stale") sorted.stale.push(target)
    else if (f.early === true) sorted.early.push(target)
    else sorted.out.set(target.id, f.value)
  })
  return sorted
}

/** The steps for what a batch found: early refreshes, then stale refreshes, then missing keys, in that order. */
const steps = <A, E, R>(
  d: DogpileContext<A>,
  sorted: Sorted<A>,
  creator: BatchCreator<A, E, R>,
  call: CallSettings<A>,
  deadline: number
): Effect.Effect<void, E | CacheError, R> => {
  const { early, known, missing, out, previous, stale } = sorted
  const all: Array<Effect.Effect<void, E | CacheError, R>> = []
  if (early.length > 0) all.push(Stale.refresh(d, early, known, creator, call, out, true, previous))
  if (stale.length > 0) all.push(Stale.refresh(d, stale, known, creator, call, out, false, previous))
  if (missing.length > 0) {
    const m: MissingContext<A, E, R> = { d, creator, call, deadline, out }
    // Coalescing registers its creations when called: after the refreshes, once they have run.
    all.push(all.length === 0 ? coalesce(m, missing) : Effect.suspend(() => coalesce(m, missing)))
  }
  return all.length === 1 ? all[0]! : Effect.forEach(all, (step) => step, { discard: true })
}

/**
 * Gives every target a value: `found[i]` is what the caller's read found for `targets[i]` (distinct
 * keys). Fresh values are kept; stale ones (and fresh ones chosen for an early refresh) are
 * regenerated by whoever gets their lock; missing ones are created once. The result maps each key id
 * to its value.
 *
 * @example
 * ```ts
 * // A batch of distinct keys, after their read (valuesFor, below):
 * Effect.map(run(context, distinct, found, creator, call), (values) => targets.map((t) => values.get(t.id) as A))
 * ```
 */
export const run = <A, E, R>(
  d: DogpileContext<A>,
  targets: ReadonlyArray<Target>,
  found: ReadonlyArray<Found<A>>,
  creator: BatchCreator<A, E, R>,
  call: CallSettings<A>
): Effect.Effect<ReadonlyMap<string, A>, E | CacheError, R> =>
  Effect.suspend(() => {
    const sorted = sort(targets, found)
    if (sorted.stale.length === 0 && sorted.missing.length === 0 && sorted.early.length === 0) return Effect.succeed(sorted.out)
    return Effect.clockWith((clock) =>
      Effect.as(steps(d, sorted, creator, call, clock.currentTimeMillisUnsafe() + d.lockTimeoutMs), sorted.out)
    )
  })

/**
 * {@link run} for one key the read did not serve, its value alone, with the clock at hand (`now`: the
 * caller's deadline counts from it): no map of values and no step of its own to read the clock.
 *
 * @example
 * ```ts
 * // getOrCreate of one key, after its read (internal/getOrCreate.ts):
 * runOne(context, target, found, () => Effect.map(creator, (value) => [value]), call, clock.currentTimeMillisUnsafe())
 * ```
 */
export const runOne = <A, E, R>(
  d: DogpileContext<A>,
  target: Target,
  found: Found<A>,
  creator: BatchCreator<A, E, R>,
  call: CallSettings<A>,
  now: number
): Effect.Effect<A, E | CacheError, R> => {
  if (found._tag === "Missing") {
    // The common miss: straight to the in-process coalescing, with nothing to sort.
    const out = new Map<string, A>()
    const m: MissingContext<A, E, R> = { d, creator, call, deadline: now + d.lockTimeoutMs, out }
    return Effect.map(coalesce(m, [target]), () => out.get(target.id) as A)
  }
  const sorted = sort([target], [found])
  return Effect.map(steps(d, sorted, creator, call, now + d.lockTimeoutMs), () => sorted.out.get(target.id) as A)
}

/**
 * {@link run} for a batch that may repeat keys: `targets` as the caller gave them, `distinct` without
 * repeats (what was read, `found[i]` for `distinct[i]`); the values in the caller's order. A batch
 * read all fresh, without repeats, is answered at once.
 *
 * @example
 * ```ts
 * // getOrCreateMany, after reading its distinct keys (internal/getOrCreate.ts):
 * Effect.flatMap(reads.many(distinct, call.expirationMs, true), (found) =>
 *   valuesFor(context, targets, distinct, found, batch, call))
 * ```
 */
export const valuesFor = <A, E, R>(
  d: DogpileContext<A>,
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
