/**
 * Overflow of large values: a value longer than the listpack value limit is
 * stored in a plain key next to its bucket (same Cluster slot), and the field
 * holds a marker, so one large value never converts a whole bucket from a
 * compact listpack to a hashtable.
 *
 * @since 0.1.0
 */
import * as Slot from "./Slot.ts"

/**
 * The value kept in a field whose real value lives in its overflow key. A real
 * value equal to it is itself stored in the overflow key, so reading the
 * marker from a field always means "look in the overflow key".
 *
 * @example
 * ```ts
 * import * as Overflow from "./Overflow.ts" // internal to @dogpile-effect/hstore
 * Overflow.MARKER.length // 16
 * ```
 *
 * @category constants
 * @since 0.1.0
 */
export const MARKER = "\u0000hstore:overflow"

const markerBytes = Buffer.from(MARKER, "utf8")

/**
 * The key holding the value of `hash[field]` when it overflowed, in the same
 * Cluster slot as the bucket (see `Slot.colocated`).
 *
 * @example
 * ```ts
 * import * as Overflow from "./Overflow.ts" // internal to @dogpile-effect/hstore
 * Overflow.key("user:12345", "67") // "{user:12345}\u0000o:67"
 * ```
 *
 * @category keys
 * @since 0.1.0
 */
export const key = (hash: string, field: string): string => Slot.colocated(hash, "\u0000o:") + field

/**
 * Whether stored field bytes are the marker.
 *
 * @example
 * ```ts
 * import * as Overflow from "./Overflow.ts" // internal to @dogpile-effect/hstore
 * Overflow.isMarker(Buffer.from(Overflow.MARKER)) // true
 * ```
 *
 * @category predicates
 * @since 0.1.0
 */
export const isMarker = (bytes: Uint8Array): boolean =>
  bytes.length === markerBytes.length && markerBytes.equals(bytes)

/**
 * Whether a value must go to its overflow key: longer than `above` bytes, or
 * equal to the marker (so the marker in a field is never ambiguous).
 *
 * @example
 * ```ts
 * import * as Overflow from "./Overflow.ts" // internal to @dogpile-effect/hstore
 * Overflow.needed(Buffer.alloc(65), 64) // true
 * ```
 *
 * @category predicates
 * @since 0.1.0
 */
export const needed = (value: Uint8Array, above: number): boolean => value.length > above || isMarker(value)

/**
 * The marker as bytes, for the write script.
 *
 * @example
 * ```ts
 * import * as Overflow from "./Overflow.ts" // internal to @dogpile-effect/hstore
 * Overflow.markerValue().toString() === Overflow.MARKER // true
 * ```
 *
 * @category constants
 * @since 0.1.0
 */
export const markerValue = (): Buffer => markerBytes
