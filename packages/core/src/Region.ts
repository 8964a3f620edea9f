/**
 * The dogpile region: read-through get-or-create of values of one Schema over
 * a `Backend` and a `Lock`, with expiry envelopes, invalidation, stale serving
 * and background regeneration. A region is a service: declare it once with
 * {@link Service} and provide its `layer`; {@link make} is the scoped
 * constructor underneath.
 *
 * @since 0.1.0
 */
import { type Config, Context, Effect, FiberSet, Layer, Option, type Schema, Scope, type Stream } from "effect"
import { Backend } from "./Backend.ts"
import type * as CacheKey from "./CacheKey.ts"
import { type CacheError, type InvalidOptionError } from "./CacheError.ts"
import { Codec } from "./Codec.ts"
import type * as Conditional from "./Conditional.ts"
import * as ConfigOptions from "./ConfigOptions.ts"
import type * as EntryMeta from "./EntryMeta.ts"
import { CurrentEnvelope } from "./Envelope.ts"
import { Lock, type LockStatus } from "./Lock.ts"
import * as Operations from "./internal/operations.ts"
import * as Settings from "./internal/settings.ts"
import type * as RegionConfig from "./RegionConfig.ts"
import type * as RegionEvent from "./RegionEvent.ts"
import type { GetOptions, GetOrCreateOptions, RegionOptions, SetOptions } from "./RegionOptions.ts"
import type * as RegionMetrics from "./RegionMetrics.ts"
import * as Storage from "./Storage.ts"
import * as StorageLayout from "./internal/storageLayout.ts"

/**
 * Region options with the region's storage (see `Storage`): where it keeps
 * its entries. Without `storage`, the region takes the `Backend` and `Lock`
 * in context.
 *
 * @example
 * ```ts
 * import { Region, Storage } from "@dogpile-effect/core"
 * const options: Region.StorageOptions<number, never, never> = { name: "answers", storage: Storage.memory() }
 * ```
 *
 * @category models
 * @since 0.1.0
 */
export type StorageOptions<A, E = never, R = Backend | Lock> = RegionOptions<A> & {
  /** Where the region keeps its entries, built once for this region over the context. */
  readonly storage?: Storage.Storage<E, R> | undefined
}

/**
 * The default maximum length of a key (before mangling), in UTF-16 code units.
 *
 * @example
 * ```ts
 * import { Region } from "@dogpile-effect/core"
 * Region.DEFAULT_MAX_KEY_LENGTH // 1024
 * ```
 *
 * @category constants
 * @since 0.1.0
 */
export const DEFAULT_MAX_KEY_LENGTH = Settings.DEFAULT_MAX_KEY_LENGTH

export * from "./RegionOptions.ts"

/**
 * A region of values of type `A`.
 *
 * Creator errors stay typed: `getOrCreate(key, creator)` fails with the
 * creator's own error `E` or with a `CacheError`. Every call on a region whose
 * scope has closed fails with `RegionClosedError`.
 *
 * @example
 * ```ts
 * import { Region } from "@dogpile-effect/core"
 * import { Effect } from "effect"
 * const answer = (region: Region.Region<number>) => region.getOrCreate("answer", Effect.succeed(42))
 * ```
 *
 * @category models
 * @since 0.1.0
 */
