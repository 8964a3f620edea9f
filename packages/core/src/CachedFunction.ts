/**
 * Function wrappers equivalent to dogpile's `cache_on_arguments` and
 * `cache_multi_on_arguments`: the cache key is derived from the arguments.
 *
 * @since 0.1.0
 */
import { Effect, type Option } from "effect"
import * as CacheKey from "./CacheKey.ts"
import type { CacheError } from "./CacheError.ts"
import * as Conditional from "./Conditional.ts"
import type { GetOrCreateOptions, Region, SetOptions } from "./Region.ts"

/**
 * Options of {@link cached} and {@link cachedMany}.
 *
 * @since 0.1.0
 */
export interface CachedOptions<Args extends ReadonlyArray<unknown>> {
  /** Names the function in its keys (dogpile's function name + namespace). Required: arrow functions have no name. */
  readonly namespace: string
  /** Builds the key from the arguments; default: `namespace|arg1 arg2 …` with non-strings JSON-encoded. */
  readonly key?: ((...args: Args) => CacheKey.CacheKey) | undefined
}

/**
 * A cached function and its companions.
 *
 * @since 0.1.0
 */
export interface CachedFunction<Args extends ReadonlyArray<unknown>, A, E, R> {
  /** The cached call: the stored value, or the original's result (stored). */
  (...args: Args): Effect.Effect<A, E | CacheError, R>
  /** The key the arguments map to. */
  readonly key: (...args: Args) => CacheKey.CacheKey
  /** Deletes the stored value for these arguments. */
  readonly invalidate: (...args: Args) => Effect.Effect<void, CacheError>
  /** Calls the original, stores and returns its value (dogpile's `refresh`). */
  readonly refresh: (...args: Args) => Effect.Effect<A, E | CacheError, R>
  /** Stores `value` for these arguments without calling the original. */
  readonly set: (value: A, ...args: Args) => Effect.Effect<void, CacheError>
  /** The stored value for these arguments, if fresh. */
  readonly get: (...args: Args) => Effect.Effect<Option.Option<A>, CacheError>
  /** The original function, uncached. */
  readonly original: (...args: Args) => Effect.Effect<A, E, R>
}

/**
 * What a wrapper's own writes (`refresh`, `set`) store with each value: the
 * wrapper's tags and expiration, as its cached call would, so `invalidateTags`
 * reaches every entry the wrapper wrote.
 */
const writeOptions = (options: GetOrCreateOptions<unknown>): SetOptions | undefined =>
  options.tags === undefined && options.expiration === undefined
    ? undefined
    : {
      ...(options.tags === undefined ? {} : { tags: options.tags }),
      ...(options.expiration === undefined ? {} : { expiration: options.expiration })
    }

const argText = (arg: unknown): string => (typeof arg === "string" ? arg : JSON.stringify(arg) ?? String(arg))

/**
 * The default key of a call: `namespace|arg1 arg2 …`.
 *
 * @since 0.1.0
 */
export const defaultKey = (namespace: string, args: ReadonlyArray<unknown>): string =>
  `${namespace}|${args.map(argText).join(" ")}`

/**
 * Wraps `f` so each call goes through `region.getOrCreate` with a key derived
 * from its arguments.
 *
 * @example
 * ```ts
 * import { CachedFunction, type Region } from "@dogpile-effect/core"
 * import { Effect } from "effect"
 *
 * declare const users: Region.Region<string>
 * const userName = CachedFunction.cached(users, (id: number) => Effect.succeed(`user ${id}`), {
 *   namespace: "userName"
 * })
 * // userName(1), userName.invalidate(1), userName.refresh(1), userName.set("x", 1), userName.get(1)
 * ```
 *
 * @since 0.1.0
 */
