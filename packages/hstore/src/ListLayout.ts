/**
 * The key layout of `ListBackend`: a key ending in a number `n` is position
 * `n mod size` of the Redis list `prefix#⌊n / size⌋`, and the stored form of
 * a value in a position (empty positions hold the empty string).
 *
 * @since 0.1.0
 */
import * as Bucketing from "./Bucketing.ts"

/**
 * Where a key lives: position `index` of the list `list`.
 *
 * @example
 * ```ts
 * import { ListLayout } from "@dogpile-effect/hstore"
 * const position: ListLayout.Position = { list: "user:#1", index: 234 }
 * ```
 *
 * @category models
 * @since 0.1.0
 */
export interface Position {
  readonly list: string
  readonly index: number
}

/**
 * The default number of positions per list: 1,000. With small values (the
 * demo's integers, 5 bytes each) a list of 1,000 is one or two listpack nodes
 * of Redis' default 8 KB each, and the per-list costs (key, TTL, quicklist
 * header, allocator rounding) come to about half a byte per entry.
 *
 * @example
 * ```ts
 * import { ListLayout } from "@dogpile-effect/hstore"
 * ListLayout.DEFAULT_SIZE // 1000
 * ```
 *
 * @category constants
 * @since 0.1.0
 */
export const DEFAULT_SIZE = 1000

/**
 * The largest number of positions per list: 4,096. A read of one position
 * walks the list's listpack nodes, so longer lists make reads slower.
 *
 * @example
 * ```ts
 * import { ListLayout } from "@dogpile-effect/hstore"
 * ListLayout.MAX_SIZE // 4096
 * ```
 *
 * @category constants
 * @since 0.1.0
 */
export const MAX_SIZE = 4096

/**
 * Whether `size` is a valid number of positions per list (an integer in
 * 2 … {@link MAX_SIZE}).
 *
 * @example
 * ```ts
 * import { ListLayout } from "@dogpile-effect/hstore"
 * ListLayout.isValidSize(1000) // true
 * ListLayout.isValidSize(0) // false
 * ```
 *
 * @category predicates
 * @since 0.1.0
 */
export const isValidSize = (size: unknown): size is number =>
  typeof size === "number" && Number.isInteger(size) && size >= 2 && size <= MAX_SIZE

/**
 * The position of `key` in lists of `size` positions, or `undefined` for a key
 * that stays a plain Redis string (no trailing number, a number with leading
 * zeros, or one beyond 2^53). The same split as `Bucketing.byNumber`, so it
 * is injective: the prefix never ends in a digit, and a list name (always
 * ending in `#` and a canonical number) is never a key that stays plain.
 *
 * @example
 * ```ts
 * import { ListLayout } from "@dogpile-effect/hstore"
 * ListLayout.locate(1000, "users:1234567") // { list: "users:#1234", index: 567 }
 * ListLayout.locate(1000, "settings") // undefined
 * ```
 *
 * @category getters
 * @since 0.1.0
 */
export const locate = (size: number, key: string): Position | undefined => {
  const split = Bucketing.numberSuffix(key)
  return split === undefined
    ? undefined
    : { list: `${split.prefix}#${Math.floor(split.n / size)}`, index: split.n % size }
}

/** First byte of a stored value that is empty or starts with this byte. */
const ESCAPE = 0x00

/**
 * The bytes stored in a position for `value`: the value itself, or `0x00` +
 * the value when it is empty or starts with `0x00`, so that the empty string
 * always means "no entry here" (the filler of positions never written, and
 * what a delete leaves). Integer-looking values keep their form, so Redis
 * stores them as listpack integers.
 *
 * @example
 * ```ts
 * import { ListLayout } from "@dogpile-effect/hstore"
 * ListLayout.toStored(new Uint8Array()) // Uint8Array [0]
 * ListLayout.toStored(new TextEncoder().encode("42")) // the same bytes, "42"
 * ```
 *
 * @category codecs
 * @since 0.1.0
 */
export const toStored = (value: Uint8Array): Uint8Array => {
  if (value.length > 0 && value[0] !== ESCAPE) return value
  const out = new Uint8Array(value.length + 1)
  out[0] = ESCAPE
  out.set(value, 1)
  return out
}

/**
 * The value held in a position: `undefined` for an empty position (or a
 * missing list), else the stored bytes with {@link toStored}'s escape undone.
 *
 * @example
 * ```ts
 * import { ListLayout } from "@dogpile-effect/hstore"
 * ListLayout.fromStored(new Uint8Array()) // undefined
 * ListLayout.fromStored(new Uint8Array([0])) // Uint8Array [] (an empty value)
 * ```
 *
 * @category codecs
 * @since 0.1.0
 */
export const fromStored = (stored: Uint8Array | null | undefined): Uint8Array | undefined => {
  if (stored === null || stored === undefined || stored.length === 0) return undefined
  return stored[0] === ESCAPE ? stored.subarray(1) : stored
}
