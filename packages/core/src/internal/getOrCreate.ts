/**
 * `getOrCreate` and `getOrCreateMany`: the read (the synchronous hit first,
 * for one key), the hits and misses counted, then the dogpile for whatever
 * the read did not serve: or, when the backend fails and the region says
 * so, the creator alone (the bypass).
 *
 * The hit path is a plain flatMap chain: a generator costs more than the rest
 * of a hit.
 *
 * @internal
 */
import { Clock, Context, Effect, Exit, type Fiber, Option } from "effect"
import type * as CacheKey from "../CacheKey.ts"
import { type CacheError, InvalidKeyError } from "../CacheError.ts"
import * as Conditional from "../Conditional.ts"
import * as EntryMeta from "../EntryMeta.ts"
import type { GetOrCreateOptions } from "../Region.ts"
import * as ConditionalCreator from "./conditional.ts"
import * as Creator from "./creator.ts"
import * as Dogpile from "./dogpile.ts"
import type { BatchCreator } from "./dogpileContext.ts"
import * as Gate from "./gate.ts"
import * as Keys from "./keys.ts"
import { countOne, countReads } from "./readCounts.ts"
import type { RegionRuntime } from "./regionRuntime.ts"
import * as Settings from "./settings.ts"
import type { ReadOne } from "./singleRead.ts"
import * as Stored from "./stored.ts"
import * as Trace from "./trace.ts"

/** A single key's creator: an effect, or a conditional creator (`Conditional.make`). */
type Single<A, E, R> = Effect.Effect<A | EntryMeta.Expiring<A>, E, R> | Conditional.Conditional<A, E, R>

/** A batch's creator: a function of the keys, or a conditional creator (`Conditional.makeMany`). */
type Many<A, E, R> =
  | ((keys: ReadonlyArray<CacheKey.CacheKey>) => Effect.Effect<ReadonlyArray<A | EntryMeta.Expiring<A>>, E, R>)
  | Conditional.ConditionalMany<A, E, R>

const isConditional = <A, E, R>(creator: Single<A, E, R>): creator is Conditional.Conditional<A, E, R> =>
  Conditional.isConditional(creator)

const isConditionalMany = <A, E, R>(creator: Many<A, E, R>): creator is Conditional.ConditionalMany<A, E, R> =>
  Conditional.isConditionalMany(creator)

/** A creator's value without the expiration it may carry (for the bypass path, which stores nothing). */
const unwrap = <A>(value: A | EntryMeta.Expiring<A>): A => (EntryMeta.isExpiring(value) ? value.value as A : value as A)

/** A single key's creator run without the cache (the bypass): a conditional one sees no previous entry. */
const bypassed = <A, E, R>(creator: Single<A, E, R>, target: Keys.Target): Effect.Effect<A, E | CacheError, R> =>
  isConditional(creator)
    ? Effect.flatMap(creator.create(Option.none()), (answer) => ConditionalCreator.valueOf<A>(answer, target, Keys.display))
    : Effect.map(creator, unwrap)

/**
 * `Region.getOrCreate` of the region `rt`, reading one key through `readOne`. Quiet calls (an open
 * region, no span exported) run as is; the others go through the gate.
 */
export const makeGetOrCreate = <A>(rt: RegionRuntime<A>, readOne: ReadOne<A>) => {
  const gate = rt.gate
  const answer: (entry: Stored.Stored<A>) => Exit.Exit<A> = Stored.hitExit
  const getOrCreateIn = <E, R>(
    fiber: Fiber.Fiber<unknown, unknown>,
    key: CacheKey.CacheKey,
    creator: Single<A, E, R>,
    call: GetOrCreateOptions<A> | undefined
  ): Effect.Effect<A, E | CacheError, R> => readOne(fiber, key, call, creator, answer, missed)
  return <E, R>(key: CacheKey.CacheKey, creator: Single<A, E, R>, call?: GetOrCreateOptions<A>): Effect.Effect<A, E | CacheError, R> =>
    Effect.withFiber((fiber) =>
      !gate.closed && !Gate.exporting(fiber)
        ? getOrCreateIn(fiber, key, creator, call)
        : Gate.loud(gate, "Region.getOrCreate", (inner) => getOrCreateIn(inner, key, creator, call), key)
    )
}

/** Past the synchronous hit: the reentry check, then the read and the dogpile (or the bypass). */
const missed = <A, E, R>(
  rt: RegionRuntime<A>,
  target: Keys.Target,
  now: number,
  draw: number | undefined,
  context: Context.Context<never>,
  call: GetOrCreateOptions<A> | undefined,
  creator: Single<A, E, R>
): Effect.Effect<A, E | CacheError, R> => {
  const reentered = Creator.reentered(context, [target], Keys.display)
  if (reentered !== undefined) return Effect.fail(reentered)
  const refused = isConditional(creator) ? ConditionalCreator.refused(rt.settings as Settings.RegionSettings<unknown>) : undefined
  if (refused !== undefined) return Effect.fail(refused)
  const run = (settings: Settings.CallSettings<A>) =>
    rt.bypass(target.id, readThenCreate(rt, target, creator, settings, now, draw, context), bypassed(creator, target))
  return call === undefined ? run(rt.settings.defaults) : Effect.flatMap(Settings.forCall(rt.settings, call), run)
}

