/**
 * Reading a region's keys: the stored bytes, the invalidation and tag marks,
 * decoded and classified into what each key holds now (`Found`). One key whose
 * marks are at hand takes one fiber step for the round trip and does the rest
 * synchronously when the codec decodes eagerly (the Redis hit path).
 *
 * @internal
 */
import { Clock, Context, Effect, Exit, Option, Random } from "effect"
import type { Backend } from "../Backend.ts"
import type { CacheError } from "../CacheError.ts"
import type { InvalidationShape, InvalidationState } from "../Invalidation.ts"
import type * as Keys from "./keys.ts"
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
  /** One key at `now`, read by the fiber whose context is `context` (its `Random` draws early refreshes). */
  readonly one: (
    target: Keys.Target,
    expirationMs: number,
    now: number,
    count: boolean,
    context: Context.Context<never>
  ) => Effect.Effect<Stored.Found<A>, CacheError>
}

/** Builds the reads of a region. */
export const make = <A>(reader: Reader<A>): Reads<A> => {
  const { backend, early, invalidation, storage, tagMarks } = reader

  /** A fresh entry may be chosen for an early refresh (XFetch, drawing from the fiber's `Random`); only counted reads choose. */
  const withEarly = (
    found: Stored.Found<A>,
    entry: Stored.Stored<A>,
    now: number,
    expirationMs: number,
    count: boolean,
    context: Context.Context<never>
  ) =>
    early !== undefined && count && found._tag === "Fresh" &&
      Stored.refreshEarly(entry, now, expirationMs, early.beta, Context.get(context, Random.Random).nextDoubleUnsafe())
      ? { ...found, early: true }
      : found

  /** Classifies decoded entries, with the marks read with them (and their tags' marks). */
  const classifyEntries = (
    entries: ReadonlyArray<Option.Option<Stored.Stored<A>>>,
    marks: InvalidationState,
    now: number,
    expirationMs: number,
    count: boolean,
    context: Context.Context<never>
  ): Effect.Effect<ReadonlyArray<Stored.Found<A>>, CacheError> => {
    const tags = entries.flatMap((entry) => (Option.isSome(entry) ? entry.value.meta.tags ?? [] : []))
    const classifyAll = (tagMark?: Stored.TagMarkOf) =>
      entries.map((entry) => {
        const found = Stored.classify(entry, now, expirationMs, marks, tagMark)
        return Option.isSome(entry) ? withEarly(found, entry.value, now, expirationMs, count, context) : found
      })
    return tags.length === 0 ? Effect.succeed(classifyAll()) : Effect.map(tagMarks.current(tags), classifyAll)
  }

  /** Decodes and classifies what a read found, with the marks read with it. */
  const classifyFound = (
    found: ReadonlyArray<Option.Option<Uint8Array>>,
    marks: InvalidationState,
    now: number,
    expirationMs: number,
    count: boolean,
    context: Context.Context<never>
  ): Effect.Effect<ReadonlyArray<Stored.Found<A>>, CacheError> =>
    Effect.flatMap(decodeAll(found, now, count), (entries) => classifyEntries(entries, marks, now, expirationMs, count, context))

  /**
   * Decodes what a read found: synchronously, in one pass, for every entry that opens at once (an eager
   * codec, or bytes decoded before); only the others become effects, run in order after it.
   */
  const decodeAll = (
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

  const fromStore = backend.getManyFromStore
  const readMany = (targets: ReadonlyArray<Keys.Target>, past: boolean) => {
    if (past && fromStore !== undefined) return fromStore(targets.map((t) => t.full))
    // One key through `get`, so backends that coalesce concurrent gets can.
    return targets.length === 1
      ? Effect.map(backend.get(targets[0]!.full), (bytes) => [bytes])
      : backend.getMany(targets.map((t) => t.full))
  }

  const read = (targets: ReadonlyArray<Keys.Target>, expirationMs: number, count: boolean, past: boolean) =>
    Effect.withFiber((fiber) => {
      const context = fiber.context
      const now = Context.get(context, Clock.Clock).currentTimeMillisUnsafe()
      const read = readMany(targets, past)
      // Marks due for a reload are read together with the value: one round trip's wait, not two.
      const cachedMarks = invalidation.cached?.(now)
      const marksAndRead = cachedMarks === undefined
        ? Effect.zip(invalidation.current, read, { concurrent: true })
        : Effect.map(read, (found) => [cachedMarks, found] as const)
      return Effect.flatMap(marksAndRead, ([marks, found]) => classifyFound(found, marks, now, expirationMs, count, context))
    })

  const many: Reads<A>["many"] = (targets, expirationMs, count) => read(targets, expirationMs, count, false)

  /** One key read at `now`: after the round trip, synchronous when the bytes decode eagerly and every mark is at hand. */
  const one: Reads<A>["one"] = (target, expirationMs, now, count, context) => {
    const marks = invalidation.cached?.(now)
    if (marks === undefined) return Effect.map(many([target], expirationMs, count), (found) => found[0]!)
    const classifyOne = (entry: Option.Option<Stored.Stored<A>>) =>
      Effect.map(classifyEntries([entry], marks, now, expirationMs, count, context), (found) => found[0]!)
    return Effect.flatMap(backend.get(target.full), (bytes): Effect.Effect<Stored.Found<A>, CacheError> => {
      if (Option.isNone(bytes)) return Exit.succeed(Stored.missing)
      const entry = storage.open(bytes.value, now, count)
      if (Effect.isEffect(entry)) return Effect.flatMap(entry, classifyOne)
      const tags = entry.meta.tags
      const tagMark = tags === undefined ? undefined : tagMarks.cached(tags, now)
      if (tags !== undefined && tagMark === undefined) return classifyOne(Option.some(entry))
      const state = Stored.stateOf(entry, now, expirationMs, marks, tagMark)
      if (state === "Missing") return Exit.succeed(Stored.missing)
      return Exit.succeed(withEarly({ _tag: state, value: entry.value }, entry, now, expirationMs, count, context))
    })
  }

  return { many, one, again: (targets, expirationMs) => read(targets, expirationMs, false, true) }
}
