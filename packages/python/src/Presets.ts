/**
 * One preset per Python setup: the Backend, Lock, Codec and envelope that
 * read and write what a stock Python `make_region(...)` reads and writes, and
 * lock the same Redis keys, so a TypeScript creator and a Python creator of
 * the same key exclude each other with both sides on their defaults.
 *
 * | preset                 | Python backend                                  | value layout                | lock key                        |
 * |------------------------|-------------------------------------------------|-----------------------------|---------------------------------|
 * | {@link dogpileRedis}   | `dogpile.cache.redis` (dogpile.cache ≥ 1.1)     | `{"ct", "v"}\|payload`       | `_lock<key>` (`lockPrefix`)     |
 * | {@link redisAdvanced}  | `dogpile_backend_redis_advanced` 0.5.x          | `{"ct", "v"}\|payload`       | `_lok.<key>`                    |
 * | {@link redisAdvancedHstore} | `dogpile_backend_redis_advanced.hstore` 0.5.x | `{"ct", "v"}\|payload` (hash fields too) | `_lok.<key>`, `_lok.<hash>,<field>` |
 *
 * Each preset gives region options (`region`: keys verbatim, the store TTL of
 * Python's `redis_expiration_time`) and
 * a Layer (`layer`) providing `Backend`, `Lock` and `Codec` and setting
 * `Envelope.CurrentEnvelope`. Build regions with `{ ...preset.region, name, ... }`
 * under the Layer; use a `keyMangler` only if the Python region has the same
 * `key_mangler`. Every preset refuses to share keys with a Python region that
 * pickles ({@link PickleGuard}). `docs/python-interop.md` has the Python side.
 *
 * @since 0.1.0
 */
import { PythonInterop } from "@dogpile-effect/codecs"
import { type Backend, type Codec, InvalidOptionError, type Lock, Options, type Region } from "@dogpile-effect/core"
import { HashBackend, HashExpiry } from "@dogpile-effect/hstore"
import { RedisBackend, type RedisClient, RedisLock } from "@dogpile-effect/redis"
import { Effect, Layer } from "effect"
import * as LockNaming from "./LockNaming.ts"
import * as PickleGuard from "./PickleGuard.ts"

/**
 * Options shared by every preset.
 *
 * @example
 * ```ts
 * import type { Presets } from "@dogpile-effect/python"
 * const options: Presets.PresetOptions = { format: "msgpack", lock: { ttl: "30 seconds" } }
 * ```
 *
 * @category models
 * @since 0.1.0
 */
export interface PresetOptions {
  /**
   * The Python region's serializer: `"json"` for
   * `serializer=lambda v: json.dumps(v).encode()`, `deserializer=json.loads`;
   * `"msgpack"` for `serializer=msgpack.packb`, `deserializer=msgpack.unpackb`.
   */
  readonly format: PythonInterop.Format
  /** dogpile's `value_version`. Default 2 (dogpile.cache ≥ 1.1). */
  readonly version?: number | undefined
  /** Options of the Redis lock, except its key naming, which the preset sets. */
  readonly lock?: Omit<RedisLock.RedisLockOptions, "lockKey" | "prefix"> | undefined
  /**
   * The Python backend's `redis_expiration_time`, whole seconds: plain keys
   * get it as their Redis TTL (the region's `storeTtl`), as Python's `SETEX`.
   * Default none, as Python's 0.
   */
  readonly redisExpirationTime?: Region.Expiration | undefined
}

/**
 * Options of {@link dogpileRedis}.
 *
 * @example
 * ```ts
 * import type { Presets } from "@dogpile-effect/python"
 * const options: Presets.DogpileRedisOptions = { format: "json", lockPrefix: "_dpl." }
 * ```
 *
 * @category models
 * @since 0.1.0
 */
export interface DogpileRedisOptions extends PresetOptions {
  /**
   * dogpile.cache 1.5's `lock_prefix` argument: locks on `<lockPrefix><key>`.
   * Default `"_lock"` (no `lock_prefix`). 2 to 10 of `A-Z a-z 0-9 _ - . :`,
   * as Python accepts.
   */
  readonly lockPrefix?: string | undefined
}

/**
 * Options of the plugin presets.
 *
 * @example
 * ```ts
 * import type { Presets } from "@dogpile-effect/python"
 * const options: Presets.AdvancedOptions = { format: "json", lockPrefix: "_lok." }
 * ```
 *
 * @category models
 * @since 0.1.0
 */
export interface AdvancedOptions extends PresetOptions {
  /**
   * The `lock_prefix` argument (honoured by the plugin 0.5.0 on dogpile.cache
   * ≥ 1.5 only). Default `"_lok."` ({@link LockNaming.ADVANCED_PREFIX}).
   */
  readonly lockPrefix?: string | undefined
}

/**
 * Options of {@link redisAdvancedHstore}.
 *
 * @example
 * ```ts
 * import { HashExpiry } from "@dogpile-effect/hstore"
 * import type { Presets } from "@dogpile-effect/python"
 * const options: Presets.HstoreOptions = { format: "json", hashExpiry: HashExpiry.onEveryWrite("1 day") }
 * ```
 *
 * @category models
 * @since 0.1.0
 */
