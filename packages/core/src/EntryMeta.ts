/**
 * Optional metadata stored in front of an envelope: the entry's tags, how
 * long its creator took (for early refresh), and an expiration the creator
 * chose for this value. Entries without any of them are stored unchanged, so
 * the header costs nothing unless it is used.
 *
 * Layout: `0xFD`, a flags byte, then in flag order: the creator's duration in
 * ms (uint32, flag 1), the entry's own expiration in ms (float64, flag 2), the
 * tags (flag 4: a count byte, then per tag a uint16 length and its UTF-8
 * bytes), the creator's validator for a conditional refresh (flag 8: a uint16
 * length and its UTF-8 bytes, at most {@link MAX_VALIDATOR_BYTES}). `0xFD`
 * starts no envelope that stores a creation time (full `0xFE`, compact `0xFC`,
 * packed: a digit or `0xFC`), and metadata needs one.
 *
 * @since 0.1.0
 */
import type { Duration } from "effect"
import { Option } from "effect"

/**
 * The metadata of one entry.
 *
 * @example
 * ```ts
 * import type { EntryMeta } from "@dogpile-effect/core"
 * const meta: EntryMeta.EntryMeta = { tags: ["user:1"], computeMs: 120 }
 * ```
 *
 * @category models
 * @since 0.1.0
 */
export interface EntryMeta {
  readonly tags?: ReadonlyArray<string> | undefined
  /** How long the creator took, in ms (XFetch's δ). */
  readonly computeMs?: number | undefined
  /** The expiration the creator chose for this value, in ms; the region's otherwise. */
  readonly expirationMs?: number | undefined
  /**
   * What a conditional creator stored to revalidate this value later (an HTTP `ETag`, a row
   * version): handed back to it with the entry (`Conditional`), opaque to the region.
   */
  readonly validator?: string | undefined
}

/**
 * The empty metadata.
 *
 * @example
 * ```ts
 * import { EntryMeta } from "@dogpile-effect/core"
 * EntryMeta.empty // {}
 * ```
 *
 * @category constructors
 * @since 0.1.0
 */
export const empty: EntryMeta = {}

/**
 * The most tags one entry may carry, and the longest tag in UTF-16 code units.
 *
 * @example
 * ```ts
 * import { EntryMeta } from "@dogpile-effect/core"
 * EntryMeta.MAX_TAGS // 64
 * ```
 *
 * @category constants
 * @since 0.1.0
 */
export const MAX_TAGS = 64

/**
 * The longest tag, in UTF-16 code units.
 *
 * @example
 * ```ts
 * import { EntryMeta } from "@dogpile-effect/core"
 * EntryMeta.MAX_TAG_LENGTH // 256
 * ```
 *
 * @category constants
 * @since 0.1.0
 */
export const MAX_TAG_LENGTH = 256

/**
 * The longest validator an entry may carry, in UTF-8 bytes (ETags and row versions are far shorter).
 *
 * @example
 * ```ts
 * import { EntryMeta } from "@dogpile-effect/core"
 * EntryMeta.MAX_VALIDATOR_BYTES // 1024
 * ```
 *
 * @category constants
 * @since 0.1.0
 */
export const MAX_VALIDATOR_BYTES = 1024

const MAGIC = 0xfd
const COMPUTE = 1
const EXPIRATION = 2
const TAGS = 4
const VALIDATOR = 8
const encoder = new TextEncoder()
const decoder = new TextDecoder("utf-8", { fatal: true })

/**
 * Whether there is anything to store.
 *
 * @example
 * ```ts
 * import { EntryMeta } from "@dogpile-effect/core"
 * EntryMeta.isEmpty({}) // true
 * ```
 *
 * @category predicates
 * @since 0.1.0
 */
export const isEmpty = (meta: EntryMeta): boolean =>
  (meta.tags === undefined || meta.tags.length === 0) && meta.computeMs === undefined &&
  meta.expirationMs === undefined && meta.validator === undefined

/**
 * Puts the metadata in front of an envelope's bytes (or returns them as they
 * are when there is none).
 *
 * @example
 * ```ts
 * import { EntryMeta } from "@dogpile-effect/core"
 * EntryMeta.wrap({ computeMs: 5 }, new Uint8Array([0xfe]))[0] // 0xfd
 * ```
 *
 * @category encoding
 * @since 0.1.0
 */
export const wrap = (meta: EntryMeta, inner: Uint8Array): Uint8Array => {
  if (isEmpty(meta)) return inner
  const tags = (meta.tags ?? []).map((tag) => encoder.encode(tag))
  let flags = 0
  let size = 2
  if (meta.computeMs !== undefined) (flags |= COMPUTE, size += 4)
  if (meta.expirationMs !== undefined) (flags |= EXPIRATION, size += 8)
  if (tags.length > 0) (flags |= TAGS, size += 1 + tags.reduce((n, t) => n + 2 + t.length, 0))
  const validator = meta.validator === undefined ? undefined : encoder.encode(meta.validator)
  if (validator !== undefined) (flags |= VALIDATOR, size += 2 + validator.length)
  const out = new Uint8Array(size + inner.length)
  const view = new DataView(out.buffer)
  out[0] = MAGIC
  out[1] = flags
  let at = 2
  if (meta.computeMs !== undefined) {
    view.setUint32(at, Math.min(Math.max(0, Math.round(meta.computeMs)), 0xffffffff))
    at += 4
  }
  if (meta.expirationMs !== undefined) {
    view.setFloat64(at, meta.expirationMs)
    at += 8
  }
  if (tags.length > 0) {
    out[at++] = tags.length
    for (const tag of tags) {
      view.setUint16(at, tag.length)
      out.set(tag, at + 2)
      at += 2 + tag.length
    }
  }
  if (validator !== undefined) {
    view.setUint16(at, validator.length)
    out.set(validator, at + 2)
    at += 2 + validator.length
  }
  out.set(inner, at)
  return out
}

