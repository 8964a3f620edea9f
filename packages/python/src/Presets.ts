/**
 * One preset per Python setup: the Backend, Lock, Codec and envelope that
 * read and write what a stock Python `make_region(...)` reads and writes, and
 * lock the same Redis keys, so a TypeScript creator and a Python creator of
 * the same key exclude each other with both sides on their defaults.
 *
 * | preset                 | Python backend                                  | value layout                | lock key                        |
 * |------------------------|-------------------------------------------------|-----------------------------|---------------------------------|
 * | {@link dogpileRedis}   | `dogpile.cache.redis` (dogpile.cache ≥ 1.1)     | `{"ct", "v"}\|payload`       | `_lock<key>`                    |
 * | {@link redisAdvanced}  | `dogpile_backend_redis_advanced` 0.5.x          | `{"ct", "v"}\|payload`       | `_lok.<key>`                    |
 * | {@link redisAdvancedHstore} | `dogpile_backend_redis_advanced_hstore` 0.5.x | `{"ct", "v"}\|payload` (hash fields too) | `_lok.<key>`, `_lok.<hash>,<field>` |
 *
 * Each preset gives region options (`region`: keys verbatim, no store TTL) and
 * a Layer (`layer`) providing `Backend`, `Lock` and `Codec` and setting
 * `Envelope.CurrentEnvelope`. Build regions with `{ ...preset.region, name, ... }`
 * under the Layer; use a `keyMangler` only if the Python region has the same
 * `key_mangler`. `docs/python-interop.md` has the Python side.
 *
 * @since 0.2.0
 */
import { PythonInterop } from "@dogpile-effect/codecs"
import { type Backend, type Codec, InvalidOptionError, type Lock, Options } from "@dogpile-effect/core"
import { HashBackend, HashExpiry } from "@dogpile-effect/hstore"
import { RedisBackend, type RedisClient, RedisLock } from "@dogpile-effect/redis"
import { Effect, Layer } from "effect"
import * as LockNaming from "./LockNaming.ts"

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
 * @since 0.2.0
 */
