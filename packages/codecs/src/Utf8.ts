/**
 * Strings stored as their UTF-8 bytes, nothing else.
 *
 * @since 0.1.0
 */
import { Codec, type CodecShape, DecodeError, EncodeError } from "@dogpile-effect/core"
import { Effect, type Layer, Predicate } from "effect"
import { isWellFormed } from "./Representable.ts"

const textEncoder = new TextEncoder()
const textDecoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true })

/**
 * The UTF-8 string codec: a string is stored as exactly its UTF-8 bytes (no
 * quotes, no header), which other languages and `redis-cli` read as-is.
 * Anything that is not a string, and strings with lone surrogates, are
 * rejected at encode; bytes that are not valid UTF-8 fail to decode.
 *
 * @example
 * ```ts
 * import { Utf8 } from "@dogpile-effect/codecs"
 * import { Effect } from "effect"
 * Effect.runSync(Utf8.codec.encode("mellifluous")) // 11 bytes
 * ```
 *
 * @since 0.1.0
 */
export const codec: CodecShape = {
  name: "utf8",
  encode: (value) => {
    if (!Predicate.isString(value)) {
      return Effect.fail(new EncodeError({ codec: "utf8", reason: `value is a ${typeof value}, not a string` }))
    }
    if (!isWellFormed(value)) {
      return Effect.fail(new EncodeError({ codec: "utf8", reason: "value has a lone surrogate, which UTF-8 cannot carry" }))
    }
    return Effect.succeed(textEncoder.encode(value))
  },
  decode: (bytes) => {
    try {
      return Effect.succeed<unknown>(textDecoder.decode(bytes))
    } catch {
      return Effect.fail(new DecodeError({ codec: "utf8", reason: "bytes are not valid UTF-8" }))
    }
  }
}

/**
 * The UTF-8 string codec as a `Codec` Layer.
 *
 * @example
 * ```ts
 * import { Utf8 } from "@dogpile-effect/codecs"
 * const layer = Utf8.layer
 * ```
 *
 * @since 0.1.0
 */
export const layer: Layer.Layer<Codec> = Codec.layer(codec)