export interface Region<A> {
  readonly name: string
  /** The fresh value of `key`, if any. */
  get(key: CacheKey.CacheKey, options?: GetOptions): Effect.Effect<Option.Option<A>, CacheError>
  /** The fresh values of `keys`, in order, duplicates included. */
  getMany(
    keys: ReadonlyArray<CacheKey.CacheKey>,
    options?: GetOptions
  ): Effect.Effect<ReadonlyArray<Option.Option<A>>, CacheError>
  /**
   * The value of `key`, created by `creator` when missing or expired. Only one
   * caller per key runs the creator; the others wait for it (no value yet) or
   * get the stale value at once (a value exists). A `Conditional.make` creator
   * receives the entry it replaces and may answer `Conditional.notModified`.
   */
  getOrCreate<E, R>(
    key: CacheKey.CacheKey,
    creator: Effect.Effect<A | EntryMeta.Expiring<A>, E, R> | Conditional.Conditional<A, E, R>,
    options?: GetOrCreateOptions<A>
  ): Effect.Effect<A, E | CacheError, R>
  /**
   * The values of `keys`, in order, duplicates included, by the same rules as
   * `getOrCreate` for each key. `creator` receives the caller's keys that this
   * call must create, each once, in the order of their first appearance in
   * `keys`, and returns one value per key in that order. It runs once for the
   * expired keys this call regenerates and once for the missing keys it could
   * lock; a missing key whose other creator stored nothing (it failed) is
   * created by a further call. A `Conditional.makeMany` creator also receives
   * the entries it replaces.
   */
  getOrCreateMany<E, R>(
    keys: ReadonlyArray<CacheKey.CacheKey>,
    creator:
      | ((keys: ReadonlyArray<CacheKey.CacheKey>) => Effect.Effect<ReadonlyArray<A | EntryMeta.Expiring<A>>, E, R>)
      | Conditional.ConditionalMany<A, E, R>,
    options?: GetOrCreateOptions<A>
  ): Effect.Effect<ReadonlyArray<A>, E | CacheError, R>
  set(key: CacheKey.CacheKey, value: A, options?: SetOptions): Effect.Effect<void, CacheError>
  setMany(entries: ReadonlyArray<readonly [CacheKey.CacheKey, A]>, options?: SetOptions): Effect.Effect<void, CacheError>
  delete(key: CacheKey.CacheKey): Effect.Effect<void, CacheError>
  deleteMany(keys: ReadonlyArray<CacheKey.CacheKey>): Effect.Effect<void, CacheError>
  /**
   * Invalidates every value created before now. Hard: they become misses.
   * Soft (default): they count as expired, so one caller regenerates while the
   * others get the stale value.
   */
  invalidate(options?: { readonly hard?: boolean }): Effect.Effect<void, CacheError>
  /**
   * Invalidates every entry created before now that carries one of `tags`
   * (given with `getOrCreate`, `set` or the function wrappers), in every
   * process: one write per tag, no scan of keys; readers compare an entry's
   * creation time with its tags' marks (re-read at most once a second). Hard:
   * misses; soft (default): stale, one caller regenerates.
   */
  invalidateTags(tags: ReadonlyArray<string>, options?: { readonly hard?: boolean }): Effect.Effect<void, CacheError>
  /** Whether `key` has a fresh value (or any value not hard-invalidated, with `ignoreExpiration`). Counts nothing. */
  has(key: CacheKey.CacheKey, options?: GetOptions): Effect.Effect<boolean, CacheError>
  /** The entry's metadata, read from its headers (the value is not decoded where the envelope allows). */
  inspect(key: CacheKey.CacheKey): Effect.Effect<Option.Option<EntryInfo>, CacheError>
  /** Whether the key's lock is held, and for how long (as far as the `Lock` can tell). */
  lockStatus(key: CacheKey.CacheKey): Effect.Effect<LockStatus, CacheError>
  /** The region's events (hits, misses, stale serves, creations, invalidations, lost locks, bypasses) while the stream runs. */
  readonly events: Stream.Stream<RegionEvent.RegionEvent>
  /** Like `events`, but subscribed at once: nothing published after this effect returns is missed. */
  readonly subscribe: Effect.Effect<Stream.Stream<RegionEvent.RegionEvent>, never, Scope.Scope>
  /** Completes when no background regeneration is running. */
  readonly awaitBackground: Effect.Effect<void>
  /** This region's metrics. */
  readonly metrics: RegionMetrics.RegionMetrics
}

/**
 * What `Region.inspect` reports about one entry.
 *
 * @example
 * ```ts
 * import type { Region } from "@dogpile-effect/core"
 * const ageOf = (info: Region.EntryInfo, now: number) => info.createdAt === undefined ? undefined : now - info.createdAt
 * ```
 *
 * @category models
 * @since 0.1.0
 */
