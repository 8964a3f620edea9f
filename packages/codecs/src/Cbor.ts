/**
 * CBOR (RFC 8949) through cbor-x, restricted to a safe profile.
 *
 * @since 0.1.0
 */
import { Codec, type CodecShape, DecodeError, EncodeError, type InvalidOptionError } from "@dogpile-effect/core"
import { Effect, Layer } from "effect"
import * as CborProfile from "./CborProfile.ts"
import * as Limits from "./Limits.ts"
import { cborX, memoByPeer } from "./OptionalPeers.ts"
import * as Representable from "./Representable.ts"
import { plainView } from "./PlainBytes.ts"

// Built on first use (not at import), so that `@dogpile-effect/codecs/cbor`
// can provide a bundled cbor-x after this module is evaluated.
const encoder = memoByPeer(cborX, ({ Encoder }) =>
  new Encoder({
    useRecords: false,
    mapsAsObjects: true,
    variableMapSize: true,
    structuredClone: false,
    pack: false,
    tagUint8Array: false,
    useToJSON: false,
    largeBigIntToFloat: false,
    useSelfDescribedHeader: false
  }))

const decoder = memoByPeer(cborX, ({ Decoder }) => new Decoder({ useRecords: false, mapsAsObjects: true, copyBuffers: true }))

const message = (error: unknown): string => (error instanceof Error ? error.message : String(error))

/**
 * Whether cbor-x found its native string extractor (`cbor-extract`). When it
 * is installed cbor-x uses it for decoding strings; otherwise it decodes in pure
 * JavaScript with the same results.
 *
 * @example
 * ```ts
 * import { Cbor } from "@dogpile-effect/codecs"
 * console.log(Cbor.nativeAcceleration)
 * ```
 *
 * @since 0.1.0
 */
export const nativeAcceleration: boolean = cborX().isNativeAccelerationEnabled

/**
 * Encodes a value of the {@link Representable.cbor} domain within `limits`
 * (default {@link Limits.defaults}) outside Effect, throwing nothing: the
 * result is the bytes or the reason the value was refused. Shared by
 * {@link codec} and the integer-aware codec.
 *
 * @example
 * ```ts
 * import { Cbor } from "@dogpile-effect/codecs"
 * Cbor.encodeUnsafe(new Set([1])) // Uint8Array d9 01 02 81 01
 * Cbor.encodeUnsafe(() => 1) // "value is a function, which no codec stores"
 * ```
 *
 * @since 0.1.0
 */
export const encodeUnsafe = (value: unknown, limits: Limits.Resolved = Limits.defaults): Uint8Array | string => {
  const problem = Representable.problem(value, Representable.cbor, limits)
  if (problem !== undefined) return problem
  let bytes: Uint8Array
  try {
    bytes = encoder().encode(value)
  } catch (error) {
    return message(error)
  }
  return bytes.length > limits.maxBytes
    ? `value encodes to ${bytes.length} bytes, more than maxBytes (${limits.maxBytes})`
    : bytes
}

/**
 * Decodes bytes of the safe profile within `limits` (default
 * {@link Limits.defaults}) outside Effect, throwing nothing: the result is the
 * value or a {@link DecodeError} naming `codec`.
 *
 * @example
 * ```ts
 * import { Cbor } from "@dogpile-effect/codecs"
 * Cbor.decodeUnsafe(new Uint8Array([0x01]), "cbor") // 1
 * ```
 *
 * @since 0.1.0
 */
export const decodeUnsafe = (
  bytes: Uint8Array,
  codec: string,
  limits: Limits.Resolved = Limits.defaults
): unknown => {
  const refused = CborProfile.refusal(bytes, limits)
  if (refused !== undefined) return new DecodeError({ codec, reason: refused })
  try {
    return decoder().decode(plainView(bytes))
  } catch (error) {
    return new DecodeError({ codec, reason: message(error) })
  }
}

const fromLimits = (limits: Limits.Resolved): CodecShape => ({
  name: "cbor",
  encode: (value) => {
    const out = encodeUnsafe(value, limits)
    return typeof out === "string" ? Effect.fail(new EncodeError({ codec: "cbor", reason: out })) : Effect.succeed(out)
  },
  decode: (bytes) => {
    const out = decodeUnsafe(bytes, "cbor", limits)
    return out instanceof DecodeError ? Effect.fail(out) : Effect.succeed(out)
  }
})

/**
 * The CBOR codec, with the default {@link Limits}. Round-trips strings,
 * numbers (including NaN and ±Infinity, but not -0), booleans, null,
 * undefined, BigInt (up to `maxBignumBytes`), valid Dates, Uint8Array, Map,
 * Set, dense arrays and plain objects; rejects everything else at encode time.
 * Decoding admits only the items this codec writes (see {@link CborProfile}),
 * so no record, class or shared-structure extension runs on stored bytes, and
 * refuses input beyond the limits before decoding it.
 *
 * @example
 * ```ts
 * import { Cbor } from "@dogpile-effect/codecs"
 * import { Effect } from "effect"
 *
 * const program = Effect.gen(function*() {
 *   const bytes = yield* Cbor.codec.encode(new Map([[1n, new Date(0)]]))
 *   return yield* Cbor.codec.decode(bytes) // Map { 1n => 1970-01-01T00:00:00.000Z }
 * })
 * ```
 *
 * @since 0.1.0
 */
export const codec: CodecShape = fromLimits(Limits.defaults)

/**
 * The CBOR codec with other {@link Limits}, validated: an invalid limit fails
 * with an `InvalidOptionError`.
 *
 * @example
 * ```ts
 * import { Cbor } from "@dogpile-effect/codecs"
 * import { Effect } from "effect"
 *
 * const program = Effect.gen(function*() {
 *   const codec = yield* Cbor.make({ maxBytes: 1024 * 1024, maxBignumBytes: 32 })
 *   return yield* codec.encode(2n ** 300n) // EncodeError: longer than maxBignumBytes
 * })
 * ```
 *
 * @category constructors
 * @since 0.1.0
 */
export const make = (limits?: Limits.CodecLimits): Effect.Effect<CodecShape, InvalidOptionError> =>
  Effect.map(Limits.make("Cbor", limits), fromLimits)

/**
 * The CBOR codec as a `Codec` Layer.
 *
 * @example
 * ```ts
 * import { Cbor } from "@dogpile-effect/codecs"
 * import { Codec } from "@dogpile-effect/core"
 * import { Effect } from "effect"
 *
 * const program = Effect.gen(function*() {
 *   const codec = yield* Codec
 *   return yield* codec.encode([1, 2n])
 * })
 * Effect.runSync(Effect.provide(program, Cbor.layer))
 * ```
 *
 * @since 0.1.0
 */
export const layer: Layer.Layer<Codec> = Codec.layer(codec)

/**
 * The CBOR codec with other {@link Limits} as a `Codec` Layer; building it
 * fails with an `InvalidOptionError` for an invalid limit.
 *
 * @example
 * ```ts
 * import { Cbor } from "@dogpile-effect/codecs"
 * const layer = Cbor.layerWith({ maxBytes: 4 * 1024 * 1024 })
 * ```
 *
 * @category layers
 * @since 0.1.0
 */
export const layerWith = (limits: Limits.CodecLimits): Layer.Layer<Codec, InvalidOptionError> =>
  Layer.effect(Codec, make(limits))
