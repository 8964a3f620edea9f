/**
 * Resource limits of the structured codecs (CBOR, MessagePack, integer-aware):
 * how large, how deep and how many values one stored byte string may hold.
 * Decoding refuses input beyond a limit with a `DecodeError` before it builds
 * anything, and encoding refuses to write a value beyond it with an
 * `EncodeError`, so a codec never stores what it would refuse to read.
 *
 * Core's JSON codec applies the same defaults, fixed.
 *
 * @since 0.1.0
 */
import { InvalidOptionError, Options } from "@dogpile-effect/core"
import { Effect } from "effect"

/**
 * Limits one codec applies to every encode and decode. Each is optional; see
 * {@link defaults} for the value used when it is left out.
 *
 * @example
 * ```ts
 * import type { Limits } from "@dogpile-effect/codecs"
 * const small: Limits.CodecLimits = { maxBytes: 1024 * 1024, maxDepth: 64 }
 * ```
 *
 * @category models
 * @since 0.1.0
 */
export interface CodecLimits {
  /** Longest encoded value, in bytes. Default 16 MiB; 1 to 512 MiB (Redis' largest string). */
  readonly maxBytes?: number | undefined
  /** Deepest nesting of arrays, objects, Maps and Sets. Default 512; 1 to 1024. */
  readonly maxDepth?: number | undefined
  /**
   * Most values in one stored value: the top-level value, every array or Set
   * element and every Map or object entry, each counted once (keys of plain
   * objects are not counted). Default 1,000,000; at least 1.
   */
  readonly maxItems?: number | undefined
  /**
   * Largest BigInt magnitude, in bytes (CBOR tags 2 and 3; in the
   * integer-aware text form, the same size in decimal digits). cbor-x converts
   * bignums in time quadratic in their size. Default 128 (1024 bits); 8 to 1024.
   */
  readonly maxBignumBytes?: number | undefined
}

/**
 * Limits with every value present, as the codecs use them.
 *
 * @category models
 * @since 0.1.0
 */
export type Resolved = { readonly [K in keyof CodecLimits]-?: number }

/**
 * The default limits: 16 MiB, 512 levels, 1,000,000 values and 128-byte
 * (1024-bit) bignums per stored value.
 *
 * @example
 * ```ts
 * import { Limits } from "@dogpile-effect/codecs"
 * Limits.defaults.maxDepth // 512
 * ```
 *
 * @category constants
 * @since 0.1.0
 */
export const defaults: Resolved = {
  maxBytes: 16 * 1024 * 1024,
  maxDepth: 512,
  maxItems: 1_000_000,
  maxBignumBytes: 128
}

/**
 * The largest `maxBytes` accepted: 512 MiB, the largest string Redis stores.
 *
 * @category constants
 * @since 0.1.0
 */
export const maxBytesCeiling = 512 * 1024 * 1024

/**
 * Validates `limits` and fills in the {@link defaults}, failing with an
 * `InvalidOptionError` naming `component` and the option for a value that is
 * not an integer or is outside its range.
 *
 * @example
 * ```ts
 * import { Limits } from "@dogpile-effect/codecs"
 * import { Effect } from "effect"
 * Effect.runSync(Limits.make("Cbor", { maxDepth: 64 })) // { maxBytes: 16777216, maxDepth: 64, ... }
 * ```
 *
 * @category constructors
 * @since 0.1.0
 */
export const make = Effect.fnUntraced(function*(
  component: string,
  limits?: CodecLimits
): Effect.fn.Return<Resolved, InvalidOptionError> {
  if (limits !== undefined && (typeof limits !== "object" || limits === null)) {
    return yield* new InvalidOptionError({ component, option: "limits", reason: `must be an object, got ${String(limits)}` })
  }
  for (const key of Object.keys(limits ?? {})) {
    yield* Options.reject(component, key, !Object.hasOwn(defaults, key), "is not a limit (maxBytes, maxDepth, maxItems, maxBignumBytes)")
  }
  return {
    maxBytes: yield* Options.integer(component, "maxBytes", limits?.maxBytes, defaults.maxBytes, {
      min: 1,
      max: maxBytesCeiling
    }),
    maxDepth: yield* Options.integer(component, "maxDepth", limits?.maxDepth, defaults.maxDepth, { min: 1, max: 1024 }),
    maxItems: yield* Options.integer(component, "maxItems", limits?.maxItems, defaults.maxItems, { min: 1 }),
    maxBignumBytes: yield* Options.integer(
      component,
      "maxBignumBytes",
      limits?.maxBignumBytes,
      defaults.maxBignumBytes,
      { min: 8, max: 1024 }
    )
  }
})

/**
 * Byte length of a BigInt's magnitude (0 for `0n`), computed from its
 * hexadecimal form, which V8 produces in linear time.
 *
 * @example
 * ```ts
 * import { Limits } from "@dogpile-effect/codecs"
 * Limits.bignumBytes(2n ** 64n) // 9
 * ```
 *
 * @category utils
 * @since 0.1.0
 */
export const bignumBytes = (value: bigint): number => {
  if (value === 0n) return 0
  const hex = (value < 0n ? -value : value).toString(16)
  return Math.ceil(hex.length / 2)
}

/**
 * Most decimal digits of a BigInt of `bytes` bytes: `ceil(bytes × log10(256))`.
 *
 * @example
 * ```ts
 * import { Limits } from "@dogpile-effect/codecs"
 * Limits.decimalDigits(128) // 309
 * ```
 *
 * @category utils
 * @since 0.1.0
 */
export const decimalDigits = (bytes: number): number => Math.ceil(bytes * Math.log10(256))