export interface HstoreOptions extends AdvancedOptions {
  /**
   * The plugin's `redis_expiration_time_hash`: `null` (its default, with
   * `redisExpirationTime`: a bucket gets that TTL when it is created),
   * `true` (every write resets the bucket's TTL) or `false` (buckets never
   * get a TTL). `null` or `true` without `redisExpirationTime` is refused:
   * the plugin then sends `EXPIRE <hash> 0`, which deletes the hash.
   */
  readonly redisExpirationTimeHash?: boolean | null | undefined
  /**
   * An explicit bucket TTL policy, instead of the one the two Python
   * arguments above give (not both). `HashExpiry.entryTtl` is refused.
   */
  readonly hashExpiry?: HashExpiry.HashExpiry | undefined
}

/**
 * The region options every preset needs, to spread into `Region.make`: keys
 * verbatim as Python's (`namespace: false`; Python regions have no key
 * prefix unless given a `key_mangler`), and the store TTL of the preset's
 * `redisExpirationTime` (`"never"` without one, as Python's default 0).
 *
 * @example
 * ```ts
 * import { Presets } from "@dogpile-effect/python"
 * const { namespace, storeTtl } = Presets.dogpileRedis({ format: "json" }).region // false, "never"
 * ```
 *
 * @category models
 * @since 0.1.0
 */
export interface PresetRegionOptions {
  readonly namespace: false
  readonly storeTtl: Region.Expiration
}

/**
 * A preset: region options and the Layer with `Backend`, `Lock`, `Codec` and
 * the envelope (`Envelope.CurrentEnvelope`). The Layer fails with
 * `InvalidOptionError` when an option is invalid.
 *
 * @example
 * ```ts
 * import { Presets } from "@dogpile-effect/python"
 * const preset: Presets.Preset = Presets.redisAdvanced({ format: "msgpack" })
 * ```
 *
 * @category models
 * @since 0.1.0
 */
export interface Preset {
  readonly region: PresetRegionOptions
  readonly layer: Layer.Layer<Backend | Lock | Codec, InvalidOptionError, RedisClient.RedisClient>
}

const regionOf = (options: PresetOptions): PresetRegionOptions => ({
  namespace: false,
  storeTtl: options.redisExpirationTime ?? "never"
})

const checkCommon = (component: string, options: PresetOptions) =>
  Effect.gen(function*() {
    yield* Options.reject(
      component,
      "format",
      options.format !== "json" && options.format !== "msgpack",
      `must be "json" or "msgpack", got ${String(options.format)}`
    )
    const version = yield* Options.integer(component, "version", options.version, 2, { min: 0 })
    const ttlMs = options.redisExpirationTime === undefined
      ? undefined
      : yield* Options.millis(component, "redisExpirationTime", options.redisExpirationTime)
    yield* Options.reject(
      component,
      "redisExpirationTime",
      ttlMs !== undefined && ttlMs % 1000 !== 0,
      "must be whole seconds, as Python's redis_expiration_time"
    )
    return { version, ttlMs }
  })

const checkPrefix = (component: string, prefix: string | undefined, fallback: string) =>
  Effect.gen(function*() {
    const value = yield* Options.nonEmpty(component, "lockPrefix", prefix, fallback)
    yield* Options.reject(
      component,
      "lockPrefix",
      prefix !== undefined && !LockNaming.VALID_PREFIX.test(value),
      "must be 2 to 10 of A-Z a-z 0-9 _ - . : (what dogpile.cache accepts as lock_prefix)"
    )
    return value
  })

/** Codec and envelope (dogpile layout), then the lock named by `lockKey`, over `backend`. */
const assemble = (
  options: PresetOptions,
  version: number,
  backend: Layer.Layer<Backend, InvalidOptionError, RedisClient.RedisClient>,
  lockKey: RedisLock.RedisLockOptions["lockKey"] & {}
): Preset["layer"] =>
  Layer.mergeAll(
    PythonInterop.layer({ format: options.format, layout: "dogpile", version }),
    PickleGuard.layer.pipe(Layer.provide(backend)),
    RedisLock.layer({ ...options.lock, lockKey })
  )

/**
 * For Python services on `dogpile.cache.redis` with a JSON or msgpack
 * serializer and `distributed_lock=True`: plain keys, the dogpile layout, locks
 * on `_lock<key>` (or `<lockPrefix><key>` for dogpile.cache 1.5's
 * `lock_prefix`).
 *
 * @example
 * ```ts
 * import { Region } from "@dogpile-effect/core"
 * import { Presets } from "@dogpile-effect/python"
 * import { RedisClient } from "@dogpile-effect/redis"
 * import { Effect, Layer } from "effect"
 *
 * const shared = Presets.dogpileRedis({ format: "json" })
 * const program = Effect.gen(function*() {
 *   const users = yield* Region.make<string>({ ...shared.region, name: "users", expiration: "10 minutes" })
 *   return yield* users.getOrCreate("user:42", Effect.succeed("Ada"))
 * }).pipe(Effect.scoped, Effect.provide(shared.layer.pipe(Layer.provide(RedisClient.layerConfig()))))
 * ```
 *
 * @category presets
 * @since 0.1.0
 */
