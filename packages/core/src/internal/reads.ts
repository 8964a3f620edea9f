/**
 * Reading a region's keys: the stored bytes, the invalidation and tag marks,
 * decoded and decided (`ReadDecision.decide`) into what each key holds now
 * (`Found`). One key whose marks are at hand takes one fiber step for the
 * round trip and does the rest synchronously when the codec decodes eagerly
 * (the Redis hit path).
 *
 * Early refresh draws once per read from the fiber's `Random`: a one-key read
 * is handed the draw its caller made (`singleRead.ts`: the same one the fast
 * path used), a batch draws one per key here, and re-reads draw nothing.
 *
 * @internal
 */
import { Clock, Context, Effect, Exit, Option, Random } from "effect"
import type { Backend } from "../Backend.ts"
import type { CacheError } from "../CacheError.ts"
import type { InvalidationShape, InvalidationState } from "../Invalidation.ts"
import type * as Keys from "./keys.ts"
import * as ReadDecision from "./readDecision.ts"
import type { EarlyRefresh } from "./settings.ts"
import * as Stored from "./stored.ts"
import type { TagMarks } from "./tagMarks.ts"

/** What a region reads through. */
export interface Reader<A> {
  readonly backend: Backend["Service"]
  readonly storage: Stored.Storage<A>
  readonly invalidation: InvalidationShape
  readonly tagMarks: TagMarks
  readonly early: EarlyRefresh | undefined
}

/** A region's reads. `count`: whether decode failures count and early refreshes may be chosen (not for re-reads). */
export interface Reads<A> {
  readonly many: (
    targets: ReadonlyArray<Keys.Target>,
    expirationMs: number,
    count: boolean
  ) => Effect.Effect<ReadonlyArray<Stored.Found<A>>, CacheError>
  /** The dogpile's re-read: like `many`, from the store itself (past an in-process tier), nothing counted. */
  readonly again: (targets: ReadonlyArray<Keys.Target>, expirationMs: number) => Effect.Effect<ReadonlyArray<Stored.Found<A>>, CacheError>
  /** One key at `now`, with the read's early-refresh draw (`undefined`: it may not refresh early). */
  readonly one: (
    target: Keys.Target,
    expirationMs: number,
    now: number,
    count: boolean,
    draw: number | undefined
  ) => Effect.Effect<Stored.Found<A>, CacheError>
}

/** What one read needs besides the entries: the clock, the expiration, the marks, and one draw per key (or none). */
interface Moment {
  readonly now: number
  readonly expirationMs: number
  readonly marks: InvalidationState
  readonly draws: ReadonlyArray<number | undefined> | undefined
}

/** Decides what each decoded entry holds, with the marks of its tags from `tagMark`. */
const decideAll = <A>(
  reader: Reader<A>,
  entries: ReadonlyArray<Option.Option<Stored.Stored<A>>>,
  moment: Moment,
  tagMark: Stored.TagMarkOf | undefined
): ReadonlyArray<Stored.Found<A>> =>
  entries.map((entry, i) => {
    if (Option.isNone(entry)) return Stored.missing
    const stored = entry.value
    const tagMarks = Stored.tagMarksOf(stored, tagMark)
    const decision = ReadDecision.decide(
      stored,
      moment.now,
      moment.expirationMs,
      moment.marks,
      tagMarks,
      reader.early?.beta,
      moment.draws?.[i]
    )
    return Stored.found(decision, stored, moment.marks, tagMarks)
  })

/** Decides decoded entries, reading their tags' marks first where any has tags. */
const decideEntries = <A>(
  reader: Reader<A>,
  entries: ReadonlyArray<Option.Option<Stored.Stored<A>>>,
  moment: Moment
): Effect.Effect<ReadonlyArray<Stored.Found<A>>, CacheError> => {
  const tags = tagsOf(entries)
  return tags === undefined
    ? Exit.succeed(decideAll(reader, entries, moment, undefined))
    : Effect.map(reader.tagMarks.current(tags), (tagMark) => decideAll(reader, entries, moment, tagMark))
}

