/**
 * The options of `HashBackend.layer` and their validation.
 *
 * @since 0.1.0
 */
import { InvalidOptionError, Options } from "@dogpile-effect/core"
import { Effect } from "effect"
import type * as Bucketing from "./Bucketing.ts"
import * as EntryExpiry from "./EntryExpiry.ts"
import * as HashExpiry from "./HashExpiry.ts"
import type * as HashScripts from "./HashScripts.ts"

/**
 * Options of `HashBackend.layer`. Every option is validated when the Layer is
 * built: a bad value fails it with `InvalidOptionError` naming the option.
 *
 * @example
 * ```ts
 * import * as Settings from "./Settings.ts" // internal to @dogpile-effect/hstore
 * const options: Settings.HashBackendOptions = { overflowAbove: false }
 * ```
 *
 * @category models
 * @since 0.1.0
 */
export interface HashBackendOptions {
  /**
   * When buckets get a Redis TTL. Default {@link HashExpiry.entryTtl}: each
   * write extends its bucket's TTL to at least the longest store TTL (the
   * region's `ttl` hint) of the entries it writes.
   */
  readonly hashExpiry?: HashExpiry.HashExpiry | undefined
  /** Per-entry expiry inside buckets, from the creation time in each envelope (off by default). */
  readonly entryExpiry?: EntryExpiry.EntryExpiryOptions | undefined
  /**
   * Values longer than this many bytes are stored as plain overflow keys
   * instead of hash fields, so one large value never converts a whole bucket
   * from listpack to hashtable. Default: the server's
   * `hash-max-listpack-value` (64 when it cannot be read). `false` disables
   * overflow (every value goes into its bucket).
   */
  readonly overflowAbove?: number | false | undefined
  /** Plain keys per MGET/DEL; default 500. */
  readonly batchSize?: number | undefined
  /**
   * Maps every plain key the backend is given (e.g. `Bucketing.byNumber({ size: 128 })`),
   * so regions need not bucket keys themselves; checked when the Layer is built.
   */
  readonly bucketing?: Bucketing.Bucketing | undefined
}

const COMPONENT = "HashBackend"

/**
 * Validated options of a hash backend.
 *
 * @example
 * ```ts
 * import * as Settings from "./Settings.ts" // internal to @dogpile-effect/hstore
 * const settings = Settings.resolve({}) // Effect<Settings.Settings, InvalidOptionError>
 * ```
 *
 * @category models
 * @since 0.1.0
 */
export interface Settings {
  readonly bucketTtl: HashScripts.BucketTtl
  readonly expiry: EntryExpiry.EntryExpirySettings | undefined
  readonly overflowAbove: number | false | undefined
  readonly batchSize: number
  readonly bucketing: Bucketing.Bucketing | undefined
}

/**
 * Validates every option of `HashBackend.layer`, failing with
 * `InvalidOptionError` naming the option and what to change.
 *
 * @example
 * ```ts
 * import * as Settings from "./Settings.ts" // internal to @dogpile-effect/hstore
 * Settings.resolve({ batchSize: 0 }) // fails: HashBackend: option batchSize must be at least 1, got 0
 * ```
 *
 * @category constructors
 * @since 0.1.0
 */
export const resolve = (options: HashBackendOptions): Effect.Effect<Settings, InvalidOptionError> =>
  Effect.gen(function*() {
    const bucketTtl = yield* HashExpiry.resolve(options.hashExpiry)
    const expiry = options.entryExpiry === undefined ? undefined : yield* EntryExpiry.resolve(options.entryExpiry)
    const batchSize = yield* Options.integer(COMPONENT, "batchSize", options.batchSize, 500, { min: 1 })
    const overflow = options.overflowAbove
    const overflowAbove = overflow === undefined || overflow === false
      ? overflow
      : yield* Options.integer(COMPONENT, "overflowAbove", overflow, 0, { min: 0 })
    if (options.bucketing !== undefined) {
      if (typeof options.bucketing !== "function" || options.bucketing.check === undefined) {
        return yield* new InvalidOptionError({
          component: COMPONENT,
          option: "bucketing",
          reason: "must be built by Bucketing.byId or Bucketing.byNumber"
        })
      }
      yield* options.bucketing.check
    }
    return { bucketTtl, expiry, overflowAbove, batchSize, bucketing: options.bucketing }
  })

