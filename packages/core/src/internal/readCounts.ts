/**
 * Counting a region's reads: every key read is a hit or a miss, counted in
 * the caller's context (`dogpile_hits_total`, `dogpile_misses_total`) and, if
 * anyone listens, published as a `Hit` or `Miss` event.
 *
 * @internal
 */
import { type Context, Effect } from "effect"
import * as Keys from "./keys.ts"
import type { RegionRuntime } from "./regionRuntime.ts"

/** Emits one event per key read: hits and misses (nothing when nobody listens). */
export const emitReads = <A>(
  rt: RegionRuntime<A>,
  targets: ReadonlyArray<Keys.Target>,
  hits: ReadonlyArray<boolean>
): Effect.Effect<void> =>
  rt.hub.listening()
    ? Effect.forEach(targets, (t, i) => rt.hub.emit(() => ({ _tag: hits[i] ? "Hit" : "Miss", region: rt.name, key: Keys.display(t) })), {
      discard: true
    })
    : Effect.void

/** Counts one key's read in `context`; the event to emit, or `undefined` when nobody listens. */
export const countOne = <A>(
  rt: RegionRuntime<A>,
  target: Keys.Target,
  hit: boolean,
  context: Context.Context<never>
): Effect.Effect<void> | undefined => {
  ;(hit ? rt.hits : rt.misses).add(1, context)
  return rt.hub.listening() ? emitReads(rt, [target], [hit]) : undefined
}

/** Counts the reads of a batch (hits and misses) in the caller's context, then emits their events. */
export const countReads = <A>(
  rt: RegionRuntime<A>,
  hits: ReadonlyArray<boolean>,
  targets: ReadonlyArray<Keys.Target>
): Effect.Effect<void> =>
  Effect.withFiber((fiber) => {
    let hitCount = 0
    for (const hit of hits) if (hit) hitCount++
    if (hitCount > 0) rt.hits.add(hitCount, fiber.context)
    if (hitCount < hits.length) rt.misses.add(hits.length - hitCount, fiber.context)
    return emitReads(rt, targets, hits)
  })