/** One key after the fast path: a read (a hit answers with no further fiber step), then the dogpile. */
const readThenCreate = <A, E, R>(
  rt: RegionRuntime<A>,
  target: Keys.Target,
  creator: Single<A, E, R>,
  call: Settings.CallSettings<A>,
  now: number,
  draw: number | undefined,
  context: Context.Context<never>
): Effect.Effect<A, E | CacheError, R> =>
  Effect.flatMap(rt.reads.one(target, call.expirationMs, now, true, draw), (found) => {
    const fresh = found._tag === "Fresh"
    const emitted = countOne(rt, target, fresh, context)
    if (fresh && found.early !== true) {
      Trace.mark(context, "hit")
      return emitted === undefined ? Exit.succeed(found.value) : Effect.as(emitted, found.value)
    }
    // Built as it runs: the dogpile registers this caller's creation when built (`coalesce.ts`).
    return emitted === undefined
      ? createOne(rt, target, found, creator, call, context)
      : Effect.andThen(emitted, Effect.suspend(() => createOne(rt, target, found, creator, call, context)))
  })

/** The dogpile for one key the read did not serve; its deadline counts from now (`context`'s clock). */
const createOne = <A, E, R>(
  rt: RegionRuntime<A>,
  target: Keys.Target,
  found: Stored.Found<A>,
  creator: Single<A, E, R>,
  call: Settings.CallSettings<A>,
  context: Context.Context<never>
): Effect.Effect<A, E | CacheError, R> =>
  Dogpile.runOne(
    rt.dogpile,
    target,
    found,
    isConditional(creator) ? ConditionalCreator.single(creator) : () => Effect.map(creator, (value) => [value]),
    call,
    Context.get(context, Clock.Clock).currentTimeMillisUnsafe()
  )

/** `Region.getOrCreateMany`. */
export const getOrCreateMany = <A, E, R>(
  rt: RegionRuntime<A>,
  keys: ReadonlyArray<CacheKey.CacheKey>,
  creator: Many<A, E, R>,
  call?: GetOrCreateOptions<A>
): Effect.Effect<ReadonlyArray<A>, E | CacheError, R> =>
  Gate.open(rt.gate, "Region.getOrCreateMany", () => {
    const targets = Keys.resolveAllWith(rt.resolveKey, keys)
    if (targets instanceof InvalidKeyError) return Effect.fail(targets)
    const refused = isConditionalMany(creator) ? ConditionalCreator.refused(rt.settings as Settings.RegionSettings<unknown>) : undefined
    if (refused !== undefined) return Effect.fail(refused)
    if (targets.length === 0) return Effect.succeed([])
    const distinct = Keys.distinct(targets)
    const batch: BatchCreator<A, E, R> = isConditionalMany(creator)
      ? ConditionalCreator.many(creator)
      : (chosen) => creator(chosen.map((t) => t.key))
    return Effect.flatMap(Settings.forCall(rt.settings, call), (settings) =>
      Effect.andThen(
        Creator.checkReentry(distinct, Keys.display),
        rt.bypass(
          () => distinct.map((t) => t.id).join("\u0001"),
          readManyThenCreate(rt, targets, distinct, batch, settings),
          bypassMany(targets, distinct, batch),
          distinct.length
        )
      ))
  }, keys)

/** A batch: one read of its distinct keys, counted, then the dogpile for those it did not serve. */
const readManyThenCreate = <A, E, R>(
  rt: RegionRuntime<A>,
  targets: ReadonlyArray<Keys.Target>,
  distinct: ReadonlyArray<Keys.Target>,
  batch: BatchCreator<A, E, R>,
  settings: Settings.CallSettings<A>
): Effect.Effect<ReadonlyArray<A>, E | CacheError, R> =>
  Effect.flatMap(rt.reads.many(distinct, settings.expirationMs, true), (found) =>
    Effect.andThen(
      Effect.andThen(
        Trace.marking("hit", found.filter((f) => f._tag === "Fresh" && f.early !== true).length),
        countReads(rt, found.map((f) => f._tag === "Fresh"), distinct)
      ),
      Dogpile.valuesFor(rt.dogpile, targets, distinct, found, batch, settings)
    ))

/** A batch while the backend is down: the creator alone, once per distinct key, in the caller's order. */
const bypassMany = <A, E, R>(
  targets: ReadonlyArray<Keys.Target>,
  distinct: ReadonlyArray<Keys.Target>,
  batch: BatchCreator<A, E, R>
): Effect.Effect<ReadonlyArray<A>, E | CacheError, R> =>
  Effect.flatMap(Effect.suspend(() => batch(distinct)), (answers) =>
    Effect.map(
      Effect.forEach(distinct, (target, i) => ConditionalCreator.valueOf<A>(answers[i] as Conditional.Answer<A>, target, Keys.display)),
      (values) => {
        const byId = new Map(distinct.map((t, i) => [t.id, values[i] as A]))
        return targets.map((t) => byId.get(t.id) as A)
      }
    ))