export interface EntryInfo {
  /** The caller's key, as shown in errors. */
  readonly key: string
  /** The key in the backend (namespaced, mangled). */
  readonly backendKey: string
  /** As a read would see it now. */
  readonly state: "fresh" | "stale" | "invalidated"
  readonly createdAt: number | undefined
  readonly expiresAt: number | undefined
  /** The envelope's format version, where it stores one. */
  readonly version: number | undefined
  /** Stored bytes in all (metadata, envelope, payload). */
  readonly sizeBytes: number
  readonly payloadBytes: number
  readonly tags: ReadonlyArray<string>
  /** How long the creator took, where recorded. */
  readonly computeMs: number | undefined
}

/**
 * Builds a region over the `Backend` and `Lock` in context. Background
 * regenerations run in the current `Scope`: closing it interrupts them (and
 * releases their locks), and later calls fail with `RegionClosedError`.
 * Invalid options fail with `InvalidOptionError`.
 *
 * @example
 * ```ts
 * import { Lock, MemoryBackend, Region } from "@dogpile-effect/core"
 * import { Effect, Layer, Schema } from "effect"
 *
 * const program = Effect.gen(function*() {
 *   const users = yield* Region.make({ name: "users", schema: Schema.Struct({ name: Schema.String }), expiration: "10 minutes" })
 *   return yield* users.getOrCreate("user:1", Effect.succeed({ name: "Ada" }))
 * }).pipe(
 *   Effect.scoped,
 *   Effect.provide(Layer.mergeAll(MemoryBackend.layer(), Lock.layerLocal))
 * )
 * ```
 *
 * @category constructors
 * @since 0.1.0
 */
export const make = <A, E = never, R = Backend | Lock>(
  options: StorageOptions<A, E, R>
): Effect.Effect<Region<A>, InvalidOptionError | E, R | Scope.Scope> =>
  Effect.gen(function*() {
    const storage = (options?.storage ?? Storage.context) as Storage.Storage<E, R>
    const built = yield* storage.build
    const merged: RegionOptions<A> = {
      ...withoutUndefined(storage.defaults),
      ...withoutUndefined(built.defaults),
      ...withoutUndefined(options),
      name: options.name
    }
    const envelope = merged.envelope ?? (yield* CurrentEnvelope)
    const codec = merged.codec ?? Option.getOrElse(yield* Effect.serviceOption(Codec), () => Codec.json)
    const settings = yield* Settings.validate(merged, envelope, codec)
    const background = yield* FiberSet.make<unknown, unknown>()
    const scope = yield* Scope.Scope
    const operations = yield* Operations.make(settings, built.backend, built.lock, background)
    yield* Scope.addFinalizer(scope, operations.close)
    yield* StorageLayout.record(built, storage, merged, envelope, codec)
    return operations.region
  })

/** `options` without its `undefined` fields, so that they leave a storage's defaults in place. */
const withoutUndefined = <T extends object>(options: T): { readonly [K in keyof T]?: Exclude<T[K], undefined> } =>
  Object.fromEntries(Object.entries(options ?? {}).filter(([, value]) => value !== undefined)) as {
    readonly [K in keyof T]?: Exclude<T[K], undefined>
  }

/**
 * A region as a Layer for the service `tag`: one instance per Layer, whose
 * scope is the Layer's.
 *
 * @example
 * ```ts
 * import { Region } from "@dogpile-effect/core"
 * import { Context, Schema } from "effect"
 *
 * const Answers = Context.Service<Region.Region<number>>("app/Answers")
 * const AnswersLive = Region.layer(Answers, { name: "answers", schema: Schema.Number, expiration: "1 minute" })
 * ```
 *
 * @category layers
 * @since 0.1.0
 */
export const layer = <Self, A, E = never, R = Backend | Lock>(
  tag: Context.Key<Self, Region<A>>,
  options: StorageOptions<A, E, R>
): Layer.Layer<Self, InvalidOptionError | E, R> => Layer.effect(tag, make(options))

