/**
 * The options of a region and of its calls: one vocabulary for durations
 * (`expiration`, `storeTtl`, `lockTimeout`, `softTimeout`, `hardTimeout`),
 * each validated when the region is built. Re-exported by `Region`.
 *
 * @since 0.1.0
 */
import type { Schema } from "effect"
import type { CodecShape } from "./Codec.ts"
import type { EnvelopeShape } from "./Envelope.ts"
import type { KeyMangler } from "./KeyMangler.ts"
import type * as Options from "./Options.ts"

/**
 * An expiration time: anything `Duration` accepts (`"5 minutes"`, a number of
 * milliseconds, `"Infinity"`), or `"never"`.
 *
 * @example
 * ```ts
 * import type { Region } from "@dogpile-effect/core"
 * const fresh: Region.Expiration = "10 minutes"
 * ```
 *
 * @category models
 * @since 0.1.0
 */
export type Expiration = Options.DurationOption

/**
 * Options of a region. Every one is validated when the region is built; a
 * bad value fails with `InvalidOptionError`. Durations: see the table in the
 * core README (`expiration`, `storeTtl`, `lockTimeout`).
 *
 * @example
 * ```ts
 * import type { Region } from "@dogpile-effect/core"
 * const options: Region.RegionOptions<number> = { name: "answers", expiration: "1 minute" }
 * ```
 *
 * @category models
 * @since 0.1.0
 */
export interface RegionOptions<A> {
  /** The region's name: labels its metrics and spans. */
  readonly name: string
  /**
   * The prefix of every key (`namespace:key`; hash buckets `namespace#bucket`).
   * Default: the name. Only `A-Z a-z 0-9 _ . - { }`, not starting with `_`.
   * `false` stores keys verbatim (to share keys with another program).
   */
  readonly namespace?: string | false | undefined
  /** The Schema of the values: they are encoded through it, and a stored value that does not decode is a miss. */
  readonly schema?: Schema.Codec<A, unknown> | undefined
  /** The codec of the encoded values. Default: the `Codec` in context if any, else `Codec.json`. */
  readonly codec?: CodecShape | undefined
  /** How long a value stays fresh. Default `"never"`. */
  readonly expiration?: Expiration | undefined
  /**
   * How long the store keeps a value (Redis `PX`). Default: twice the
   * expiration (the second half keeps the value servable while one caller
   * regenerates it), the expiration itself with an envelope that stores no
   * creation time, or 24 hours when the expiration is `"never"`. `"never"`:
   * no store TTL (for servers with an eviction policy).
   */
  readonly storeTtl?: Expiration | undefined
  /** How long a caller waits for another caller's creation before failing with `LockTimeoutError`. Default 30 s. */
  readonly lockTimeout?: Options.DurationOption | undefined
  /** Applied to every plain key after validation and before the namespace, e.g. `KeyMangler.sha1`. */
  readonly keyMangler?: KeyMangler | undefined
  /** Longest accepted key, in UTF-16 code units, checked before mangling. Default `DEFAULT_MAX_KEY_LENGTH` (1024). */
  readonly maxKeyLength?: number | undefined
  /** The envelope format; defaults to `Envelope.CurrentEnvelope` (the full envelope unless a Layer says otherwise). */
  readonly envelope?: EnvelopeShape | undefined
  /** Whether a created value is stored. Default: always. */
  readonly shouldCache?: ((value: A) => boolean) | undefined
  /** Serve the stale value when regenerating it fails (the error is logged and counted). Default `false`. */
  readonly staleIfError?: boolean | undefined
  /**
   * Regenerate expired values in the background: the caller gets the stale value
   * at once and the creator runs in a fiber owned by the region's scope, holding
   * the lock until it ends. Default `false`.
   */
  readonly backgroundRefresh?: boolean | undefined
  /**
   * What `getOrCreate` does when the backend or lock fails: `"fail"` (default)
   * with a typed `BackendError`, or `"bypass"`: run the creator without the
   * cache (still once per key per process) and return its value.
   */
  readonly onBackendError?: "fail" | "bypass" | undefined
  /**
   * After this long, a caller regenerating an expired value gets the stale
   * value while the creator goes on in the background (holding the lock).
   * Default: none. Applies only where a stale value exists.
   */
  readonly softTimeout?: Options.DurationOption | undefined
  /**
   * After this long a creator is interrupted: its callers fail with
   * `CreatorTimeoutError` (or get the stale value under `staleIfError`),
   * nothing is stored and the lock is released. Default: none.
   */
  readonly hardTimeout?: Options.DurationOption | undefined
  /**
   * Probabilistic early refresh (XFetch: Vattani, Chierichetti, Lowenstein,
   * VLDB 2015): a read of a fresh value regenerates it in the background with
   * probability rising as expiry nears, scaled by how long its creator took
   * (stored with the entry) and by `beta` (default 1; larger refreshes
   * earlier). One reader wins the lock; everyone keeps getting the fresh
   * value, so no caller waits on an expired hot key. `true` for β = 1.
   */
  readonly earlyRefresh?: boolean | { readonly beta?: number | undefined } | undefined
}

/**
 * Per-call options of `getOrCreate` and `getOrCreateMany`.
 *
 * @example
 * ```ts
 * import type { Region } from "@dogpile-effect/core"
 * const call: Region.GetOrCreateOptions<number> = { expiration: "5 seconds", staleIfError: true }
 * ```
 *
 * @category models
 * @since 0.1.0
 */
export interface GetOrCreateOptions<A> {
  readonly expiration?: Expiration | undefined
  readonly shouldCache?: ((value: A) => boolean) | undefined
  readonly staleIfError?: boolean | undefined
  readonly backgroundRefresh?: boolean | undefined
  /** Tags stored with the created value(s): `invalidateTags` invalidates every entry that carries one. */
  readonly tags?: ReadonlyArray<string> | undefined
  readonly softTimeout?: Options.DurationOption | undefined
  readonly hardTimeout?: Options.DurationOption | undefined
}

/**
 * Per-call options of `get` and `getMany`.
 *
 * @example
 * ```ts
 * import type { Region } from "@dogpile-effect/core"
 * const call: Region.GetOptions = { ignoreExpiration: true }
 * ```
 *
 * @category models
 * @since 0.1.0
 */
export interface GetOptions {
  readonly expiration?: Expiration | undefined
  /** Return a value even if it is expired or soft-invalidated (never a hard-invalidated one). */
  readonly ignoreExpiration?: boolean | undefined
}

/**
 * Per-call options of `set` and `setMany`.
 *
 * @example
 * ```ts
 * import type { Region } from "@dogpile-effect/core"
 * const call: Region.SetOptions = { expiration: "1 hour" }
 * ```
 *
 * @category models
 * @since 0.1.0
 */
export interface SetOptions {
  readonly expiration?: Expiration | undefined
  /** Tags stored with the value(s). */
  readonly tags?: ReadonlyArray<string> | undefined
}
