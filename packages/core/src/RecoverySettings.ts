/**
 * The options of `Recovery`, validated when the layer is built.
 *
 * @internal
 * @since 0.1.0
 */
import { type Duration, Effect } from "effect"
import { InvalidOptionError } from "./CacheError.ts"
import * as Options from "./Options.ts"

/**
 * What `Recovery.backend` queues when the store fails, how much, and how
 * often it probes the store to replay.
 *
 * @example
 * ```ts
 * import type { Recovery } from "@dogpile-effect/core"
 * const options: Recovery.RecoveryOptions = { writes: true, maxEntries: 50_000, backoff: { initial: "100 millis", max: "5 seconds" } }
 * ```
 *
 * @category models
 * @since 0.1.0
 */
export interface RecoveryOptions {
  /** Queue the regions' invalidation marks (`invalidate`, `invalidateTags`). Default `true`. */
  readonly invalidations?: boolean
  /** Queue deletes (`delete`, `deleteMany`). Default `true`. */
  readonly deletes?: boolean
  /** Queue writes (`set`, `setMany`, stored creations). Default `false`: a lost write is a later miss, not a stale value. */
  readonly writes?: boolean
  /** The most keys the queue holds. Default 10,000. */
  readonly maxEntries?: number
  /** About how many bytes the queue holds (keys, values, 64 bytes per entry). Default 16 MiB. */
  readonly maxBytes?: number
  /** The replay probe: first `initial` after the failure, then doubling, at most `max` apart. Defaults 100 ms and 5 s. */
  readonly backoff?: {
    readonly initial?: Duration.Input
    readonly max?: Duration.Input
  }
  /** Operations per replayed batch (`setMany`/`deleteMany`). Default 100. */
  readonly batchSize?: number
}

/** The validated options. */
export interface RecoverySettings {
  readonly invalidations: boolean
  readonly deletes: boolean
  readonly writes: boolean
  readonly maxEntries: number
  readonly maxBytes: number
  readonly initialMs: number
  readonly maxMs: number
  readonly batchSize: number
}

const component = "Recovery.backend"
const fields = ["invalidations", "deletes", "writes", "maxEntries", "maxBytes", "backoff", "batchSize"]
const backoffFields = ["initial", "max"]

const unknownField = (config: object, known: ReadonlyArray<string>, prefix: string) => {
  const unknown = Object.keys(config).find((field) => !known.includes(field))
  return unknown === undefined
    ? Effect.void
    : Effect.fail(new InvalidOptionError({ component, option: `${prefix}${unknown}`, reason: `is not an option (it takes ${known.join(", ")})` }))
}

const flag = (option: string, input: unknown, fallback: boolean) =>
  input === undefined
    ? Effect.succeed(fallback)
    : typeof input === "boolean"
    ? Effect.succeed(input)
    : Effect.fail(new InvalidOptionError({ component, option, reason: `must be true or false, got ${typeof input}` }))

const isObject = (input: unknown): input is object => typeof input === "object" && input !== null

/**
 * Validates `options`: booleans, positive integers, finite positive
 * durations with `initial <= max`, and no unknown field.
 *
 * @example
 * ```ts
 * import * as RecoverySettings from "./RecoverySettings.ts"
 * RecoverySettings.validate({ maxEntries: 0 }) // fails: maxEntries must be at least 1
 * ```
 *
 * @since 0.1.0
 */
export const validate = (options: RecoveryOptions): Effect.Effect<RecoverySettings, InvalidOptionError> =>
  Effect.gen(function*() {
    if (!isObject(options)) return yield* new InvalidOptionError({ component, option: "options", reason: "must be an object" })
    yield* unknownField(options, fields, "")
    const backoff: unknown = options.backoff ?? {}
    if (!isObject(backoff)) return yield* new InvalidOptionError({ component, option: "backoff", reason: "must be an object" })
    yield* unknownField(backoff, backoffFields, "backoff.")
    const { initial, max } = backoff as NonNullable<RecoveryOptions["backoff"]>
    const initialMs = yield* Options.millisOr(component, "backoff.initial", initial, "100 millis")
    const maxMs = yield* Options.millisOr(component, "backoff.max", max, "5 seconds")
    yield* Options.reject(component, "backoff.max", maxMs < initialMs, `must not be shorter than backoff.initial (${initialMs} ms), got ${maxMs} ms`)
    return {
      invalidations: yield* flag("invalidations", options.invalidations, true),
      deletes: yield* flag("deletes", options.deletes, true),
      writes: yield* flag("writes", options.writes, false),
      maxEntries: yield* Options.integer(component, "maxEntries", options.maxEntries, 10_000, { min: 1 }),
      maxBytes: yield* Options.integer(component, "maxBytes", options.maxBytes, 16 * 1024 * 1024, { min: 1 }),
      batchSize: yield* Options.integer(component, "batchSize", options.batchSize, 100, { min: 1 }),
      initialMs,
      maxMs
    }
  })
