/**
 * An encoding that keeps integers and strings readable by Redis (and by
 * people using `redis-cli`), falling back to tagged CBOR for everything else.
 *
 * Byte layout of a stored value (the whole value, no other header):
 *
 * | first byte(s)                         | meaning                                    |
 * |---------------------------------------|--------------------------------------------|
 * | (no bytes)                            | the empty string `""`                      |
 * | `0xFF`, then CBOR                     | any other value, as the CBOR codec writes it |
 * | ASCII matching `0` or `-?[1-9][0-9]*` | an integer: a number when it is a safe integer, else a BigInt |
 * | any other valid UTF-8                 | that string                                |
 *
 * `0xFF` never begins valid UTF-8, so the three non-empty forms cannot be
 * confused. Writing picks exactly one form per value: safe integers (not -0)
 * and BigInts outside the safe range as canonical decimal text (no leading
 * zeros, no `+`, no `-0`, which is the form Redis stores as an integer);
 * strings that do not look like canonical integers as their UTF-8 bytes;
 * everything else, including strings such as `"42"` and BigInts such as `42n`,
 * as `0xFF` + CBOR. The value domain is the CBOR codec's.
 *
 * Redis can only store the text forms compactly when the stored bytes are
 * exactly these bytes: use this codec with the `raw` envelope (or in hash
 * fields), since the full and compact envelopes add a binary header.
 *
 * The CBOR codec's {@link Limits} apply to the tagged form; in the text form,
 * `maxBytes` bounds the text and `maxBignumBytes` the number of digits of an
 * integer (`ceil(maxBignumBytes × log10(256))`, 309 by default), so the text
 * is never converted to a BigInt in more than linear time.
 *
 * @since 0.1.0
 */
import { Codec, type CodecShape, DecodeError, EncodeError, type InvalidOptionError } from "@dogpile-effect/core"
import { Effect, Layer } from "effect"
import * as Cbor from "./Cbor.ts"
import * as Limits from "./Limits.ts"
import { isWellFormed } from "./Representable.ts"

/**
 * The byte that marks a CBOR-encoded value (it never begins valid UTF-8).
 *
 * @example
 * ```ts
 * import { IntegerAware } from "@dogpile-effect/codecs"
 * const tagged = (bytes: Uint8Array) => bytes[0] === IntegerAware.TAG
 * ```
 *
 * @since 0.1.0
 */
export const TAG = 0xff

const canonicalInteger = /^(?:0|-?[1-9][0-9]*)$/
const textEncoder = new TextEncoder()
const textDecoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true })

const fail = (reason: string) => Effect.fail(new EncodeError({ codec: "integer-aware", reason }))
const refuse = (reason: string) => Effect.fail(new DecodeError({ codec: "integer-aware", reason }))

const tagged = (value: unknown, limits: Limits.Resolved): Effect.Effect<Uint8Array, EncodeError> => {
  const body = Cbor.encodeUnsafe(value, limits)
  if (typeof body === "string") return fail(body)
  if (body.length + 1 > limits.maxBytes) {
    return fail(`value encodes to ${body.length + 1} bytes, more than maxBytes (${limits.maxBytes})`)
  }
  const out = new Uint8Array(body.length + 1)
  out[0] = TAG
  out.set(body, 1)
  return Effect.succeed(out)
}

const ascii = (text: string): Uint8Array => textEncoder.encode(text)

const text = (value: string, limits: Limits.Resolved): Effect.Effect<Uint8Array, EncodeError> => {
  if (!isWellFormed(value)) return fail("value has a lone surrogate, which UTF-8 cannot carry")
  const bytes = textEncoder.encode(value)
  return bytes.length > limits.maxBytes
    ? fail(`value encodes to ${bytes.length} bytes, more than maxBytes (${limits.maxBytes})`)
    : Effect.succeed(bytes)
}

const bigText = (value: bigint, limits: Limits.Resolved): Effect.Effect<Uint8Array, EncodeError> =>
  Limits.bignumBytes(value) > limits.maxBignumBytes
    ? fail(`value is a BigInt longer than maxBignumBytes (${limits.maxBignumBytes} bytes)`)
    : Effect.succeed(ascii(value.toString()))