export interface PresetOptions {
  /**
   * The Python region's serializer: `"json"` for
   * `serializer=lambda v: json.dumps(v).encode()`, `deserializer=json.loads`;
   * `"msgpack"` for `serializer=msgpack.packb`, `deserializer=msgpack.unpackb`.
   */
  readonly format: PythonInterop.Format
  /** dogpile's `value_version`. Default 2 (dogpile.cache ≥ 1.1). */
  readonly version?: number
  /** Options of the Redis lock, except its key naming, which the preset sets. */
  readonly lock?: Omit<RedisLock.RedisLockOptions, "lockKey" | "prefix">
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
 * @since 0.2.0
 */
export interface AdvancedOptions extends PresetOptions {
  /** The plugin's `lock_prefix`. Default `"_lok."` ({@link LockNaming.ADVANCED_PREFIX}). */
  readonly lockPrefix?: string
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
 * @since 0.2.0
 */
export interface HstoreOptions extends AdvancedOptions {
  /**
   * When buckets get a Redis TTL: `HashExpiry.never` (default) or
   * `HashExpiry.onEveryWrite(ttl)`. `HashExpiry.onCreate` is refused: it also
   * gives an existing TTL-less bucket a TTL, which the plugin does not.
   */
  readonly hashExpiry?: HashExpiry.HashExpiry
}

/**
 * The region options every preset needs, to spread into `Region.make`: keys
 * verbatim as Python's (`namespace: false`; Python regions have no key
 * prefix unless given a `key_mangler`), and no store TTL, as Python's
 * backends by default (`redis_expiration_time` 0; set `storeTtl` to the same
 * duration when the Python side sets one).
 *
 * @example
 * ```ts
 * import { Presets } from "@dogpile-effect/python"
 * const { namespace, storeTtl } = Presets.dogpileRedis({ format: "json" }).region // false, "never"
 * ```
 *
 * @category models
 * @since 0.2.0
 */
export interface PresetRegionOptions {
  readonly namespace: false
  readonly storeTtl: "never"
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
 * @since 0.2.0
 */
export interface Preset {
  readonly region: PresetRegionOptions
  readonly layer: Layer.Layer<Backend | Lock | Codec, InvalidOptionError, RedisClient.RedisClient>
}

const region: PresetRegionOptions = { namespace: false, storeTtl: "never" }

const checkCommon = (component: string, options: PresetOptions) =>
  Effect.gen(function*() {
    yield* Options.reject(
      component,
      "format",
      options.format !== "json" && options.format !== "msgpack",
      `must be "json" or "msgpack", got ${String(options.format)}`
    )
    return yield* Options.integer(component, "version", options.version, 2, { min: 0 })
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
    backend,
    RedisLock.layer({ ...options.lock, lockKey })
  )

/**
 * For Python services on `dogpile.cache.redis` with a JSON or msgpack
 * serializer and `distributed_lock=True`: plain keys, the dogpile layout, locks
 * on `_lock<key>`.
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
 * @since 0.2.0
 */
export const dogpileRedis = (options: PresetOptions): Preset => ({
  region,
  layer: Layer.unwrap(
    Effect.map(
      checkCommon("Presets.dogpileRedis", options),
      (version) => assemble(options, version, RedisBackend.layer(), LockNaming.dogpileRedis)
    )
  )
})

const checkPrefix = (component: string, options: AdvancedOptions) =>
  Options.nonEmpty(component, "lockPrefix", options.lockPrefix, LockNaming.ADVANCED_PREFIX)

/**
 * For Python services on `dogpile_backend_redis_advanced` 0.5.x with a region
 * serializer (JSON or msgpack) and `distributed_lock=True`: plain keys, the
 * dogpile layout, locks on `<lockPrefix><key>`. For the plugin's own
 * `loads`/`dumps` layouts (0.4.x), use `PythonInterop.layer` with `full`,
 * `compact` or `raw` instead of this preset's codec.
 *
 * @example
 * ```ts
 * import { Presets } from "@dogpile-effect/python"
 * const Shared = Presets.redisAdvanced({ format: "msgpack" })
 * ```
 *
 * @category presets
 * @since 0.2.0
 */
export const redisAdvanced = (options: AdvancedOptions): Preset => ({
  region,
  layer: Layer.unwrap(
    Effect.gen(function*() {
      const version = yield* checkCommon("Presets.redisAdvanced", options)
      const prefix = yield* checkPrefix("Presets.redisAdvanced", options)
      return assemble(options, version, RedisBackend.layer(), LockNaming.redisAdvanced(prefix))
    })
  )
})

/**
 * For Python services on `dogpile_backend_redis_advanced_hstore` 0.5.x: hash
 * keys (`CacheKey.hash(name, field)` ↔ Python's `(name, field)` tuples) are
 * fields of Redis hashes with nothing but the value in them (no overflow keys,
 * no per-entry expiry scans), plain keys are strings; locks on
 * `<lockPrefix><key>` and `<lockPrefix><hash>,<field>`.
 *
 * @example
 * ```ts
 * import { HashExpiry } from "@dogpile-effect/hstore"
 * import { Presets } from "@dogpile-effect/python"
 * const Shared = Presets.redisAdvancedHstore({ format: "json", hashExpiry: HashExpiry.onEveryWrite("1 day") })
 * ```
 *
 * @category presets
 * @since 0.2.0
 */
export const redisAdvancedHstore = (options: HstoreOptions): Preset => ({
  region,
  layer: Layer.unwrap(
    Effect.gen(function*() {
      const component = "Presets.redisAdvancedHstore"
      const version = yield* checkCommon(component, options)
      const prefix = yield* checkPrefix(component, options)
      const hashExpiry = options.hashExpiry ?? HashExpiry.never
      if (hashExpiry._tag === "OnCreate") {
        return yield* new InvalidOptionError({
          component,
          option: "hashExpiry",
          reason: "onCreate also expires existing TTL-less buckets, which the plugin does not; use never or onEveryWrite"
        })
      }
      // Python reads every field as a value: no overflow markers in buckets.
      const backend = HashBackend.layer({ hashExpiry, overflowAbove: false })
      return assemble(options, version, backend, LockNaming.redisAdvanced(prefix))
    })
  )
})
