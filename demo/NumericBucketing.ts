/**
 * Numeric bucketing: maps keys ending in a number (`user:1234567`) to a hash
 * `prefix#⌊n / size⌋` and the field `n mod size`. Unlike
 * `Bucketing.byId` (powers of ten, fields as written, so `"07"` is a
 * 2-character string), the fields here are always the canonical integers
 * 0 … size − 1, which a Redis listpack stores in one byte each below 128.
 *
 * Proposed for `@dogpile-effect/hstore` (as a `Bucketing` option); it lives in
 * the demo until it moves there.
 *
 * Injective: the prefix never ends in a digit (the number takes every
 * trailing digit), numbers with leading zeros or beyond 2^53 stay plain keys,
 * and bucket names (always ending in a digit) never equal a plain key that
 * stays plain (never ending in a canonical number).
 */
import { CacheKey } from "@dogpile-effect/core"

const TRAILING_NUMBER = /^(.*?)(\d+)$/

/**
 * Builds the key mapper; `size` is the number of fields per bucket (2 … 512,
 * Redis 7.0 keeps a hash compact up to 512 fields by default).
 *
 * @example
 * ```ts
 * import * as NumericBucketing from "./NumericBucketing.ts"
 * const bucket = NumericBucketing.byNumber({ size: 128 })
 * bucket("user:1000") // CacheKey.hash("user:#7", "104")
 * bucket("settings") // "settings"
 * ```
 */
export const byNumber = (options: { readonly size: number }): (key: string) => CacheKey.CacheKey => {
  const size = options.size
  if (!Number.isInteger(size) || size < 2 || size > 512) {
    throw new RangeError(`NumericBucketing.byNumber: size must be an integer in 2..512, got ${size}`)
  }
  return (key) => {
    const match = TRAILING_NUMBER.exec(key)
    if (match === null) return key
    // Both groups always participate in a match of this pattern.
    const prefix = match[1] as string
    const digits = match[2] as string
    if (digits.length > 1 && digits.startsWith("0")) return key
    const n = Number(digits)
    if (!Number.isSafeInteger(n)) return key
    return CacheKey.hash(`${prefix}#${Math.floor(n / size)}`, String(n % size))
  }
}
