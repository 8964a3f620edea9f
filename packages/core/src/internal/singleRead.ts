/**
 * The start of every single-key read (`get`, `getOrCreate`): the caller's
 * clock, the key, the read's one early-refresh draw, then the synchronous hit
 * when the backend answers in process. Whatever the fast path cannot answer
 * goes on with the same clock reading and the same draw.
 *
 * @internal
 */
import { type Context, Effect, type Exit, type Fiber } from "effect"
import type * as CacheKey from "../CacheKey.ts"
import { InvalidKeyError } from "../CacheError.ts"
import * as FastPath from "./fastPath.ts"
import type * as Keys from "./keys.ts"
import { countFastHit } from "./readCounts.ts"
import * as Reads from "./reads.ts"
import { clockIn, type RegionRuntime } from "./regionRuntime.ts"
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
 * A single-key read: the synchronous hit (only for calls without options of their own) answered with
 * `answer(entry)`; anything else goes to `otherwise`, with the call's options and `extra` (the
 * operation's own argument, the creator, passed through so no closure is built per call).
 */
export const readOne = <A, X, Extra, C, E, R>(
  rt: RegionRuntime<A>,
  fiber: Fiber.Fiber<unknown, unknown>,
  key: CacheKey.CacheKey,
  call: C | undefined,
  extra: Extra,
  answer: (entry: Stored.Stored<A>) => Exit.Exit<X>,
  otherwise: Otherwise<A, X, Extra, C, E, R>
): Effect.Effect<X, E | InvalidKeyError, R> => {
  const context = fiber.context
  const now = clockIn(rt.clockMemo, context).currentTimeMillisUnsafe()
  const target = rt.resolveKey(key)
  if (target instanceof InvalidKeyError) return Effect.fail(target)
  const draw = Reads.drawFor(rt.settings.earlyRefresh, context)
  if (call === undefined && rt.fastHit !== undefined) {
    const hit = rt.fastHit(target, rt.settings.defaults.expirationMs, now, draw)
    if (hit !== FastPath.noHit) return countFastHit(rt, target, answer(hit), context)
  }
  return otherwise(rt, target, now, draw, context, call, extra)
}