/** The tags of `entries`, or `undefined` when none has any (the usual batch: nothing allocated per entry). */
const tagsOf = <A>(entries: ReadonlyArray<Option.Option<Stored.Stored<A>>>): ReadonlyArray<string> | undefined => {
  let tags: Array<string> | undefined
  for (const entry of entries) {
    const own = Option.isSome(entry) ? entry.value.meta.tags : undefined
    if (own !== undefined && own.length > 0) (tags ??= []).push(...own)
  }
  return tags
}

/**
 * Decodes what a read found: synchronously, in one pass, for every entry that opens at once (an eager
 * codec, or bytes decoded before); only the others become effects, run in order after it.
 */
const decodeAll = <A>(
  storage: Stored.Storage<A>,
  found: ReadonlyArray<Option.Option<Uint8Array>>,
  now: number,
  count: boolean
): Effect.Effect<ReadonlyArray<Option.Option<Stored.Stored<A>>>> => {
  const entries: Array<Option.Option<Stored.Stored<A>>> = []
  const later: Array<readonly [number, Effect.Effect<Option.Option<Stored.Stored<A>>>]> = []
  for (let i = 0; i < found.length; i++) {
    const bytes = found[i]!
    const opened = Option.isNone(bytes) ? undefined : storage.open(bytes.value, now, count)
    if (opened === undefined) entries.push(Option.none())
    else if (Effect.isEffect(opened)) {
      later.push([i, opened])
      entries.push(Option.none())
    } else entries.push(Option.some(opened))
  }
  if (later.length === 0) return Exit.succeed(entries)
  return Effect.map(Effect.forEach(later, ([, decoding]) => decoding), (decoded) => {
    decoded.forEach((entry, j) => (entries[later[j]![0]] = entry))
    return entries
  })
}

/** The bytes of `targets`: past an in-process tier when `past`; one key through `get`, so backends that coalesce gets can. */
const fetchBytes = (backend: Backend["Service"], targets: ReadonlyArray<Keys.Target>, past: boolean) => {
  if (past && backend.getManyFromStore !== undefined) return backend.getManyFromStore(targets.map((t) => t.full))
  return targets.length === 1
    ? Effect.map(backend.get(targets[0]!.full), (bytes) => [bytes])
    : backend.getMany(targets.map((t) => t.full))
}

/** The bytes of `targets` and the region's marks: read together when the marks are due for a reload (one round trip's wait). */
const fetchWithMarks = <A>(reader: Reader<A>, targets: ReadonlyArray<Keys.Target>, now: number, past: boolean) => {
  const bytes = fetchBytes(reader.backend, targets, past)
  const cachedMarks = reader.invalidation.cached?.(now)
  return cachedMarks === undefined
    ? Effect.zip(reader.invalidation.current, bytes, { concurrent: true })
    : Effect.map(bytes, (found) => [cachedMarks, found] as const)
}

/** Reads, decodes and decides `targets`; `draws` (one per key, or none) come from the caller. */
const read = <A>(
  reader: Reader<A>,
  targets: ReadonlyArray<Keys.Target>,
  expirationMs: number,
  count: boolean,
  past: boolean,
  draws: (context: Context.Context<never>) => ReadonlyArray<number | undefined> | undefined
): Effect.Effect<ReadonlyArray<Stored.Found<A>>, CacheError> =>
  Effect.withFiber((fiber) => {
    const context = fiber.context
    const now = Context.get(context, Clock.Clock).currentTimeMillisUnsafe()
    const keyDraws = draws(context)
    return Effect.flatMap(fetchWithMarks(reader, targets, now, past), ([marks, found]) =>
      Effect.flatMap(
        decodeAll(reader.storage, found, now, count),
        (entries) => decideEntries(reader, entries, { now, expirationMs, marks, draws: keyDraws })
      ))
  })

const noDraws = () => undefined

