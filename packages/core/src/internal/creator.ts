/**
 * Running a creator under held locks: dogpile's `gen_value` step. The creator
 * runs with its keys marked as "being created by this fiber" (so asking for one
 * of them again fails instead of deadlocking), its value is stored when
 * `shouldCache` allows, and the leases are confirmed together.
 *
 * @internal
 */
import { Cause, Context, Effect, Metric } from "effect"
import { type CacheError, ReentrantCreateError } from "../CacheError.ts"
import type { BatchCreator, Dogpile } from "../Dogpile.ts"
import type { LockLease } from "../Lock.ts"
import type { Target } from "./keys.ts"
import type { CallSettings } from "./settings.ts"

/**
 * The keys whose creators the current fiber is running, to catch a creator
 * that asks for its own key (which would otherwise wait for itself forever).
 */
const CreatingKeys = Context.Reference<ReadonlySet<string>>("@dogpile-effect/core/Dogpile/CreatingKeys", {
  defaultValue: () => new Set()
})

/** Fails with `ReentrantCreateError` when the current fiber is creating one of `targets`. */
export const checkReentry = (targets: ReadonlyArray<Target>, show: (target: Target) => string) =>
  Effect.flatMap(CreatingKeys, (creating) => {
    if (creating.size === 0) return Effect.void
    const own = targets.find((target) => creating.has(target.id))
    return own === undefined ? Effect.void : Effect.fail(new ReentrantCreateError({ key: show(own) }))
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
    const values = yield* runCreator(d, targets, creator)
    const keep = call.shouldCache
    const entries = targets.flatMap((target, i) => {
      const value = values[i] as A
      return keep === undefined || keep(value) ? [[target, value] as const] : []
    })
    if (entries.length > 0) yield* d.store(entries, call)
    yield* Effect.forEach(leases, (lease) => lease.confirm, { concurrency: "unbounded", discard: true })
    return values
  })

const runCreator = <A, E, R>(d: Dogpile<A>, targets: ReadonlyArray<Target>, creator: BatchCreator<A, E, R>) =>
  CreatingKeys.use((creating) => {
    const next = new Set(creating)
    for (const target of targets) next.add(target.id)
    return Effect.suspend(() => creator(targets)).pipe(
      Effect.provideService(CreatingKeys, next),
      Effect.tapCause((cause) => Cause.hasInterruptsOnly(cause) ? Effect.void : Metric.update(d.metrics.creatorFailures, 1)),
      Effect.flatMap((values) =>
        Array.isArray(values) && values.length === targets.length
          ? Effect.as(Metric.update(d.metrics.creations, targets.length), values as ReadonlyArray<A>)
          : Effect.die(
            new RangeError(
              `the creator returned ${Array.isArray(values) ? values.length : typeof values} values for ${targets.length} keys`
            )
          )
      )
    )
  })

