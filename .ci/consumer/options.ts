/**
 * Every optional option of the public packages accepts `undefined` under
 * `exactOptionalPropertyTypes`: an application that builds options from
 * possibly-missing values (`{ expiration: config.expiration }`) must not have
 * to strip the undefined ones first. Each `Holds<Verdict<...>>` below fails
 * to compile, naming the fields, when an optional field is declared `?: T`
 * instead of `?: T | undefined`; a few calls pass `undefined` for real.
 *
 * The option types still declared `?: T` are listed below with
 * `@ts-expect-error`; when one is fixed its directive becomes unused (an
 * error), and the line moves to the checked list.
 */
import { Cbor, Compressed, Msgpack, PythonInterop } from "@dogpile-effect/codecs"
import type { Limits } from "@dogpile-effect/codecs"
import type { Stats } from "@dogpile-effect/cli"
import type { CachedFunction, MemoryBackend, Region } from "@dogpile-effect/core"
import type { Bucketing, EntryExpiry, HashBackend } from "@dogpile-effect/hstore"
import type { Presets, Purge } from "@dogpile-effect/python"
import type { NearCache, RedisBackend, RedisClient, RedisLock } from "@dogpile-effect/redis"
import type { NodeRedisBackend, NodeRedisLock } from "@dogpile-effect/node-redis"

/** The optional keys of `T`. */
type OptionalKeys<T> = { [K in keyof T]-?: {} extends Pick<T, K> ? K : never }[keyof T]

/** The optional keys of `T` that refuse an explicit `undefined`. */
type RefusingUndefined<T> = {
  [K in OptionalKeys<T>]-?: { readonly [P in K]: undefined } extends Pick<T, K> ? never : K
}[OptionalKeys<T>]

/** `true` when every optional field of `T` accepts `undefined`; otherwise names the fields that refuse it. */
type Verdict<T> = [RefusingUndefined<T>] extends [never] ? true : { readonly refusesUndefined: RefusingUndefined<T> }

/** Compiles only for `true`: `Holds<Verdict<X>>` fails, naming the fields, when one refuses `undefined`. */
type Holds<V extends true> = V


// ---- checked: these accept undefined --------------------------------------------------------

export type Checked = [
  Holds<Verdict<Limits.CodecLimits>>,
  Holds<Verdict<Compressed.CompressedOptions>>,
  Holds<Verdict<PythonInterop.Options>>,
  Holds<Verdict<Parameters<typeof Stats.collect>[2]>>
]

export const calls: ReadonlyArray<unknown> = [
  Msgpack.make({ maxBytes: undefined, maxDepth: undefined, maxItems: undefined, maxBignumBytes: undefined }),
  Cbor.make({ maxBignumBytes: undefined }),
  Compressed.make(Msgpack.codec, { threshold: undefined, algorithm: undefined, level: undefined, maxDecodedBytes: undefined }),
  PythonInterop.envelope({ format: "json", layout: "dogpile", version: undefined })
]

/** @dogpile-effect/node-redis: declared `?: T | undefined` from its first release. */
export type CheckedNodeRedis = [
  Holds<Verdict<NodeRedisBackend.NodeRedisBackendOptions>>,
  Holds<Verdict<NodeRedisLock.NodeRedisLockOptions>>
]

/** @dogpile-effect/redis, hstore and python: made `?: T | undefined` (issue 23). */
export type CheckedAdapters = [
  Holds<Verdict<RedisClient.RedisClientOptions>>,
  Holds<Verdict<RedisClient.FromClientOptions>>,
  Holds<Verdict<RedisClient.CallOptions>>,
  Holds<Verdict<RedisClient.SentinelOptions>>,
  Holds<Verdict<RedisBackend.RedisBackendOptions>>,
  Holds<Verdict<RedisLock.RedisLockOptions>>,
  Holds<Verdict<NearCache.NearCacheOptions>>,
  Holds<Verdict<HashBackend.HashBackendOptions>>,
  Holds<Verdict<Bucketing.BucketingOptions>>,
  Holds<Verdict<EntryExpiry.EntryExpiryOptions>>,
  Holds<Verdict<Presets.PresetOptions>>,
  Holds<Verdict<Presets.AdvancedOptions>>,
  Holds<Verdict<Presets.HstoreOptions>>,
  Holds<Verdict<Purge.PurgeOptions>>
]

// ---- core ------------------------------------------------------------------------------------

export type CheckedCore = [
  Holds<Verdict<Region.RegionOptions<unknown>>>,
  Holds<Verdict<Region.GetOrCreateOptions<unknown>>>,
  Holds<Verdict<Region.GetOptions>>,
  Holds<Verdict<Region.SetOptions>>,
  Holds<Verdict<CachedFunction.CachedOptions<[string]>>>,
  Holds<Verdict<MemoryBackend.MemoryBackendOptions>>
]