/**
 * Splits stored bytes into their metadata and the envelope's bytes. `None`
 * for a malformed header (a miss, like any undecodable value). Parsing is
 * bounded by the input: every length is checked against what is left.
 *
 * @example
 * ```ts
 * import { EntryMeta } from "@dogpile-effect/core"
 * EntryMeta.unwrap(new Uint8Array([0xfe, 1])) // Some({ meta: {}, inner })
 * ```
 *
 * @category decoding
 * @since 0.1.0
 */
export const unwrap = (bytes: Uint8Array): Option.Option<{ readonly meta: EntryMeta; readonly inner: Uint8Array }> => {
  if (bytes[0] !== MAGIC) return Option.some({ meta: empty, inner: bytes })
  if (bytes.length < 2) return Option.none()
  const flags = bytes[1]!
  if ((flags & ~(COMPUTE | EXPIRATION | TAGS | VALIDATOR)) !== 0) return Option.none()
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  let at = 2
  let computeMs: number | undefined
  let expirationMs: number | undefined
  let tags: Array<string> | undefined
  if (flags & COMPUTE) {
    if (at + 4 > bytes.length) return Option.none()
    computeMs = view.getUint32(at)
    at += 4
  }
  if (flags & EXPIRATION) {
    if (at + 8 > bytes.length) return Option.none()
    expirationMs = view.getFloat64(at)
    at += 8
    if (!(expirationMs > 0)) return Option.none()
  }
  if (flags & TAGS) {
    if (at + 1 > bytes.length) return Option.none()
    const count = bytes[at++]!
    if (count === 0 || count > MAX_TAGS) return Option.none()
    tags = []
    for (let i = 0; i < count; i++) {
      if (at + 2 > bytes.length) return Option.none()
      const length = view.getUint16(at)
      at += 2
      if (at + length > bytes.length || length > MAX_TAG_LENGTH * 3) return Option.none()
      try {
        tags.push(decoder.decode(bytes.subarray(at, at + length)))
      } catch {
        return Option.none()
      }
      at += length
    }
  }
  let validator: string | undefined
  if (flags & VALIDATOR) {
    if (at + 2 > bytes.length) return Option.none()
    const length = view.getUint16(at)
    at += 2
    if (at + length > bytes.length || length > MAX_VALIDATOR_BYTES) return Option.none()
    try {
      validator = decoder.decode(bytes.subarray(at, at + length))
    } catch {
      return Option.none()
    }
    at += length
  }
  return Option.some({ meta: { tags, computeMs, expirationMs, validator }, inner: bytes.subarray(at) })
}

/**
 * The expiration that applies to an entry: its own when the creator chose one,
 * otherwise `fallbackMs`.
 *
 * @example
 * ```ts
 * import { EntryMeta } from "@dogpile-effect/core"
 * EntryMeta.expirationOf({ expirationMs: 5000 }, 60000) // 5000
 * ```
 *
 * @category getters
 * @since 0.1.0
 */
export const expirationOf = (meta: EntryMeta, fallbackMs: number): number => meta.expirationMs ?? fallbackMs

/**
 * A value with the expiration its creator chose (from an HTTP `Cache-Control`,
 * a token's lifetime...). Return it from a creator via {@link expiresIn}: the
 * envelope, the store TTL and every reader honour it.
 *
 * @example
 * ```ts
 * import { EntryMeta } from "@dogpile-effect/core"
 * const token = EntryMeta.expiresIn("abc", "55 minutes")
 * ```
 *
 * @category models
 * @since 0.1.0
 */
export interface Expiring<A> {
  readonly _tag: "@dogpile-effect/core/Expiring"
  readonly value: A
  /** Validated when the value is stored: an invalid duration fails the creation with `InvalidOptionError`. */
  readonly expiration: Duration.Input
}

/**
 * Wraps a creator's value with its own expiration.
 *
 * @example
 * ```ts
 * import { EntryMeta, Region } from "@dogpile-effect/core"
 * import { Effect } from "effect"
 * const fetchToken = Effect.succeed({ token: "t", expiresInSeconds: 3300 })
 * const creator = Effect.map(fetchToken, (t) => EntryMeta.expiresIn(t.token, `${t.expiresInSeconds} seconds`))
 * // region.getOrCreate("token", creator)
 * ```
 *
 * @category constructors
 * @since 0.1.0
 */
export const expiresIn = <A>(value: A, expiration: Duration.Input): Expiring<A> => ({
  _tag: "@dogpile-effect/core/Expiring",
  value,
  expiration
})

/**
 * Whether a creator's result carries its own expiration. Never throws: a value
 * that throws when inspected (a revoked `Proxy`, a throwing getter) is not an
 * `Expiring`, and its encoding then fails with a typed `EncodeError`.
 *
 * @example
 * ```ts
 * import { EntryMeta } from "@dogpile-effect/core"
 * EntryMeta.isExpiring(EntryMeta.expiresIn(1, "1 minute")) // true
 * ```
 *
 * @category predicates
 * @since 0.1.0
 */
export const isExpiring = (u: unknown): u is Expiring<unknown> => {
  if (typeof u !== "object" || u === null) return false
  try {
    return (u as { _tag?: unknown })._tag === "@dogpile-effect/core/Expiring"
  } catch {
    return false
  }
}
