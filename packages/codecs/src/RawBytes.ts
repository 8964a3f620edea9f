/**
 * Bytes stored as they are.
 *
 * @since 0.1.0
 */
import { Codec, type CodecShape, EncodeError } from "@dogpile-effect/core"
import { Effect, type Layer } from "effect"

/**
 * The raw bytes codec: a `Uint8Array` (or Buffer) is stored unchanged and read
 * back as a fresh `Uint8Array` copy. Anything else is rejected at encode.
 * Every byte string decodes, so this codec never reports a decode failure.
 *
 * @example
 * ```ts
 * import { RawBytes } from "@dogpile-effect/codecs"
 * import { Effect } from "effect"
 * Effect.runSync(RawBytes.codec.encode(new Uint8Array([1, 2, 3]))) // the same 3 bytes
 * ```
 *
 * @since 0.1.0
 */
export const codec: CodecShape = {
  name: "bytes",
  encode: (value) =>
    value instanceof Uint8Array
      ? Effect.succeed(new Uint8Array(value))
      : Effect.fail(
        new EncodeError({
          codec: "bytes",
          reason: `value is ${value === null ? "null" : `a ${typeof value}`}, not a Uint8Array`
        })
      ),
  decode: (bytes) => Effect.succeed(new Uint8Array(bytes))
}

/**
 * The raw bytes codec as a `Codec` Layer.
 *
 * @example
 * ```ts
 * import { RawBytes } from "@dogpile-effect/codecs"
 * const layer = RawBytes.layer
 * ```
 *
 * @since 0.1.0
 */
export const layer: Layer.Layer<Codec> = Codec.layer(codec)