export const cached = <A, Args extends ReadonlyArray<unknown>, E, R>(
  region: Region<A>,
  f: (...args: Args) => Effect.Effect<A, E, R>,
  options: CachedOptions<Args> & GetOrCreateOptions<A>
): CachedFunction<Args, A, E, R> => {
  const key = options.key ?? ((...args: Args) => defaultKey(options.namespace, args))
  const call = (...args: Args) => region.getOrCreate(key(...args), f(...args), options)
  const stored = writeOptions(options as GetOrCreateOptions<unknown>)
  return Object.assign(call, {
    key,
    invalidate: (...args: Args) => region.delete(key(...args)),
    refresh: (...args: Args) => {
      const k = key(...args)
      return Effect.tap(f(...args), (value) => region.set(k, value, stored))
    },
    set: (value: A, ...args: Args) => region.set(key(...args), value, stored),
    // The wrapper's expiration, not the region's: what the cached call treats as fresh reads as fresh here.
    get: (...args: Args) => region.get(key(...args), options.expiration === undefined ? undefined : { expiration: options.expiration }),
    original: f
  })
}

/**
 * The multi-key variant (dogpile's `cache_multi_on_arguments`): `f` receives
 * the arguments whose values must be created and returns one value per
 * argument, in order; the wrapper returns one value per argument it was
 * called with, reading the rest from the cache in one `getOrCreateMany`.
 *
 * @example
 * ```ts
 * import { CachedFunction, type Region } from "@dogpile-effect/core"
 * import { Effect } from "effect"
 *
 * declare const users: Region.Region<string>
 * const names = CachedFunction.cachedMany(
 *   users,
 *   (ids: ReadonlyArray<number>) => Effect.succeed(ids.map((id) => `user ${id}`)),
 *   { namespace: "names" }
 * )
 * // names([1, 2, 3])
 * ```
 *
 * @since 0.1.0
 */
export const cachedMany = <A, K, E, R>(
  region: Region<A>,
  f: (args: ReadonlyArray<K>) => Effect.Effect<ReadonlyArray<A>, E, R>,
  options: { readonly namespace: string; readonly key?: ((arg: K) => CacheKey.CacheKey) | undefined } & GetOrCreateOptions<A>
) => {
  const key = options.key ?? ((arg: K) => defaultKey(options.namespace, [arg]))
  const stored = writeOptions(options as GetOrCreateOptions<unknown>)
  const call = (args: ReadonlyArray<K>): Effect.Effect<ReadonlyArray<A>, E | CacheError, R> =>
    Effect.suspend(() => {
      const keys = args.map(key)
      // By rendered key, so hash keys (objects) find their argument too.
      const argOf = new Map<string, K>()
      keys.forEach((k, i) => argOf.set(CacheKey.render(k), args[i] as K))
      return region.getOrCreateMany(keys, (missing) => f(missing.map((k) => argOf.get(CacheKey.render(k)) as K)), options)
    })
  return Object.assign(call, {
    key,
    invalidate: (args: ReadonlyArray<K>) => region.deleteMany(args.map(key)),
    refresh: (args: ReadonlyArray<K>) =>
      Effect.tap(f(args), (values) => region.setMany(values.map((value, i) => [key(args[i] as K), value] as const), stored)),
    set: (entries: ReadonlyArray<readonly [K, A]>) =>
      region.setMany(entries.map(([arg, value]) => [key(arg), value] as const), stored),
    get: (args: ReadonlyArray<K>) =>
      region.getMany(args.map(key), options.expiration === undefined ? undefined : { expiration: options.expiration }),
    original: f
  })
}

/**
 * A conditionally refreshed function and its companions: the original receives the entry it
 * replaces and may answer `Conditional.notModified`.
 *
 * @since 0.1.0
 */
export interface ConditionalCachedFunction<Args extends ReadonlyArray<unknown>, A, E, R> {
  /** The cached call: the stored value, or the original's answer (stored, or the stored entry renewed). */
  (...args: Args): Effect.Effect<A, E | CacheError, R>
  /** The key the arguments map to. */
  readonly key: (...args: Args) => CacheKey.CacheKey
  /** Deletes the stored value for these arguments. */
  readonly invalidate: (...args: Args) => Effect.Effect<void, CacheError>
  /** The stored value for these arguments, if fresh. */
  readonly get: (...args: Args) => Effect.Effect<Option.Option<A>, CacheError>
}

