/**
 * Options read from `Config`, Effect's way: a record of `Config` values, one
 * per option (`Config.Wrap<Options>`), as Effect's own services take them
 * (`NodeRedis.layerConfig`). A variable that is missing leaves its option
 * unset, so the literal option or the built-in default applies; a variable
 * that does not parse is a `ConfigError` naming it; a value that parses but
 * that the component rejects is the same `InvalidOptionError` a literal
 * option gets, with the variable it came from added to its reason.
 *
 * The building block of `RedisClient.layerConfig` and `Region.layerConfig`.
 *
 * @since 0.1.0
 */
import { Config, ConfigProvider, Effect, Option, Predicate } from "effect"
import { InvalidOptionError } from "./CacheError.ts"

/**
 * Options read from configuration: the ones whose variables were set, and for
 * each option (dotted for nested ones, e.g. `sentinel.name`) the config keys
 * it was read from.
 *
 * @example
 * ```ts
 * import type { ConfigOptions } from "@dogpile-effect/core"
 * const keysOf = (loaded: ConfigOptions.Loaded<{ readonly ttl?: number }>, option: string) =>
 *   loaded.sources.get(option) ?? []
 * ```
 *
 * @category models
 * @since 0.1.0
 */
export interface Loaded<A> {
  readonly options: Partial<A>
  readonly sources: ReadonlyMap<string, ReadonlyArray<string>>
}

/** Reads one `Config`, `None` when its input is missing, recording the keys that were found. */
const readLeaf = (config: Config.Config<unknown>, provider: ConfigProvider.ConfigProvider) =>
  Effect.gen(function*() {
    const found = new Set<string>()
    const recording = ConfigProvider.make((path) =>
      Effect.tap(provider.load(path), (node) =>
        Effect.sync(() => {
          if (node !== undefined) found.add(path.join("."))
        }))
    )
    const value = yield* Config.option(config).parse(recording)
    return { value, keys: Array.from(found) }
  })

/** A plain object (a record of configs), not a class instance such as `Redacted`, a `Buffer` or a `Duration`. */
const isRecord = (input: unknown): input is Record<string, unknown> => {
  if (!Predicate.isObject(input) || Array.isArray(input)) return false
  const prototype = Object.getPrototypeOf(input)
  return prototype === Object.prototype || prototype === null
}

/** Reads every leaf of a record of configs into `into`, leaving out the missing ones. */
const readRecord = (
  wrap: Record<string, unknown>,
  prefix: string,
  provider: ConfigProvider.ConfigProvider,
  sources: Map<string, ReadonlyArray<string>>
): Effect.Effect<Record<string, unknown>, Config.ConfigError> =>
  Effect.gen(function*() {
    const into: Record<string, unknown> = {}
    for (const [key, field] of Object.entries(wrap)) {
      const option = `${prefix}${key}`
      if (Config.isConfig(field)) {
        const { keys, value } = yield* readLeaf(field, provider)
        if (Option.isSome(value) && value.value !== undefined) {
          into[key] = value.value
          sources.set(option, keys)
        }
      } else if (isRecord(field)) {
        const nested = yield* readRecord(field, `${option}.`, provider, sources)
        if (Object.keys(nested).length > 0) into[key] = nested
      } else if (field !== undefined) {
        into[key] = field
      }
    }
    return into
  })

/**
 * Reads options from the current `ConfigProvider`: each `Config` of the
 * record (nested records included) or one `Config` of the whole options.
 * Missing variables leave their options out; a variable that is set but does
 * not parse fails with `ConfigError` naming it.
 *
 * @example
 * ```ts
 * import { ConfigOptions } from "@dogpile-effect/core"
 * import { Config, ConfigProvider, Effect } from "effect"
 *
 * interface Options { readonly ttl?: number; readonly name?: string }
 * const loaded = ConfigOptions.load<Options>({ ttl: Config.Int("TTL"), name: Config.String("NAME") }).pipe(
 *   Effect.provideService(ConfigProvider.ConfigProvider, ConfigProvider.fromUnknown({ TTL: "5" }))
 * )
 * // Effect.runSync(loaded).options: { ttl: 5 } (NAME is missing)
 * ```
 *
 * @category constructors
 * @since 0.1.0
 */
export const load = <A>(config: Config.Wrap<A>): Effect.Effect<Loaded<A>, Config.ConfigError> =>
  Effect.gen(function*() {
    const provider = yield* ConfigProvider.ConfigProvider
    const sources = new Map<string, ReadonlyArray<string>>()
    if (Config.isConfig(config)) {
      const { keys, value } = yield* readLeaf(config, provider)
      if (Option.isNone(value) || !isRecord(value.value)) return { options: {}, sources }
      sources.set("", keys)
      return { options: value.value as Partial<A>, sources }
    }
    const options = isRecord(config) ? yield* readRecord(config, "", provider, sources) : {}
    return { options: options as Partial<A>, sources }
  })

/** The config keys an option was read from: its own, a parent record's, or the whole options'. */
const keysOf = (option: string, sources: ReadonlyMap<string, ReadonlyArray<string>>): ReadonlyArray<string> => {
  for (const [source, keys] of sources) {
    if (
      source === "" || option === source || option.startsWith(`${source}.`) || option.startsWith(`${source}[`) ||
      option.startsWith(`${source} `)
    ) return keys
  }
  return []
}

/**
 * The error with the config keys its option was read from added to its
 * reason (unchanged when the option did not come from configuration).
 *
 * @example
 * ```ts
 * import { ConfigOptions, InvalidOptionError } from "@dogpile-effect/core"
 * const error = new InvalidOptionError({ component: "Region users", option: "expiration", reason: "must not be negative" })
 * ConfigOptions.attribute(error, new Map([["expiration", ["USERS_TTL"]]])).message
 * // "Region users: option expiration must not be negative (from config USERS_TTL)"
 * ```
 *
 * @category errors
 * @since 0.1.0
 */
export const attribute = (
  error: InvalidOptionError,
  sources: ReadonlyMap<string, ReadonlyArray<string>>
): InvalidOptionError => {
  const keys = keysOf(error.option, sources)
  if (keys.length === 0) return error
  return new InvalidOptionError({
    component: error.component,
    option: error.option,
    reason: `${error.reason} (from config ${keys.join(", ")})`
  })
}

/**
 * Reads options from configuration ({@link load}) and builds with them:
 * `build` validates them as it validates literal options, and an
 * `InvalidOptionError` it raises names the variable the option came from.
 *
 * @example
 * ```ts
 * import { ConfigOptions, Options } from "@dogpile-effect/core"
 * import { Config } from "effect"
 *
 * const timeoutMs = ConfigOptions.build<{ readonly timeout?: Options.DurationOption }, number, never, never>(
 *   { timeout: Config.Duration("APP_TIMEOUT") },
 *   (options) => Options.millisOr("App", "timeout", options.timeout, "1 second")
 * )
 * ```
 *
 * @category constructors
 * @since 0.1.0
 */
export const build = <A, B, E, R>(
  config: Config.Wrap<A>,
  f: (options: Partial<A>) => Effect.Effect<B, E, R>
): Effect.Effect<B, E | InvalidOptionError | Config.ConfigError, R> =>
  Effect.gen(function*() {
    const { options, sources } = yield* load(config)
    return yield* f(options).pipe(
      Effect.mapError((error) => error instanceof InvalidOptionError ? attribute(error, sources) : error)
    )
  })
