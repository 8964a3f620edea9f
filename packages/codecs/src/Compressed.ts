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
 * Decompression stops as soon as the output passes `maxDecodedBytes` (default
 * 16 MiB, the codecs' default `maxBytes`), so a compression bomb costs at most
 * that much memory and the time to inflate it before it is a `DecodeError`.
 *
 * @since 0.1.0
 */
import { Codec, type CodecShape, DecodeError, type InvalidOptionError, Options } from "@dogpile-effect/core"
import { Effect, Exit, Layer } from "effect"
import * as zlib from "node:zlib"
import * as Limits from "./Limits.ts"

/**
 * The compression algorithm used on write.
 *
 * @category models
 * @since 0.1.0
 */
export type Algorithm = "deflate-raw" | "brotli"

/**
 * Options of {@link make}, each validated when the codec is built.
 *
 * @example
 * ```ts
 * import type { Compressed } from "@dogpile-effect/codecs"
 * const options: Compressed.CompressedOptions = { threshold: 2048, algorithm: "brotli", maxDecodedBytes: 4 * 1024 * 1024 }
 * ```
 *
 * @category models
 * @since 0.1.0
 */
export interface CompressedOptions {
  /** Compress inner payloads of at least this many bytes. Default 1024; a non-negative integer. */
  readonly threshold?: number | undefined
  /** Default `"deflate-raw"`. */
  readonly algorithm?: Algorithm | undefined
  /** zlib level (0-9, default 6) or brotli quality (0-11, default 4). */
  readonly level?: number | undefined
  /**
   * Decompressed size above which decoding stops and fails (a compression
   * bomb). Default 16 MiB; 1 byte to 512 MiB.
   */
  readonly maxDecodedBytes?: number | undefined
}

/**
 * The former name of {@link CompressedOptions}.
 *
 * @deprecated Use {@link CompressedOptions}.
 * @category models
 * @since 0.1.0
 */
export type Options = CompressedOptions

/**
 * The default `maxDecodedBytes`: 16 MiB.
 *
 * @category constants
 * @since 0.1.0
 */
export const defaultMaxDecodedBytes: number = Limits.defaults.maxBytes

const STORED = 0x00
const DEFLATE_RAW = 0x01
const BROTLI = 0x02

const withFlag = (flag: number, body: Uint8Array): Uint8Array => {
  const out = new Uint8Array(body.length + 1)
  out[0] = flag
  out.set(body, 1)
  return out
}

interface Settings {
  readonly threshold: number
  readonly algorithm: Algorithm
  readonly level: number
  readonly maxDecodedBytes: number
}

const known = new Set(["threshold", "algorithm", "level", "maxDecodedBytes"])

const settings = Effect.fnUntraced(function*(
  options: CompressedOptions | undefined
): Effect.fn.Return<Settings, InvalidOptionError> {
  const component = "Compressed"
  for (const key of Object.keys(options ?? {})) {
    yield* Options.reject(component, key, !known.has(key), "is not an option (threshold, algorithm, level, maxDecodedBytes)")
  }
  const algorithm = options?.algorithm ?? "deflate-raw"
  yield* Options.reject(
    component,
    "algorithm",
    algorithm !== "deflate-raw" && algorithm !== "brotli",
    `must be "deflate-raw" or "brotli", got ${String(algorithm)}`
  )
  const brotli = algorithm === "brotli"
  return {
    algorithm,
    threshold: yield* Options.integer(component, "threshold", options?.threshold, 1024, { min: 0 }),
    level: yield* Options.integer(component, "level", options?.level, brotli ? 4 : 6, { min: 0, max: brotli ? 11 : 9 }),
    maxDecodedBytes: yield* Options.integer(
      component,
      "maxDecodedBytes",
      options?.maxDecodedBytes,
      defaultMaxDecodedBytes,
      { min: 1, max: Limits.maxBytesCeiling }
    )
  }
})

const compressor = (s: Settings) =>
  s.algorithm === "brotli"
    ? (bytes: Uint8Array) =>
      zlib.brotliCompressSync(bytes, {
        params: {
          [zlib.constants.BROTLI_PARAM_QUALITY]: s.level,
          [zlib.constants.BROTLI_PARAM_SIZE_HINT]: bytes.length
        }
      })
    : (bytes: Uint8Array) => zlib.deflateRawSync(bytes, { level: s.level })

/**
 * Inflates `body`, giving up as soon as the output passes `maxOutputLength`:
 * node's zlib checks the running total after every output chunk, so memory
 * and time stay bounded by the limit, not by what the input would expand to.
 */
const decompress = (flag: number, body: Uint8Array, maxOutputLength: number): Uint8Array | string => {
  try {
    return flag === BROTLI
      ? zlib.brotliDecompressSync(body, { maxOutputLength })
      : zlib.inflateRawSync(body, { maxOutputLength })
  } catch (error) {
    const code = (error as { readonly code?: unknown }).code
    return code === "ERR_BUFFER_TOO_LARGE"
      ? `decompresses to more than maxDecodedBytes (${maxOutputLength})`
      : `cannot decompress: ${error instanceof Error ? error.message : String(error)}`
  }
}

const fromSettings = (inner: CodecShape, s: Settings): CodecShape => {
  const name = `${s.algorithm}(${inner.name})`
  const compress = compressor(s)
  const flag = s.algorithm === "brotli" ? BROTLI : DEFLATE_RAW
  return {
    name,
    encode: (value) =>
      Effect.map(inner.encode(value), (bytes) => {
        if (bytes.length < s.threshold) return withFlag(STORED, bytes)
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
          const raw = decompress(bytes[0], body, s.maxDecodedBytes)
          return typeof raw === "string" ? Effect.fail(new DecodeError({ codec: name, reason: raw })) : inner.decode(raw)
        }
        default:
          return Effect.fail(new DecodeError({ codec: name, reason: `unknown compression flag ${bytes[0]}` }))
      }
    }
  }
}

