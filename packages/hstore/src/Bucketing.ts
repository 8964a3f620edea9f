/**
 * Automatic bucketing: maps id-like keys (`user:1234567`) to a hash bucket and
 * a field (`user:12345` / `67`), so many small entries share one compact Redis
 * hash without the caller naming buckets by hand.
 *
 * @since 0.1.0
 */
import { CacheKey, InvalidOptionError } from "@dogpile-effect/core"
import { Effect } from "effect"

/**
 * A key mapper: plain keys in, bucketed keys (or the same plain key) out. Its
 * options are checked by `check` (a typed `InvalidOptionError`), which
 * `HashBackend.layer({ bucketing })` runs when the Layer is built; a mapper
 * built from invalid options throws that error when called, so run `check`
 * (or hand the mapper to the Layer) before using it directly.
 *
 * @example
 * ```ts
 * import { Bucketing } from "@dogpile-effect/hstore"
 * import { Effect } from "effect"
 * const bucket = Bucketing.byId({ size: 1000 })
 * const program = Effect.as(bucket.check, bucket("user:1234567"))
 * ```
 *
 * @category models
 * @since 0.1.0
 */
export interface Bucketing {
  (key: string): CacheKey.CacheKey
  /** Fails with `InvalidOptionError` when the mapper's options are invalid. */
  readonly check: Effect.Effect<void, InvalidOptionError>
}

const build = (
  option: string,
  error: string | undefined,
  map: (key: string) => CacheKey.CacheKey
): Bucketing => {
  if (error === undefined) return Object.assign(map, { check: Effect.void })
  const failure = new InvalidOptionError({ component: "Bucketing", option, reason: error })
  const refuse = (_key: string): CacheKey.CacheKey => {
    throw failure
  }
  return Object.assign(refuse, { check: Effect.fail(failure) })
}

/**
 * The default number of fields per bucket: 100 (two trailing digits). Chosen
 * from `bench/hstore-memory.ts`: buckets of 100 small entries stay
 * listpack-encoded (under the default `hash-max-listpack-entries`, 128 on some
 * builds and 512 on Redis 7.0 here) and cost ~11 B per entry against ~80 B for
 * plain keys, while HGET in a 100-field listpack still runs at about half the
 * speed of GET (a 500-field one at about a fifth).
 *
 * @example
 * ```ts
 * import { Bucketing } from "@dogpile-effect/hstore"
 * Bucketing.byId({ size: Bucketing.DEFAULT_BUCKET_SIZE })
 * ```
 *
 * @category constants
 * @since 0.1.0
 */
export const DEFAULT_BUCKET_SIZE = 100

/**
 * Options of {@link byId}.
 *
 * @example
 * ```ts
 * import { Bucketing } from "@dogpile-effect/hstore"
 * const options: Bucketing.BucketingOptions = { size: 1000 }
 * ```
 *
 * @category models
 * @since 0.1.0
 */
export interface BucketingOptions {
  /**
   * Fields per bucket: a power of ten (10, 100, 1000, …), so the field is the
   * id's last digits and bucket names stay readable. Default
   * {@link DEFAULT_BUCKET_SIZE}.
   */
  readonly size?: number | undefined
}

const TRAILING_DIGITS = /^(.*?)(\d+)$/

/**
 * Builds a key mapper for id-like keys: a key ending in a run of more than
 * `log10(size)` digits is split into a bucket (everything but the last
 * `log10(size)` digits) and a field (those digits, as written). Short ids (not
 * more digits than that) go to the bucket `prefix + "0"` under the field
 * `"_" + id`; keys without trailing digits stay plain keys.
 *
 * The mapping is injective — two different keys never share a (bucket, field)
 * pair, leading zeros included — and a bucket name (always ending in a digit)
 * never equals a plain key (never ending in one), so a hash and a string never
 * compete for one Redis key.
 *
 * @example
 * ```ts
 * import { Bucketing } from "@dogpile-effect/hstore"
 *
 * const bucket = Bucketing.byId() // 100 fields per bucket
 * bucket("user:1234567") // CacheKey.hash("user:12345", "67")
 * bucket("user:7") // CacheKey.hash("user:0", "_7")
 * bucket("settings") // "settings" (not id-like: a plain key)
 *
 * const wide = Bucketing.byId({ size: 1000 })
 * wide("user:1234567") // CacheKey.hash("user:1234", "567")
 * ```
 *
 * @category constructors
 * @since 0.1.0
 */
