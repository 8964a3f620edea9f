/**
 * Validation of options, shared by every package: durations in one vocabulary
 * (anything `Duration.Input` accepts, plus `"never"` as an alias of
 * `"Infinity"` where a lifetime may be endless), sizes and names. Each check
 * fails with {@link InvalidOptionError} naming the component and the option.
 *
 * @since 0.1.0
 */
import { Duration, Effect, Option } from "effect"
import { InvalidOptionError } from "./CacheError.ts"

/**
 * A duration option: anything `Duration.Input` accepts (`"5 minutes"`,
 * `Duration.seconds(5)`, a number of milliseconds), or `"never"` (the same as
 * `"Infinity"`) where an endless lifetime makes sense.
 *
 * @example
 * ```ts
 * import type { Options } from "@dogpile-effect/core"
 * const ttl: Options.DurationOption = "10 minutes"
 * ```
 *
 * @category models
 * @since 0.1.0
 */
export type DurationOption = Duration.Input | "never"

/**
 * What a duration option may be.
 *
 * @category models
 * @since 0.1.0
 */
export interface DurationRules {
  /** Whether `"never"` / `"Infinity"` is allowed. Default `false`. */
  readonly infinite?: boolean
  /** Whether zero is allowed. Default `false`. */
  readonly zero?: boolean
}

const invalid = (component: string, option: string, reason: string) =>
  Effect.fail(new InvalidOptionError({ component, option, reason }))

const show = (input: unknown): string => {
  try {
    return typeof input === "string" ? JSON.stringify(input) : String(input)
  } catch {
    return "an unprintable value"
  }
}

/**
 * Reads a duration option as milliseconds (`Infinity` for an endless one),
 * failing with {@link InvalidOptionError} for input `Duration` cannot parse, a
 * negative or NaN value, zero or infinity where the rules forbid them.
 *
 * @example
 * ```ts
 * import { Options } from "@dogpile-effect/core"
 * Options.millis("Region users", "expiration", "10 minutes", { infinite: true }) // Effect<600000>
 * ```
 *
 * @category constructors
 * @since 0.1.0
 */
export const millis = (
  component: string,
  option: string,
  input: DurationOption,
  rules: DurationRules = {}
): Effect.Effect<number, InvalidOptionError> => {
  if (input === "never") {
    return rules.infinite === true
      ? Effect.succeed(Number.POSITIVE_INFINITY)
      : invalid(component, option, "cannot be \"never\": it needs a finite duration")
  }
  if (typeof input === "number" && Number.isNaN(input)) return invalid(component, option, "is NaN")
  if (typeof input === "number" && input < 0) return invalid(component, option, `must not be negative, got ${input} ms`)
  let ms: number
  try {
    const decoded = Duration.fromInput(input)
    if (Option.isNone(decoded)) return invalid(component, option, `is not a duration: ${show(input)}`)
    ms = Duration.toMillis(decoded.value)
  } catch {
    return invalid(component, option, `is not a duration: ${show(input)}`)
  }
  if (Number.isNaN(ms)) return invalid(component, option, `is not a duration: ${show(input)}`)
  if (ms < 0) return invalid(component, option, `must not be negative, got ${show(input)}`)
  if (ms === Number.POSITIVE_INFINITY && rules.infinite !== true) {
    return invalid(component, option, `must be finite, got ${show(input)}`)
  }
  if (ms === 0 && rules.zero !== true) return invalid(component, option, `must be greater than zero, got ${show(input)}`)
  return Effect.succeed(ms)
}

/**
 * Reads an optional duration option, using `fallback` when it is undefined.
 *
 * @example
 * ```ts
 * import { Options } from "@dogpile-effect/core"
 * Options.millisOr("RedisLock", "ttl", undefined, "30 seconds") // Effect<30000>
 * ```
 *
 * @category constructors
 * @since 0.1.0
 */
export const millisOr = (
  component: string,
  option: string,
  input: DurationOption | undefined,
  fallback: DurationOption,
  rules: DurationRules = {}
): Effect.Effect<number, InvalidOptionError> => millis(component, option, input ?? fallback, rules)

/**
 * Checks an integer option within `[min, max]` (inclusive), using `fallback`
 * when it is undefined.
 *
 * @example
 * ```ts
 * import { Options } from "@dogpile-effect/core"
 * Options.integer("RedisBackend", "batchSize", 500, 500, { min: 1 }) // Effect<500>
 * ```
 *
 * @category constructors
 * @since 0.1.0
 */
export const integer = (
  component: string,
  option: string,
  input: number | undefined,
  fallback: number,
  range: { readonly min?: number; readonly max?: number } = {}
): Effect.Effect<number, InvalidOptionError> => {
  const value = input ?? fallback
  if (typeof value !== "number" || !Number.isSafeInteger(value)) {
    return invalid(component, option, `must be an integer, got ${show(value)}`)
  }
  if (range.min !== undefined && value < range.min) {
    return invalid(component, option, `must be at least ${range.min}, got ${value}`)
  }
  if (range.max !== undefined && value > range.max) {
    return invalid(component, option, `must be at most ${range.max}, got ${value}`)
  }
  return Effect.succeed(value)
}

/**
 * Checks a string option that must not be empty, using `fallback` when it is
 * undefined.
 *
 * @example
 * ```ts
 * import { Options } from "@dogpile-effect/core"
 * Options.nonEmpty("Region", "name", "users") // Effect<"users">
 * ```
 *
 * @category constructors
 * @since 0.1.0
 */
export const nonEmpty = (
  component: string,
  option: string,
  input: string | undefined,
  fallback?: string
): Effect.Effect<string, InvalidOptionError> => {
  const value = input ?? fallback
  if (typeof value !== "string") return invalid(component, option, `must be a string, got ${show(value)}`)
  if (value.length === 0) return invalid(component, option, "must not be empty")
  return Effect.succeed(value)
}

/**
 * Fails with {@link InvalidOptionError} when `condition` holds: for options
 * that contradict each other or that another option would silently ignore.
 *
 * @example
 * ```ts
 * import { Options } from "@dogpile-effect/core"
 * Options.reject("HashBackend", "entryExpiry", false, "needs an envelope that stores creation times")
 * ```
 *
 * @category constructors
 * @since 0.1.0
 */
export const reject = (
  component: string,
  option: string,
  condition: boolean,
  reason: string
): Effect.Effect<void, InvalidOptionError> => (condition ? invalid(component, option, reason) : Effect.void)
