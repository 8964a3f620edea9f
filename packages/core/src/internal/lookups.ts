/**
 * Reads that create nothing: `get`, `getMany` and `has`. A fresh value is
 * read; a stale one only with `ignoreExpiration`; `has` counts nothing and
 * never refreshes early.
 *
 * @internal
 */
import { type Context, Effect, Exit, type Fiber, Option } from "effect"
import type * as CacheKey from "../CacheKey.ts"
import { type CacheError, InvalidKeyError } from "../CacheError.ts"
import type { GetOptions } from "../Region.ts"
import * as Gate from "./gate.ts"
import * as Keys from "./keys.ts"
import { countOne, countReads } from "./readCounts.ts"
import type { RegionRuntime } from "./regionRuntime.ts"
import * as Settings from "./settings.ts"
import type { ReadOne } from "./singleRead.ts"
import * as Stored from "./stored.ts"
import * as Trace from "./trace.ts"

/** The value a plain read returns for what it found: fresh ones, and stale ones with `ignoreExpiration`. */
export const readable = <A>(found: Stored.Found<A>, call?: GetOptions): Option.Option<A> => {
  if (found._tag === "Fresh") return Option.some(found.value)
  if (found._tag === "Stale" && call?.ignoreExpiration === true) return Option.some(found.value)
  return Option.none()
}

/** The expiration of a plain read: the region's, or the call's own (validated). */
const expirationOf = <A>(rt: RegionRuntime<A>, call: GetOptions | undefined) =>
  Settings.expirationFor(rt.settings as Settings.RegionSettings<unknown>, call)

/** `Region.get` of the region `rt`, reading one key through `readOne` (as `getOrCreate` does). */
export const makeGet = <A>(rt: RegionRuntime<A>, readOne: ReadOne<A>) => {
  const gate = rt.gate
  const answer: (entry: Stored.Stored<A>) => Exit.Exit<Option.Option<A>> = Stored.someHitExit
  const getIn = (
    fiber: Fiber.Fiber<unknown, unknown>,
    key: CacheKey.CacheKey,
    call: GetOptions | undefined
  ): Effect.Effect<Option.Option<A>, CacheError> => readOne(fiber, key, call, undefined, answer, getMissed)
  return (key: CacheKey.CacheKey, call?: GetOptions): Effect.Effect<Option.Option<A>, CacheError> =>
    Effect.withFiber((fiber) =>
      !gate.closed && !Gate.exporting(fiber) ? getIn(fiber, key, call) : Gate.loud(gate, "Region.get", (inner) => getIn(inner, key, call), key)
    )
}

/** `get` past the synchronous hit: one read, counted. */
const getMissed = <A>(
  rt: RegionRuntime<A>,
  target: Keys.Target,
  now: number,
  draw: number | undefined,
  context: Context.Context<never>,
  call: GetOptions | undefined
): Effect.Effect<Option.Option<A>, CacheError> => {
  const readAt = (expirationMs: number) =>
    Effect.flatMap(rt.reads.one(target, expirationMs, now, true, draw), (found) => {
      const value = readable(found, call)
      Trace.mark(context, Option.isSome(value) ? "hit" : "miss")
      const emitted = countOne(rt, target, Option.isSome(value), context)
      return emitted === undefined ? Exit.succeed(value) : Effect.as(emitted, value)
    })
  return call === undefined ? readAt(rt.settings.defaults.expirationMs) : Effect.flatMap(expirationOf(rt, call), readAt)
}

/** `Region.getMany`. */
export const getMany = <A>(
  rt: RegionRuntime<A>,
  keys: ReadonlyArray<CacheKey.CacheKey>,
  call?: GetOptions
): Effect.Effect<ReadonlyArray<Option.Option<A>>, CacheError> =>
  Gate.open(rt.gate, "Region.getMany", () => {
    const targets = Keys.resolveAllWith(rt.resolveKey, keys)
    if (targets instanceof InvalidKeyError) return Effect.fail(targets)
    if (targets.length === 0) return Effect.succeed([])
    return Effect.flatMap(expirationOf(rt, call), (expirationMs) =>
      Effect.flatMap(rt.reads.many(targets, expirationMs, true), (found) => {
        const values = found.map((f) => readable(f, call))
        const served = values.map(Option.isSome)
        return Effect.andThen(Trace.hitsAndMisses(served), Effect.as(countReads(rt, served, targets), values))
      }))
  }, keys)

/** `Region.has`: whether a plain read would return a value (nothing counted). */
export const has = <A>(rt: RegionRuntime<A>, target: Keys.Target, call?: GetOptions): Effect.Effect<boolean, CacheError> =>
  Effect.flatMap(expirationOf(rt, call), (expirationMs) =>
    Effect.flatMap(rt.reads.many([target], expirationMs, false), ([found]) => {
      const present = Option.isSome(readable(found!, call))
      return Effect.as(Trace.hitsAndMisses([present]), present)
    }))