/** One draw per key when `count` and early refresh is on (a batch's reads each draw once). */
const drawsPerKey = (early: EarlyRefresh | undefined, count: boolean, size: number) =>
  early === undefined || !count ? noDraws : (context: Context.Context<never>) => {
    const random = Context.get(context, Random.Random)
    return Array.from({ length: size }, () => random.nextDoubleUnsafe())
  }

/** One key read at `now` with the region's marks at hand: after the round trip, synchronous when the bytes decode eagerly. */
const readOneWithMarks = <A>(
  reader: Reader<A>,
  target: Keys.Target,
  moment: Moment,
  count: boolean,
  fetched: Effect.Effect<Option.Option<Uint8Array>, CacheError> = reader.backend.get(target.full)
): Effect.Effect<Stored.Found<A>, CacheError> =>
  Effect.flatMap(fetched, (bytes): Effect.Effect<Stored.Found<A>, CacheError> => {
    if (Option.isNone(bytes)) return Exit.succeed(Stored.missing)
    const entry = reader.storage.open(bytes.value, moment.now, count)
    const decideSlowly = (opened: Option.Option<Stored.Stored<A>>) =>
      Effect.map(decideEntries(reader, [opened], moment), (found) => found[0]!)
    if (Effect.isEffect(entry)) return Effect.flatMap(entry, decideSlowly)
    const tags = entry.meta.tags
    const tagMark = tags === undefined ? undefined : reader.tagMarks.cached(tags, moment.now)
    if (tags !== undefined && tagMark === undefined) return decideSlowly(Option.some(entry))
    const tagMarks = Stored.tagMarksOf(entry, tagMark)
    const decision = ReadDecision.decide(
      entry,
      moment.now,
      moment.expirationMs,
      moment.marks,
      tagMarks,
      reader.early?.beta,
      moment.draws?.[0]
    )
    return Exit.succeed(Stored.found(decision, entry, moment.marks, tagMarks))
  })

/** The bytes of one key from the store itself (past an in-process tier). */
const fromStore = (backend: Backend["Service"], target: Keys.Target) =>
  backend.getManyFromStore === undefined
    ? backend.get(target.full)
    : Effect.map(backend.getManyFromStore([target.full]), (found) => found[0] ?? Option.none())

/** The dogpile's re-read of one key: the one-key read (no arrays, fewer steps) when the region's marks are at hand. */
const againOne = <A>(reader: Reader<A>, target: Keys.Target, expirationMs: number) =>
  Effect.withFiber((fiber): Effect.Effect<ReadonlyArray<Stored.Found<A>>, CacheError> => {
    const now = Context.get(fiber.context, Clock.Clock).currentTimeMillisUnsafe()
    const marks = reader.invalidation.cached?.(now)
    if (marks === undefined) return read(reader, [target], expirationMs, false, true, noDraws)
    const moment: Moment = { now, expirationMs, marks, draws: undefined }
    return Effect.map(readOneWithMarks(reader, target, moment, false, fromStore(reader.backend, target)), (found) => [found])
  })

/** Builds the reads of a region. */
export const make = <A>(reader: Reader<A>): Reads<A> => {
  const many: Reads<A>["many"] = (targets, expirationMs, count) =>
    read(reader, targets, expirationMs, count, false, drawsPerKey(reader.early, count, targets.length))

  const one: Reads<A>["one"] = (target, expirationMs, now, count, draw) => {
    const draws = count && draw !== undefined ? [draw] : undefined
    const marks = reader.invalidation.cached?.(now)
    if (marks === undefined) {
      return Effect.map(read(reader, [target], expirationMs, count, false, () => draws), (found) => found[0]!)
    }
    return readOneWithMarks(reader, target, { now, expirationMs, marks, draws }, count)
  }

  const again: Reads<A>["again"] = (targets, expirationMs) =>
    targets.length === 1 ? againOne(reader, targets[0]!, expirationMs) : read(reader, targets, expirationMs, false, true, noDraws)

  return { many, one, again }
}
