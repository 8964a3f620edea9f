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
 * @since 0.1.0
 */
import { Codec, type CodecShape, DecodeError, EncodeError } from "@dogpile-effect/core"
import { Effect, type Layer } from "effect"
import * as Cbor from "./Cbor.ts"
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

const tagged = (value: unknown): Effect.Effect<Uint8Array, EncodeError> => {
  const body = Cbor.encodeUnsafe(value)
  if (typeof body === "string") return Effect.fail(new EncodeError({ codec: "integer-aware", reason: body }))
  const out = new Uint8Array(body.length + 1)
  out[0] = TAG
  out.set(body, 1)
  return Effect.succeed(out)
}

const ascii = (text: string): Uint8Array => textEncoder.encode(text)

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
export const codec: CodecShape = {
  name: "integer-aware",
  encode: (value) => {
    switch (typeof value) {
      case "number":
        return Number.isSafeInteger(value) && !Object.is(value, -0) ? Effect.succeed(ascii(String(value))) : tagged(value)
      case "bigint":
        return value > BigInt(Number.MAX_SAFE_INTEGER) || value < BigInt(Number.MIN_SAFE_INTEGER)
          ? Effect.succeed(ascii(value.toString()))
          : tagged(value)
      case "string":
        if (canonicalInteger.test(value)) return tagged(value)
        return isWellFormed(value)
          ? Effect.succeed(textEncoder.encode(value))
          : Effect.fail(
            new EncodeError({ codec: "integer-aware", reason: "value has a lone surrogate, which UTF-8 cannot carry" })
          )
      default:
        return tagged(value)
    }
  },
  decode: (bytes) => {
    if (bytes.length === 0) return Effect.succeed("")
    if (bytes[0] === TAG) {
      const out = Cbor.decodeUnsafe(bytes.subarray(1), "integer-aware")
      return out instanceof DecodeError ? Effect.fail(out) : Effect.succeed(out)
    }
    let text: string
    try {
      text = textDecoder.decode(bytes)
    } catch {
      return Effect.fail(new DecodeError({ codec: "integer-aware", reason: "bytes are neither tagged CBOR nor valid UTF-8" }))
    }
    if (!canonicalInteger.test(text)) return Effect.succeed(text)
    const n = Number(text)
    return Effect.succeed(Number.isSafeInteger(n) ? n : BigInt(text))
  }
}

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