const encodeWith = (limits: Limits.Resolved) => (value: unknown): Effect.Effect<Uint8Array, EncodeError> => {
  switch (typeof value) {
    case "number":
      return Number.isSafeInteger(value) && !Object.is(value, -0)
        ? Effect.succeed(ascii(String(value)))
        : tagged(value, limits)
    case "bigint":
      return value > BigInt(Number.MAX_SAFE_INTEGER) || value < BigInt(Number.MIN_SAFE_INTEGER)
        ? bigText(value, limits)
        : tagged(value, limits)
    case "string":
      return canonicalInteger.test(value) ? tagged(value, limits) : text(value, limits)
    default:
      return tagged(value, limits)
  }
}

const decodeWith = (limits: Limits.Resolved) => {
  const maxDigits = Limits.decimalDigits(limits.maxBignumBytes)
  return (bytes: Uint8Array): Effect.Effect<unknown, DecodeError> => {
    if (bytes.length === 0) return Effect.succeed("")
    if (bytes.length > limits.maxBytes) {
      return refuse(`${bytes.length} bytes is more than maxBytes (${limits.maxBytes})`)
    }
    if (bytes[0] === TAG) {
      const out = Cbor.decodeUnsafe(bytes.subarray(1), "integer-aware", limits)
      return out instanceof DecodeError ? Effect.fail(out) : Effect.succeed(out)
    }
    let text: string
    try {
      text = textDecoder.decode(bytes)
    } catch {
      return refuse("bytes are neither tagged CBOR nor valid UTF-8")
    }
    if (!canonicalInteger.test(text)) return Effect.succeed(text)
    const n = Number(text)
    if (Number.isSafeInteger(n)) return Effect.succeed(n)
    const digits = text.length - (text.startsWith("-") ? 1 : 0)
    return digits > maxDigits
      ? refuse(`an integer of ${digits} digits is longer than maxBignumBytes (${limits.maxBignumBytes} bytes)`)
      : Effect.succeed(BigInt(text))
  }
}

const fromLimits = (limits: Limits.Resolved): CodecShape => ({
  name: "integer-aware",
  encode: encodeWith(limits),
  decode: decodeWith(limits)
})

/**
 * The integer-aware codec (see the module documentation for the byte layout).
 *
 * @example
 * ```ts
 * import { IntegerAware } from "@dogpile-effect/codecs"
 * import { Effect } from "effect"
 *
 * Effect.runSync(IntegerAware.codec.encode(1000)) // the 4 ASCII bytes "1000"
 * Effect.runSync(IntegerAware.codec.encode("a")) // the 1 byte "a"
 * Effect.runSync(IntegerAware.codec.encode("42")) // 0xFF + CBOR text "42"
 * ```
 *
 * @since 0.1.0
 */
export const codec: CodecShape = fromLimits(Limits.defaults)

/**
 * The integer-aware codec with other {@link Limits}, validated: an invalid
 * limit fails with an `InvalidOptionError`.
 *
 * @example
 * ```ts
 * import { IntegerAware } from "@dogpile-effect/codecs"
 * import { Effect } from "effect"
 *
 * const program = Effect.gen(function*() {
 *   const codec = yield* IntegerAware.make({ maxBignumBytes: 16 })
 *   return yield* codec.encode(2n ** 200n) // EncodeError: longer than maxBignumBytes
 * })
 * ```
 *
 * @category constructors
 * @since 0.1.0
 */
export const make = (limits?: Limits.CodecLimits): Effect.Effect<CodecShape, InvalidOptionError> =>
  Effect.map(Limits.make("IntegerAware", limits), fromLimits)

/**
 * The integer-aware codec as a `Codec` Layer.
 *
 * @example
 * ```ts
 * import { IntegerAware } from "@dogpile-effect/codecs"
 * const layer = IntegerAware.layer
 * ```
 *
 * @since 0.1.0
 */
export const layer: Layer.Layer<Codec> = Codec.layer(codec)

/**
 * The integer-aware codec with other {@link Limits} as a `Codec` Layer;
 * building it fails with an `InvalidOptionError` for an invalid limit.
 *
 * @example
 * ```ts
 * import { IntegerAware } from "@dogpile-effect/codecs"
 * const layer = IntegerAware.layerWith({ maxBignumBytes: 32 })
 * ```
 *
 * @category layers
 * @since 0.1.0
 */
export const layerWith = (limits: Limits.CodecLimits): Layer.Layer<Codec, InvalidOptionError> =>
  Layer.effect(Codec, make(limits))
