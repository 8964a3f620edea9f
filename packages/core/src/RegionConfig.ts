/**
 * A region's scalar options from `Config`, Effect's way: expirations, store
 * TTL, lock and creator timeouts, stale serving, namespace… each given as a
 * `Config` (`Config.Wrap`), read when the region is built.
 *
 * Precedence, per option: the variable when it is set, else the literal
 * option written in code, else the region's default. A missing variable is
 * never an error; a variable that does not parse is a `ConfigError` naming
 * it; a value that parses but is invalid (a negative expiration, a store TTL
 * shorter than the expiration) is the same `InvalidOptionError` as the
 * literal option, naming the variable too (`Region.layerConfig`, {@link make}).
 *
 * @since 0.1.0
 */
import { Config, Effect, Option, type Scope } from "effect"
import type { Backend } from "./Backend.ts"
import type { InvalidOptionError } from "./CacheError.ts"
import * as ConfigOptions from "./ConfigOptions.ts"
import type { Lock } from "./Lock.ts"
import * as Region from "./Region.ts"
import type { Expiration, RegionOptions } from "./RegionOptions.ts"

/**
 * The options of a region that configuration can set: the scalar ones. The
 * name, Schema, codec, envelope, key mangler and `shouldCache` stay in code.
 *
 * @example
 * ```ts
 * import type { RegionConfig } from "@dogpile-effect/core"
 * const tuned: RegionConfig.ConfigurableOptions = { expiration: "5 minutes", staleIfError: true }
 * ```
 *
 * @category models
 * @since 0.1.0
 */
export type ConfigurableOptions = Pick<
  RegionOptions<unknown>,
  | "namespace"
  | "expiration"
  | "storeTtl"
  | "lockTimeout"
  | "maxKeyLength"
  | "staleIfError"
  | "backgroundRefresh"
  | "onBackendError"
  | "softTimeout"
  | "hardTimeout"
  | "earlyRefresh"
>

/**
 * The configurable options as `Config` values: a record with a `Config` per
 * option (any of them may be left out), or one `Config` of them all.
 *
 * @example
 * ```ts
 * import type { RegionConfig } from "@dogpile-effect/core"
 * import { Config } from "effect"
 * const users: RegionConfig.Wrap = { expiration: Config.Duration("USERS_TTL"), staleIfError: Config.Boolean("USERS_STALE_IF_ERROR") }
 * ```
 *
 * @category models
 * @since 0.1.0
 */
export type Wrap = Config.Wrap<ConfigurableOptions>

/**
 * An expiration read from configuration: `"never"` or anything
 * `Config.Duration` reads (`"10 minutes"`, `"500 millis"`, `"Infinity"`).
 *
 * @example
 * ```ts
 * import { RegionConfig } from "@dogpile-effect/core"
 * const ttl = RegionConfig.expiration("USERS_TTL") // USERS_TTL=never or USERS_TTL="10 minutes"
 * ```
 *
 * @category constructors
 * @since 0.1.0
 */
export const expiration = (name: string): Config.Config<Expiration> =>
  Config.Literal("never", name).pipe(Config.orElse(() => Config.Duration(name)))

/** Each option's Config, with a missing variable read as `undefined`. */
const optionalFields = (wrap: Record<string, unknown>): Record<string, Config.Config<unknown>> =>
  Object.fromEntries(
    Object.entries(wrap).flatMap(([key, field]) =>
      Config.isConfig(field) ? [[key, Config.option(field).pipe(Config.map(Option.getOrUndefined))]] : []
    )
  )

const definedOnly = (options: Record<string, unknown>): ConfigurableOptions =>
  Object.fromEntries(Object.entries(options).filter(([, value]) => value !== undefined))

/**
 * The configurable options as one `Config`: the options whose variables are
 * set (a missing one is left out, so the literal option or the default
 * applies); one `Config` of them all is returned as it is. Spread it over literal options for {@link Region.make}; validation
 * happens there. {@link make} and `Region.layerConfig` also name the variable
 * in the `InvalidOptionError` of a value the region rejects.
 *
 * @example
 * ```ts
 * import { Lock, MemoryBackend, Region, RegionConfig } from "@dogpile-effect/core"
 * import { Config, Effect, Layer, Schema } from "effect"
 *
 * const program = Effect.gen(function*() {
 *   const tuned = yield* RegionConfig.options({ expiration: Config.Duration("USERS_TTL") })
 *   const users = yield* Region.make({ name: "users", schema: Schema.String, expiration: "10 minutes", ...tuned })
 *   return yield* users.getOrCreate("user:1", Effect.succeed("Ada"))
 * }).pipe(Effect.scoped, Effect.provide(Layer.mergeAll(MemoryBackend.layer(), Lock.layerLocal)))
 * ```
 *
 * @category constructors
 * @since 0.1.0
 */
export const options = (config: Wrap): Config.Config<ConfigurableOptions> =>
  Config.isConfig(config)
    ? config
    : Config.unwrap<Record<string, unknown>>(optionalFields(config)).pipe(Config.map(definedOnly))

/**
 * Builds a region (as `Region.make`) with the configurable options read from
 * `config` over the literal `options`: a set variable wins, a missing one
 * leaves the literal option or the default. Invalid values fail with the
 * `InvalidOptionError` a literal would get, naming the variable.
 *
 * @example
 * ```ts
 * import { Lock, MemoryBackend, RegionConfig } from "@dogpile-effect/core"
 * import { Config, Effect, Layer, Schema } from "effect"
 *
 * const program = Effect.gen(function*() {
 *   const users = yield* RegionConfig.make(
 *     { name: "users", schema: Schema.String, expiration: "10 minutes" },
 *     { expiration: RegionConfig.expiration("USERS_TTL"), lockTimeout: Config.Duration("USERS_LOCK_TIMEOUT") }
 *   )
 *   return yield* users.getOrCreate("user:1", Effect.succeed("Ada"))
 * }).pipe(Effect.scoped, Effect.provide(Layer.mergeAll(MemoryBackend.layer(), Lock.layerLocal)))
 * ```
 *
 * @category constructors
 * @since 0.1.0
 */
export const make = <A>(
  options: RegionOptions<A>,
  config: Wrap
): Effect.Effect<Region.Region<A>, InvalidOptionError | Config.ConfigError, Backend | Lock | Scope.Scope> =>
  ConfigOptions.build(config, (configured) => Region.make<A>({ ...options, ...configured }))