/**
 * {@link cached} for a function that refreshes conditionally (an HTTP request with `If-None-Match`, a
 * query `WHERE version > ?`): `f` receives the entry it replaces (`None` on a miss or after an
 * invalidation) and the arguments, and answers a value, `Conditional.fresh(value, { validator })` or
 * `Conditional.notModified`.
 *
 * @example
 * ```ts
 * import { CachedFunction, Conditional, Region } from "@dogpile-effect/core"
 * import { Effect, Option } from "effect"
 * const versions = new Map([["a", 3]])
 * const program = Effect.gen(function*() {
 *   const region = yield* Region.make<string>({ name: "docs", expiration: "1 minute" })
 *   const load = CachedFunction.cachedConditional(
 *     region,
 *     (previous: Option.Option<Conditional.Previous<string>>, id: string) => {
 *       const version = String(versions.get(id) ?? 0)
 *       return Effect.succeed(
 *         Option.isSome(previous) && previous.value.validator === version
 *           ? Conditional.notModified
 *           : Conditional.fresh(`document ${id} v${version}`, { validator: version })
 *       )
 *     },
 *     { namespace: "docs" }
 *   )
 *   return yield* load("a")
 * })
 * ```
 *
 * @since 0.1.0
 */
export const cachedConditional = <A, Args extends ReadonlyArray<unknown>, E, R>(
  region: Region<A>,
  f: (previous: Option.Option<Conditional.Previous<A>>, ...args: Args) => Effect.Effect<Conditional.Answer<A>, E, R>,
  options: CachedOptions<Args> & GetOrCreateOptions<A>
): ConditionalCachedFunction<Args, A, E, R> => {
  const key = options.key ?? ((...args: Args) => defaultKey(options.namespace, args))
  const call = (...args: Args) => region.getOrCreate(key(...args), Conditional.make((previous) => f(previous, ...args)), options)
  return Object.assign(call, {
    key,
    invalidate: (...args: Args) => region.delete(key(...args)),
    get: (...args: Args) => region.get(key(...args), options.expiration === undefined ? undefined : { expiration: options.expiration })
  })
}

/**
 * {@link cachedMany} for a function that refreshes conditionally: `f` receives the arguments it must
 * answer for and, for each, the entry it replaces; it answers one value per argument, in order.
 *
 * @example
 * ```ts
 * import { CachedFunction, Conditional, Region } from "@dogpile-effect/core"
 * import { Effect, Option } from "effect"
 * const program = Effect.gen(function*() {
 *   const region = yield* Region.make<number>({ name: "squares" })
 *   const squares = CachedFunction.cachedManyConditional(
 *     region,
 *     (ns: ReadonlyArray<number>, previous: ReadonlyArray<Option.Option<Conditional.Previous<number>>>) =>
 *       Effect.succeed(ns.map((n, i) => (Option.isSome(previous[i]!) ? Conditional.notModified : n * n))),
 *     { namespace: "squares" }
 *   )
 *   return yield* squares([2, 3])
 * })
 * ```
 *
 * @since 0.1.0
 */
export const cachedManyConditional = <A, K, E, R>(
  region: Region<A>,
  f: (
    args: ReadonlyArray<K>,
    previous: ReadonlyArray<Option.Option<Conditional.Previous<A>>>
  ) => Effect.Effect<ReadonlyArray<Conditional.Answer<A>>, E, R>,
  options: { readonly namespace: string; readonly key?: ((arg: K) => CacheKey.CacheKey) | undefined } & GetOrCreateOptions<A>
) => {
  const key = options.key ?? ((arg: K) => defaultKey(options.namespace, [arg]))
  const call = (args: ReadonlyArray<K>): Effect.Effect<ReadonlyArray<A>, E | CacheError, R> =>
    Effect.suspend(() => {
      const keys = args.map(key)
      const argOf = new Map<string, K>()
      keys.forEach((k, i) => argOf.set(CacheKey.render(k), args[i] as K))
      const creator = Conditional.makeMany((missing, previous: ReadonlyArray<Option.Option<Conditional.Previous<A>>>) =>
        f(missing.map((k) => argOf.get(CacheKey.render(k)) as K), previous)
      )
      return region.getOrCreateMany(keys, creator, options)
    })
  return Object.assign(call, {
    key,
    invalidate: (args: ReadonlyArray<K>) => region.deleteMany(args.map(key)),
    get: (args: ReadonlyArray<K>) =>
      region.getMany(args.map(key), options.expiration === undefined ? undefined : { expiration: options.expiration })
  })
}