export const byId = (options: BucketingOptions = {}): Bucketing => {
  const size = options.size ?? DEFAULT_BUCKET_SIZE
  const digits = Math.round(Math.log10(size))
  const valid = typeof size === "number" && Number.isInteger(size) && size >= 10 && 10 ** digits === size
  return build("byId size", valid ? undefined : `must be a power of ten ≥ 10, got ${String(size)}`, (key) => {
    const match = TRAILING_DIGITS.exec(key)
    if (match === null) return key
    // Both groups always participate in a match of this pattern.
    const prefix = match[1] as string
    const id = match[2] as string
    if (id.length <= digits) return CacheKey.hash(`${prefix}0`, `_${id}`)
    const cut = id.length - digits
    return CacheKey.hash(prefix + id.slice(0, cut), id.slice(cut))
  })
}

const TRAILING_NUMBER = /^(.*?)(\d+)$/

/**
 * Splits a key ending in a canonical number (`user:1234567`) into its prefix
 * (`user:`, never ending in a digit: the number takes every trailing digit)
 * and the number; `undefined` when the key has no trailing digits, the number
 * has leading zeros (`"007"`), or it is beyond 2^53. Two different keys never
 * give the same split. Used by {@link byNumber} and `ListLayout.locate`.
 *
 * @example
 * ```ts
 * import { Bucketing } from "@dogpile-effect/hstore"
 * Bucketing.numberSuffix("user:1000") // { prefix: "user:", n: 1000 }
 * Bucketing.numberSuffix("user:007") // undefined
 * ```
 *
 * @category getters
 * @since 0.1.0
 */
export const numberSuffix = (key: string): { readonly prefix: string; readonly n: number } | undefined => {
  const match = TRAILING_NUMBER.exec(key)
  if (match === null) return undefined
  // Both groups always participate in a match of this pattern.
  const digits = match[2] as string
  if (digits.length > 1 && digits.startsWith("0")) return undefined
  const n = Number(digits)
  return Number.isSafeInteger(n) ? { prefix: match[1] as string, n } : undefined
}

/**
 * Numeric bucketing: maps keys ending in a number (`user:1234567`) to a hash
 * `prefix#⌊n / size⌋` and the field `n mod size`. Unlike {@link byId}
 * (powers of ten, fields as written, so `"07"` is a 2-character string), the
 * fields here are always the canonical integers 0 … size − 1, which a Redis
 * listpack stores in one byte each below 128 (the demo's best layouts use it).
 *
 * Injective: the prefix never ends in a digit (the number takes every
 * trailing digit), numbers with leading zeros or beyond 2^53 stay plain keys,
 * and bucket names (always ending in a canonical number after `#`) never equal
 * a key that stays plain.
 *
 * Builds the key mapper; `size` is the number of fields per bucket (2 … 512,
 * Redis 7.0 keeps a hash compact up to 512 fields by default).
 *
 * @example
 * ```ts
 * import { Bucketing } from "@dogpile-effect/hstore"
 * const bucket = Bucketing.byNumber({ size: 128 })
 * bucket("user:1000") // CacheKey.hash("user:#7", "104")
 * bucket("settings") // "settings"
 * ```
 *
 * @category constructors
 * @since 0.1.0
 */
export const byNumber = (options: { readonly size: number }): Bucketing => {
  const size = options.size
  const valid = Number.isInteger(size) && size >= 2 && size <= 512
  return build("byNumber size", valid ? undefined : `must be an integer in 2..512, got ${String(size)}`, (key) => {
    const split = numberSuffix(key)
    if (split === undefined) return key
    return CacheKey.hash(`${split.prefix}#${Math.floor(split.n / size)}`, String(split.n % size))
  })
}
