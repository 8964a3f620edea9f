/**
 * Expired values: whoever takes a key's lock without waiting regenerates it;
 * everyone else gets the stale value at once (dogpile's "value exists" branch).
 * Also the early refresh of fresh values chosen by XFetch.
 *
 * @internal
 */
import { Cause, Effect, Exit, Fiber, FiberSet, Metric, Option, Scope } from "effect"
import type { CacheError } from "../CacheError.ts"
import type { BatchCreator, DogpileContext } from "./dogpileContext.ts"
import type { LockLease } from "../Lock.ts"
import * as Creator from "./creator.ts"
import { display, type Target } from "./keys.ts"
import type { CallSettings } from "./settings.ts"
import type { Found, Stored } from "./stored.ts"
import * as Trace from "./trace.ts"

/**
 * Stale values: regenerate those whose lock is free now, serve the others
 * stale. Results go into `out`. `early`: the values are still fresh (an XFetch
 * early refresh): the regeneration always runs in the background, and serving
 * them is no stale serve. `previous`: the entries a conditional creator may renew, by key id.
 */
export const refresh = <A, E, R>(
  d: DogpileContext<A>,
  targets: ReadonlyArray<Target>,
  stale: ReadonlyMap<string, A>,
  creator: BatchCreator<A, E, R>,
  call: CallSettings<A>,
  out: Map<string, A>,
  early = false,
  previous?: ReadonlyMap<string, Stored<A>>
): Effect.Effect<void, E | CacheError, R> =>
  Effect.uninterruptibleMask((restore) =>
    Effect.gen(function*() {
      const scope = yield* Scope.make("parallel")
      const leases = yield* restore(Creator.tryLocks(d, targets, scope)).pipe(
        Effect.onError((cause) => Scope.close(scope, Exit.failCause(cause)))
      )
      const mine: Array<Target> = []
      const held: Array<LockLease> = []
      targets.forEach((target, i) => {
        const lease = leases[i] as Option.Option<LockLease>
        out.set(target.id, stale.get(target.id) as A)
        if (Option.isSome(lease)) {
          mine.push(target)
          held.push(lease.value)
        }
      })
      const served = (keys: ReadonlyArray<Target>) =>
        early || keys.length === 0 ? Effect.void : Effect.andThen(
          Effect.andThen(Metric.update(d.metrics.staleServed, keys.length), Trace.marking("stale_served", keys.length)),
          Effect.forEach(keys, (t) => d.emit(() => ({ _tag: "StaleServed", key: display(t) })), { discard: true })
        )
      yield* served(targets.filter((t) => !mine.includes(t)))
      // An early refresh serves fresh values: a hit for the keys another caller refreshes.
      if (early) yield* Effect.andThen(Trace.marking("hit", targets.length - mine.length), Trace.marking("early_refresh", mine.length))
      if (mine.length === 0) return yield* Scope.close(scope, Exit.void)
      const regenerate = (d.rereadStale === true
        ? unlessRegenerated(d, mine, held, creator, call, previous)
        : Creator.create(d, mine, held, creator, call, replacedOf(mine, previous))).pipe(
        Effect.onExit((exit) => Scope.close(scope, exit))
      )
      if (early || call.backgroundRefresh) {
        // Served first: the caller has its (stale) value before the regeneration can report anything.
        yield* served(mine)
        return yield* Effect.asVoid(FiberSet.run(d.background, Effect.interruptible(inBackground(regenerate))))
      }
      // With a soft timeout the regeneration runs in the region's scope, so it can outlive this caller.
      const outcome = call.softTimeoutMs === undefined
        ? Option.some(yield* restore(Effect.exit(regenerate)))
        : yield* Effect.flatMap(
          FiberSet.run(d.background, Effect.interruptible(Effect.exit(regenerate))),
          (fiber) => restore(Effect.timeoutOption(Fiber.join(fiber), call.softTimeoutMs!))
        )
      if (Option.isNone(outcome)) return yield* served(mine)
      const exit = outcome.value
      if (Exit.isSuccess(exit)) {
        yield* Trace.marking("created", mine.length)
        return mine.forEach((target, i) => out.set(target.id, exit.value[i] as A))
      }
      if (!call.staleIfError || Cause.hasInterruptsOnly(exit.cause)) return yield* Effect.failCause(exit.cause)
      yield* served(mine)
      yield* Effect.logWarning("dogpile: regeneration failed; serving the stale value", exit.cause)
    })
  )

/** The entries `targets` replace (for a conditional creator), or `undefined` when there are none. */
const replacedOf = <A>(targets: ReadonlyArray<Target>, previous: ReadonlyMap<string, Stored<A>> | undefined) =>
  previous === undefined || previous.size === 0 ? undefined : targets.map((t) => previous.get(t.id))

/**
 * Whether another caller regenerated a key between the caller's read (`seen`: the entry it decided on,
 * `undefined` when soft-invalidated) and its lock: the re-read finds a fresh entry newer than the one seen.
 */
const regeneratedMeanwhile = <A>(found: Found<A>, seen: Stored<A> | undefined): found is Found<A> & { _tag: "Fresh" } =>
  found._tag === "Fresh" && (seen === undefined || found.entry === undefined || found.entry.createdAt > seen.createdAt)

/**
 * Regenerates the keys whose locks were taken, unless another caller did meanwhile: they are read again
 * first, past the backend's in-process tier (the caller's read may have been served a near copy whose
 * invalidation is still on its way: it would regenerate them a second time). The values, in the order
 * of `mine`.
 */
const unlessRegenerated = <A, E, R>(
  d: DogpileContext<A>,
  mine: ReadonlyArray<Target>,
  held: ReadonlyArray<LockLease>,
  creator: BatchCreator<A, E, R>,
  call: CallSettings<A>,
  previous: ReadonlyMap<string, Stored<A>> | undefined
): Effect.Effect<ReadonlyArray<A>, E | CacheError, R> =>
  Effect.flatMap(d.reread(mine, call), (again) => {
    const values: Array<A> = []
    const toCreate: Array<Target> = []
    const leases: Array<LockLease> = []
    const at: Array<number> = []
    mine.forEach((target, i) => {
      const found = again[i] as Found<A>
      if (regeneratedMeanwhile(found, previous?.get(target.id))) values[i] = found.value
      else {
        toCreate.push(target)
        leases.push(held[i] as LockLease)
        at.push(i)
      }
    })
    if (toCreate.length === 0) return Effect.succeed(values)
    return Effect.map(Creator.create(d, toCreate, leases, creator, call, replacedOf(toCreate, previous)), (created) => {
      at.forEach((i, j) => (values[i] = created[j] as A))
      return values
    })
  })

/** A regeneration in the background, in a span of its own with its own outcome and creator time. */
const inBackground = <X, E, R>(regenerate: Effect.Effect<X, E, R>) =>
  Trace.inSpan("Region.backgroundRefresh", {}, (span) =>
    Trace.recorded(span, regenerate, undefined, "created").pipe(
      Effect.catchCause((cause) =>
        Cause.hasInterruptsOnly(cause) ? Effect.void : Effect.logWarning("dogpile: background regeneration failed", cause)
      )
    ))
