/**
 * A wrapper codec that compresses large payloads with `node:zlib`.
 *
 * Byte layout: one flag byte, then the body.
 *
 * | flag   | body                                   |
 * |--------|----------------------------------------|
 * | `0x00` | the inner codec's bytes, uncompressed  |
 * | `0x01` | the inner codec's bytes, deflate-raw   |
 * | `0x02` | the inner codec's bytes, brotli        |
 *
 * A payload is compressed only when the inner bytes are at least `threshold`
 * long and compression actually makes them shorter; otherwise it is stored
 * with flag `0x00`. Either algorithm's output is readable whichever algorithm
 * the writer is configured with, so the choice can change between deploys.
 *
 * @since 0.1.0
 */
import { Codec, type CodecShape, DecodeError } from "@dogpile-effect/core"
import { Effect, type Layer } from "effect"
import * as zlib from "node:zlib"

/**
 * The compression algorithm used on write.
 *
 * @since 0.1.0
 */
export type Algorithm = "deflate-raw" | "brotli"

/**
 * Options of {@link make}.
 *
 * @since 0.1.0
 */
export interface Options {
  /** Compress inner payloads of at least this many bytes. Default 1024. */
  readonly threshold?: number
  /** Default `"deflate-raw"`. */
  readonly algorithm?: Algorithm
  /** zlib level (0-9, default 6) or brotli quality (0-11, default 4). */
  readonly level?: number
  /** Decompressed size above which decoding fails (a compression bomb). Default 64 MiB. */
  readonly maxDecodedBytes?: number
}

const STORED = 0x00
const DEFLATE_RAW = 0x01
const BROTLI = 0x02

const withFlag = (flag: number, body: Uint8Array): Uint8Array => {
  const out = new Uint8Array(body.length + 1)
  out[0] = flag
  out.set(body, 1)
  return out
}

/**
 * Wraps `inner` so that payloads of at least `threshold` bytes are compressed.
 * Decoding is bounded by `maxDecodedBytes`, fails with a {@link DecodeError}
 * on a corrupt or unknown body, and never throws.
 *
 * @example
 * ```ts
 * import { Compressed, Msgpack } from "@dogpile-effect/codecs"
 * import { Effect } from "effect"
 *
 * const codec = Compressed.make(Msgpack.codec, { threshold: 1024, algorithm: "deflate-raw" })
 * const bytes = Effect.runSync(codec.encode({ text: "x".repeat(10_000) })) // 42 bytes
 * ```
 *
 * @since 0.1.0
 */
export const make = (inner: CodecShape, options?: Options): CodecShape => {
  const threshold = options?.threshold ?? 1024
  const algorithm = options?.algorithm ?? "deflate-raw"
  const maxOutputLength = options?.maxDecodedBytes ?? 64 * 1024 * 1024
  const name = `${algorithm}(${inner.name})`
  const compress = algorithm === "brotli"
    ? (bytes: Uint8Array) =>
      zlib.brotliCompressSync(bytes, {
        params: {
          [zlib.constants.BROTLI_PARAM_QUALITY]: options?.level ?? 4,
          [zlib.constants.BROTLI_PARAM_SIZE_HINT]: bytes.length
        }
      })
    : (bytes: Uint8Array) => zlib.deflateRawSync(bytes, { level: options?.level ?? 6 })
  const flag = algorithm === "brotli" ? BROTLI : DEFLATE_RAW
  return {
    name,
    encode: (value) =>
      Effect.map(inner.encode(value), (bytes) => {
        if (bytes.length < threshold) return withFlag(STORED, bytes)
        const packed = compress(bytes)
        return packed.length < bytes.length ? withFlag(flag, packed) : withFlag(STORED, bytes)
      }),
    decode: (bytes) => {
      if (bytes.length === 0) return Effect.fail(new DecodeError({ codec: name, reason: "empty input" }))
      const body = bytes.subarray(1)
      switch (bytes[0]) {
        case STORED:
          return inner.decode(body)
        case DEFLATE_RAW:
        case BROTLI: {
          const decompress = bytes[0] === BROTLI ? zlib.brotliDecompressSync : zlib.inflateRawSync
          return Effect.try({
            try: () => decompress(body, { maxOutputLength }),
            catch: (error) =>
              new DecodeError({
                codec: name,
                reason: `cannot decompress: ${error instanceof Error ? error.message : String(error)}`
              })
          }).pipe(Effect.flatMap((raw) => inner.decode(raw)))
        }
        default:
          return Effect.fail(new DecodeError({ codec: name, reason: `unknown compression flag ${bytes[0]}` }))
      }
    }
  }
}

/**
 * A compressed codec as a `Codec` Layer.
 *
 * @example
 * ```ts
 * import { Cbor, Compressed } from "@dogpile-effect/codecs"
 * const layer = Compressed.layer(Cbor.codec, { threshold: 2048 })
 * ```
 *
 * @since 0.1.0
 */
export const layer = (inner: CodecShape, options?: Options): Layer.Layer<Codec> => Codec.layer(make(inner, options))
