/**
 * Conditional refresh: a creator that receives the entry it is replacing (its
 * value, creation time and the validator it stored, e.g. an HTTP `ETag` or a
 * row version) and may answer "not modified". The region then renews the
 * entry's creation time without encoding the value again: the stored bytes are
 * copied with only their header rewritten (`Envelope.restamp`) and written
 * back, so the codec never runs and the source sends nothing but its `304`.
 * The key is read again just before: an entry changed or invalidated while
 * the source was asked is not renewed, and the caller gets what is stored.
 *
 * Only entries stale by time (expired, or chosen for an early refresh) are
 * handed to the creator. A soft-invalidated entry (by the region or one of its
 * tags) is handed as `None`: an invalidation says the value is wrong, and a
 * source answering "not modified" must not undo it. Hard-invalidated entries
 * read as missing.
 *
 * @since 0.1.0
 */
import type { Duration, Effect, Option } from "effect"
import type * as CacheKey from "./CacheKey.ts"
import type * as EntryMeta from "./EntryMeta.ts"

/**
 * The entry a conditional creator replaces.
 *
 * @example
 * ```ts
 * import type { Conditional } from "@dogpile-effect/core"
 * const previous: Conditional.Previous<string> = { value: "v", createdAt: 0, validator: "\"etag-1\"" }
 * ```
 *
 * @category models
 * @since 0.1.0
 */
export interface Previous<A> {
  readonly value: A
  /** When the entry was created or last renewed (epoch ms, from its envelope). */
  readonly createdAt: number
  /** What the creator stored with it ({@link fresh}), if anything. */
  readonly validator: string | undefined
}

/**
 * A new value with the validator to store beside it.
 *
 * @category models
 * @since 0.1.0
 */
export interface Fresh<A> {
  readonly _tag: "@dogpile-effect/core/Conditional/Fresh"
  readonly value: A
  readonly validator: string | undefined
  readonly expiration: Duration.Input | undefined
}

/**
 * "The previous value is still current": the region renews it.
 *
 * @category models
 * @since 0.1.0
 */
export interface NotModified {
  readonly _tag: "@dogpile-effect/core/Conditional/NotModified"
}

/**
 * What a conditional creator answers for one key: a plain value (or `EntryMeta.expiresIn`), a
 * {@link Fresh} value with a validator, or {@link notModified}.
 *
 * @category models
 * @since 0.1.0
 */
export type Answer<A> = A | EntryMeta.Expiring<A> | Fresh<A> | NotModified

/**
 * A conditional creator of one value, for `Region.getOrCreate` (build it with {@link make}).
 *
 * @category models
 * @since 0.1.0
 */
export interface Conditional<A, E, R> {
  readonly _tag: "@dogpile-effect/core/Conditional"
  readonly create: (previous: Option.Option<Previous<A>>) => Effect.Effect<Answer<A>, E, R>
}

/**
 * A conditional creator of many values, for `Region.getOrCreateMany` (build it with {@link makeMany}):
 * one answer per key, in the keys' order.
 *
 * @category models
 * @since 0.1.0
 */
export interface ConditionalMany<A, E, R> {
  readonly _tag: "@dogpile-effect/core/ConditionalMany"
  readonly create: (
    keys: ReadonlyArray<CacheKey.CacheKey>,
    previous: ReadonlyArray<Option.Option<Previous<A>>>
  ) => Effect.Effect<ReadonlyArray<Answer<A>>, E, R>
}

/**
 * A conditional creator for `Region.getOrCreate`.
 *
 * @example
 * ```ts
 * import { Conditional } from "@dogpile-effect/core"
 * import { Effect, Option } from "effect"
 * // A source with versions: unchanged since the stored version, "not modified".
 * const version = 7
 * const creator = Conditional.make((previous: Option.Option<Conditional.Previous<string>>) =>
 *   Effect.succeed(
 *     Option.isSome(previous) && previous.value.validator === String(version)
 *       ? Conditional.notModified
 *       : Conditional.fresh("the document", { validator: String(version) })
 *   ))
 * // region.getOrCreate("doc", creator)
 * ```
 *
 * @category constructors
 * @since 0.1.0
 */
export const make = <A, E, R>(
  create: (previous: Option.Option<Previous<A>>) => Effect.Effect<Answer<A>, E, R>
): Conditional<A, E, R> => ({ _tag: "@dogpile-effect/core/Conditional", create })

/**
 * A conditional creator for `Region.getOrCreateMany`.
 *
 * @example
 * ```ts
 * import { Conditional } from "@dogpile-effect/core"
 * import { Effect, Option } from "effect"
 * const creator = Conditional.makeMany((keys, previous: ReadonlyArray<Option.Option<Conditional.Previous<number>>>) =>
 *   Effect.succeed(previous.map((p, i) => (Option.isSome(p) ? Conditional.notModified : i))))
 * // region.getOrCreateMany(["a", "b"], creator)
 * ```
 *
 * @category constructors
 * @since 0.1.0
 */