export const dogpileRedis = (options: DogpileRedisOptions): Preset => ({
  region: regionOf(options),
  layer: Layer.unwrap(
    Effect.gen(function*() {
      const { version } = yield* checkCommon("Presets.dogpileRedis", options)
      const prefix = yield* checkPrefix("Presets.dogpileRedis", options.lockPrefix, LockNaming.DOGPILE_PREFIX)
      return assemble(options, version, RedisBackend.layer(), LockNaming.dogpileRedisPrefixed(prefix))
    })
  )
})

/**
 * For Python services on `dogpile_backend_redis_advanced` 0.5.x with a region
 * serializer (JSON or msgpack) and `distributed_lock=True`: plain keys, the
 * dogpile layout, locks on `<lockPrefix><key>`. The plugin 0.5.0 ignores
 * `loads`/`dumps` arguments (it pickles); for 0.4.x's `loads`/`dumps`
 * layouts, use `PythonInterop.layer` with `full` or `compact` instead of this
 * preset's codec.
 *
 * @example
 * ```ts
 * import { Presets } from "@dogpile-effect/python"
 * const Shared = Presets.redisAdvanced({ format: "msgpack" })
 * ```
 *
 * @category presets
 * @since 0.1.0
 */
export const redisAdvanced = (options: AdvancedOptions): Preset => ({
  region: regionOf(options),
  layer: Layer.unwrap(
    Effect.gen(function*() {
      const { version } = yield* checkCommon("Presets.redisAdvanced", options)
      const prefix = yield* checkPrefix("Presets.redisAdvanced", options.lockPrefix, LockNaming.ADVANCED_PREFIX)
      return assemble(options, version, RedisBackend.layer(), LockNaming.redisAdvanced(prefix))
    })
  )
})

/** The bucket TTL policy mirroring the plugin's `redis_expiration_time` and `redis_expiration_time_hash`. */
const bucketPolicy = (component: string, options: HstoreOptions, ttlMs: number | undefined) => {
  const mode = options.redisExpirationTimeHash ?? null
  const invalid = (option: string, reason: string) => Effect.fail(new InvalidOptionError({ component, option, reason }))
  if (options.hashExpiry !== undefined) {
    if (options.redisExpirationTimeHash !== undefined) {
      return invalid("hashExpiry", "give hashExpiry or redisExpirationTimeHash, not both")
    }
    return options.hashExpiry._tag === "EntryTtl"
      ? invalid("hashExpiry", "entryTtl extends buckets by each entry's TTL, which the plugin does not; use never, onCreate or onEveryWrite")
      : Effect.succeed(options.hashExpiry)
  }
  if (mode === false) return Effect.succeed(HashExpiry.never)
  if (ttlMs === undefined) {
    return invalid(
      "redisExpirationTime",
      `is needed with redisExpirationTimeHash ${String(mode)}: the plugin then sends EXPIRE <hash> 0, deleting every hash ` +
        "it writes; set redis_expiration_time (and redisExpirationTime) or redis_expiration_time_hash=False (and redisExpirationTimeHash: false)"
    )
  }
  return Effect.succeed(mode === true ? HashExpiry.onEveryWrite(ttlMs) : HashExpiry.onCreate(ttlMs))
}

/**
 * For Python services on `dogpile_backend_redis_advanced.hstore` 0.5.x: hash
 * keys (`CacheKey.hash(name, field)` ↔ Python's `(name, field)` tuples) are
 * fields of Redis hashes with nothing but the value in them (no overflow keys,
 * no per-entry expiry scans), plain keys are strings; locks on
 * `<lockPrefix><key>` and `<lockPrefix><hash>,<field>`. Buckets get the TTL
 * the plugin gives the hashes it creates: pass the Python side's
 * `redis_expiration_time` as `redisExpirationTime` and its
 * `redis_expiration_time_hash` as `redisExpirationTimeHash`. The plugin's
 * defaults (neither set) delete every hash Python writes, so the preset
 * refuses them.
 *
 * @example
 * ```ts
 * import { Presets } from "@dogpile-effect/python"
 * // Python: arguments={..., "redis_expiration_time": 3600}
 * const Shared = Presets.redisAdvancedHstore({ format: "json", redisExpirationTime: "1 hour" })
 * ```
 *
 * @category presets
 * @since 0.1.0
 */
export const redisAdvancedHstore = (options: HstoreOptions): Preset => ({
  region: regionOf(options),
  layer: Layer.unwrap(
    Effect.gen(function*() {
      const component = "Presets.redisAdvancedHstore"
      const { ttlMs, version } = yield* checkCommon(component, options)
      const prefix = yield* checkPrefix(component, options.lockPrefix, LockNaming.ADVANCED_PREFIX)
      const hashExpiry = yield* bucketPolicy(component, options, ttlMs)
      // Python reads every field as a value: no overflow markers in buckets.
      const backend = HashBackend.layer({ hashExpiry, overflowAbove: false })
      return assemble(options, version, backend, LockNaming.redisAdvanced(prefix))
    })
  )
})