/**
 * {@link layer} with the scalar options read from `Config` over `options`
 * (see `RegionConfig`): a set variable wins, a missing one leaves the
 * literal option or the default; an invalid value is the literal's
 * `InvalidOptionError`, naming the variable.
 *
 * @example
 * ```ts
 * import { Region, RegionConfig } from "@dogpile-effect/core"
 * import { Config, Context, Schema } from "effect"
 *
 * const Answers = Context.Service<Region.Region<number>>("app/Answers")
 * const AnswersLive = Region.layerConfig(Answers, { name: "answers", schema: Schema.Number, expiration: "1 minute" }, {
 *   expiration: RegionConfig.expiration("ANSWERS_TTL"),
 *   staleIfError: Config.Boolean("ANSWERS_STALE_IF_ERROR")
 * })
 * ```
 *
 * @category layers
 * @since 0.1.0
 */
export const layerConfig = <Self, A, E = never, R = Backend | Lock>(
  tag: Context.Key<Self, Region<A>>,
  options: StorageOptions<A, E, R>,
  config: RegionConfig.Wrap
): Layer.Layer<Self, InvalidOptionError | Config.ConfigError | E, R> =>
  Layer.effect(tag, ConfigOptions.build(config, (configured) => make<A, E, R>({ ...options, ...configured })))

/**
 * The class {@link Service} returns: a service key for a `Region` of the
 * Schema's type, with the Layer that builds it.
 *
 * @example
 * ```ts
 * import { Region } from "@dogpile-effect/core"
 * import { Schema } from "effect"
 * class Answers extends Region.Service<Answers>()("app/Answers", { name: "answers", schema: Schema.Number }) {}
 * const live = Answers.layer
 * ```
 *
 * @category models
 * @since 0.1.0
 */
export interface ServiceClass<
  Self,
  Id extends string,
  S extends Schema.Codec<unknown, unknown>,
  E = never,
  R = Backend | Lock
> extends Context.ServiceClass<Self, Id, Region<S["Type"]>> {
  /** The region, built once, in the Layer's scope. */
  readonly layer: Layer.Layer<Self, InvalidOptionError | E, R>
  /** The region with its scalar options read from `Config` over {@link options} (see {@link layerConfig}); a new Layer per call. */
  readonly layerConfig: (config: RegionConfig.Wrap) => Layer.Layer<Self, InvalidOptionError | Config.ConfigError | E, R>
  /** The options the region is built with. */
  readonly options: StorageOptions<S["Type"], E, R> & { readonly schema: S }
}

/**
 * Declares a region as a class-based service, with its Schema and options in
 * one place and a static `layer`. The value type is the Schema's.
 *
 * @example
 * ```ts
 * import { Lock, MemoryBackend, Region } from "@dogpile-effect/core"
 * import { Effect, Layer, Schema } from "effect"
 *
 * const User = Schema.Struct({ id: Schema.Number, name: Schema.String })
 *
 * class Users extends Region.Service<Users>()("app/Users", {
 *   name: "users",
 *   schema: User,
 *   expiration: "10 minutes"
 * }) {}
 *
 * const program = Effect.gen(function*() {
 *   const users = yield* Users
 *   return yield* users.getOrCreate("user:1", Effect.succeed({ id: 1, name: "Ada" }))
 * }).pipe(Effect.provide(Users.layer.pipe(Layer.provide(Layer.mergeAll(MemoryBackend.layer(), Lock.layerLocal)))))
 * ```
 *
 * @category constructors
 * @since 0.1.0
 */
export const Service = <Self>() =>
<const Id extends string, S extends Schema.Codec<unknown, unknown>, E = never, R = Backend | Lock>(
  id: Id,
  options: StorageOptions<S["Type"], E, R> & { readonly schema: S }
): ServiceClass<Self, Id, S, E, R> => {
  const tag = Context.Service<Self, Region<S["Type"]>>()(id)
  return class RegionService extends tag {
    /** The region, built once, in the Layer's scope. */
    static readonly layer: Layer.Layer<Self, InvalidOptionError | E, R> = layer(tag, options)
    /** The region with its scalar options read from `Config` over `options`. */
    static readonly layerConfig = (config: RegionConfig.Wrap) => layerConfig(tag, options, config)
    /** The options the region is built with. */
    static readonly options: StorageOptions<S["Type"], E, R> & { readonly schema: S } = options
  }
}