export const makeMany = <A, E, R>(
  create: (
    keys: ReadonlyArray<CacheKey.CacheKey>,
    previous: ReadonlyArray<Option.Option<Previous<A>>>
  ) => Effect.Effect<ReadonlyArray<Answer<A>>, E, R>
): ConditionalMany<A, E, R> => ({ _tag: "@dogpile-effect/core/ConditionalMany", create })

/**
 * A new value, with the validator to hand back next time (at most `EntryMeta.MAX_VALIDATOR_BYTES`
 * UTF-8 bytes; a longer one fails the creation with `CreatorResultError`) and, optionally, its own
 * expiration.
 *
 * @example
 * ```ts
 * import { Conditional } from "@dogpile-effect/core"
 * const answer = Conditional.fresh({ id: 1 }, { validator: "W/\"abc\"", expiration: "5 minutes" })
 * ```
 *
 * @category constructors
 * @since 0.1.0
 */
export const fresh = <A>(
  value: A,
  options?: { readonly validator?: string | undefined; readonly expiration?: Duration.Input | undefined }
): Fresh<A> => ({
  _tag: "@dogpile-effect/core/Conditional/Fresh",
  value,
  validator: options?.validator,
  expiration: options?.expiration
})

/**
 * "Not modified": the previous entry is renewed (created now, same value, same validator, same
 * bytes behind the header). Answered without a previous entry, it fails the creation with
 * `CreatorResultError`.
 *
 * @example
 * ```ts
 * import { Conditional } from "@dogpile-effect/core"
 * const answer = Conditional.notModified
 * ```
 *
 * @category constructors
 * @since 0.1.0
 */
export const notModified: NotModified = { _tag: "@dogpile-effect/core/Conditional/NotModified" }

const tagOf = (u: unknown): unknown => {
  if (typeof u !== "object" || u === null) return undefined
  try {
    return (u as { _tag?: unknown })._tag
  } catch {
    return undefined
  }
}

/**
 * Whether `u` is a conditional creator for `getOrCreate`.
 *
 * @example
 * ```ts
 * import { Conditional } from "@dogpile-effect/core"
 * import { Effect } from "effect"
 * Conditional.isConditional(Conditional.make(() => Effect.succeed(1))) // true
 * ```
 *
 * @category predicates
 * @since 0.1.0
 */
export const isConditional: {
  <A, E, R>(creator: Effect.Effect<A | EntryMeta.Expiring<A>, E, R> | Conditional<A, E, R>): creator is Conditional<A, E, R>
  (u: unknown): u is Conditional<unknown, unknown, unknown>
} = (u: unknown): u is Conditional<unknown, unknown, unknown> => tagOf(u) === "@dogpile-effect/core/Conditional"

/**
 * Whether `u` is a conditional creator for `getOrCreateMany`.
 *
 * @example
 * ```ts
 * import { Conditional } from "@dogpile-effect/core"
 * import { Effect } from "effect"
 * Conditional.isConditionalMany(Conditional.makeMany((keys) => Effect.succeed(keys.map(() => 1)))) // true
 * ```
 *
 * @category predicates
 * @since 0.1.0
 */
export const isConditionalMany: {
  <A, E, R>(
    creator:
      | ((keys: ReadonlyArray<CacheKey.CacheKey>) => Effect.Effect<ReadonlyArray<A | EntryMeta.Expiring<A>>, E, R>)
      | ConditionalMany<A, E, R>
  ): creator is ConditionalMany<A, E, R>
  (u: unknown): u is ConditionalMany<unknown, unknown, unknown>
} = (u: unknown): u is ConditionalMany<unknown, unknown, unknown> => tagOf(u) === "@dogpile-effect/core/ConditionalMany"

/**
 * Whether a creator's answer is {@link fresh}. Never throws.
 *
 * @example
 * ```ts
 * import { Conditional } from "@dogpile-effect/core"
 * Conditional.isFresh(Conditional.fresh(1)) // true
 * ```
 *
 * @category predicates
 * @since 0.1.0
 */
export const isFresh = (u: unknown): u is Fresh<unknown> => tagOf(u) === "@dogpile-effect/core/Conditional/Fresh"

/**
 * Whether a creator's answer is {@link notModified}. Never throws.
 *
 * @example
 * ```ts
 * import { Conditional } from "@dogpile-effect/core"
 * Conditional.isNotModified(Conditional.notModified) // true
 * ```
 *
 * @category predicates
 * @since 0.1.0
 */
export const isNotModified = (u: unknown): u is NotModified => tagOf(u) === "@dogpile-effect/core/Conditional/NotModified"