/**
 * Wraps `inner` so that payloads of at least `threshold` bytes are compressed.
 * The options are validated: an invalid one fails with an
 * `InvalidOptionError`. Decoding is bounded by `maxDecodedBytes`, fails with
 * a {@link DecodeError} on a corrupt, oversized or unknown body, and never
 * throws.
 *
 * @example
 * ```ts
 * import { Compressed, Msgpack } from "@dogpile-effect/codecs"
 * import { Effect } from "effect"
 *
 * const program = Effect.gen(function*() {
 *   const codec = yield* Compressed.make(Msgpack.codec, { threshold: 1024, algorithm: "deflate-raw" })
 *   return yield* codec.encode({ text: "x".repeat(10_000) }) // 42 bytes
 * })
 * ```
 *
 * @category constructors
 * @since 0.1.0
 */
export const make = (inner: CodecShape, options?: CompressedOptions): Effect.Effect<CodecShape, InvalidOptionError> =>
  Effect.map(settings(options), (s) => fromSettings(inner, s))

/**
 * {@link make} outside Effect, for module-level constants and scripts: returns
 * the codec, or throws the `InvalidOptionError` for an invalid option.
 *
 * @example
 * ```ts
 * import { Compressed, Msgpack } from "@dogpile-effect/codecs"
 * const codec = Compressed.makeUnsafe(Msgpack.codec, { algorithm: "brotli" })
 * ```
 *
 * @category constructors
 * @since 0.1.0
 */
export const makeUnsafe = (inner: CodecShape, options?: CompressedOptions): CodecShape => {
  const exit = Effect.runSyncExit(make(inner, options))
  if (Exit.isSuccess(exit)) return exit.value
  const error = Exit.findErrorOption(exit)
  if (error._tag === "Some") throw error.value
  throw new Error(`Compressed.makeUnsafe: ${String(exit.cause)}`)
}

/**
 * A compressed codec as a `Codec` Layer; building it fails with an
 * `InvalidOptionError` for an invalid option.
 *
 * @example
 * ```ts
 * import { Cbor, Compressed } from "@dogpile-effect/codecs"
 * const layer = Compressed.layer(Cbor.codec, { threshold: 2048 })
 * ```
 *
 * @category layers
 * @since 0.1.0
 */
export const layer = (inner: CodecShape, options?: CompressedOptions): Layer.Layer<Codec, InvalidOptionError> =>
  Layer.effect(Codec, make(inner, options))
