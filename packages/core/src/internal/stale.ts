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
import type { Stored } from "./stored.ts"
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
      const replaced = previous === undefined || previous.size === 0 ? undefined : mine.map((t) => previous.get(t.id))
      const regenerate = Creator.create(d, mine, held, creator, call, replaced).pipe(Effect.onExit((exit) => Scope.close(scope, exit)))
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

/** A regeneration in the background, in a span of its own with its own outcome and creator time. */
const inBackground = <X, E, R>(regenerate: Effect.Effect<X, E, R>) =>
  Trace.inSpan("Region.backgroundRefresh", {}, (span) =>
    Trace.recorded(span, regenerate, undefined, "created").pipe(
      Effect.catchCause((cause) =>
        Cause.hasInterruptsOnly(cause) ? Effect.void : Effect.logWarning("dogpile: background regeneration failed", cause)
      )
    ))
