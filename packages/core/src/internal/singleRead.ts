/**
 * The start of every single-key read (`get`, `getOrCreate`): the caller's
 * clock, the key, the read's one early-refresh draw, then the synchronous hit
 * when the backend answers in process. Whatever the fast path cannot answer
 * goes on with the same clock reading and the same draw.
 *
 * This is the hit path: one closure per region, built once, holding what it
 * reads on every call (no lookups through the region's runtime per hit).
 *
 * @internal
 */
import { Clock, Context, Effect, type Exit, type Fiber, Random } from "effect"
import type * as CacheKey from "../CacheKey.ts"
import { InvalidKeyError } from "../CacheError.ts"
import * as FastPath from "./fastPath.ts"
import type * as Keys from "./keys.ts"
import { emitReads } from "./readCounts.ts"
import type { RegionRuntime } from "./regionRuntime.ts"
import type * as Stored from "./stored.ts"

/**
 * What a single-key read does past the fast path: `now` is the clock reading and `draw` the
 * early-refresh draw the read already made (`undefined` when early refresh is off).
 */
export type Otherwise<A, X, Extra, C, E, R> = (
  rt: RegionRuntime<A>,
  target: Keys.Target,
  now: number,
  draw: number | undefined,
  context: Context.Context<never>,
  call: C | undefined,
  extra: Extra
) => Effect.Effect<X, E, R>

/**
 * A single-key read by the fiber `fiber`: the synchronous hit (only for calls without options of their
 * own) answered with `answer(entry)`; anything else goes to `otherwise`, with the call's options and
 * `extra` (the operation's own argument, the creator, passed through so no closure is built per call).
 */
export type ReadOne<A> = <X, Extra, C, E, R>(
  fiber: Fiber.Fiber<unknown, unknown>,
  key: CacheKey.CacheKey,
  call: C | undefined,
  extra: Extra,
  answer: (entry: Stored.Stored<A>) => Exit.Exit<X>,
  otherwise: Otherwise<A, X, Extra, C, E, R>
) => Effect.Effect<X, E | InvalidKeyError, R>

/** The single-key read of the region `rt`. */
export const make = <A>(rt: RegionRuntime<A>): ReadOne<A> => {
  const { fastHit, hits, hub, resolveKey } = rt
  const expirationMs = rt.settings.defaults.expirationMs
  const early = rt.settings.earlyRefresh !== undefined
  // The clock of the last context seen (contexts are immutable: the same one gives the same clock).
  let lastContext: Context.Context<never> | undefined
  let lastClock: Clock.Clock | undefined
  return (fiber, key, call, extra, answer, otherwise) => {
    const context = fiber.context
    if (context !== lastContext || lastClock === undefined) {
      lastClock = Context.get(context, Clock.Clock)
      lastContext = context
    }
    const now = lastClock.currentTimeMillisUnsafe()
    const target = resolveKey(key)
    if (target instanceof InvalidKeyError) return Effect.fail(target)
    // The read's one draw: the fast path and the full read it may fall back to decide with it.
    const draw = early ? Context.get(context, Random.Random).nextDoubleUnsafe() : undefined
    if (call === undefined && fastHit !== undefined) {
      const hit = fastHit(target, expirationMs, now, draw)
      if (hit !== FastPath.noHit) {
        // Counted where it happened (no effect of its own), answered with the entry's ready `Exit`.
        hits.add(1, context)
        const answered = answer(hit)
        return hub.listening() ? Effect.andThen(emitReads(rt, [target], [true]), answered) : answered
      }
    }
    return otherwise(rt, target, now, draw, context, call, extra)
  }
}
