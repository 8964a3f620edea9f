/**
 * Value ⇄ bytes.
 *
 * @since 0.1.0
 */
import { Buffer, isUtf8 } from "node:buffer"
import { Context, Effect, Layer } from "effect"
import { DecodeError, EncodeError } from "./CacheError.ts"

/**
 * The shape of a codec: `encode` turns a value into bytes (or fails with
 * {@link EncodeError}, writing nothing), `decode` turns bytes back into a value
 * (or fails with {@link DecodeError}, which a region counts as a miss).
 *
 * @since 0.1.0
 */
export interface CodecShape {
  readonly name: string
  encode(value: unknown): Effect.Effect<Uint8Array, EncodeError>
  decode(bytes: Uint8Array): Effect.Effect<unknown, DecodeError>
}

const textEncoder = new TextEncoder()
const textDecoder = new TextDecoder("utf-8", { fatal: true })

/**
 * UTF-8 text of `bytes`. Node's Buffer decoder is several times faster than
 * TextDecoder on short inputs; it is used only where it is exact: for input
 * that is valid UTF-8 (checked by `isUtf8`), which is what we store.
 */
const utf8 = (bytes: Uint8Array): string => {
  const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  return isUtf8(buffer) ? buffer.toString("utf8") : textDecoder.decode(bytes)
}

const describe = (error: unknown): string => (error instanceof Error ? error.message : String(error))

/**
 * Walks a value and reports the first thing JSON would silently drop or alter:
 * functions, symbols, `undefined`, BigInt, non-finite numbers, -0, and class
 * instances other than plain objects and arrays. Circular structures are
 * reported too. `JSON.stringify` alone would turn several of these into `null`
 * or nothing, and a cache must not store a value that reads back different.
 */
const jsonProblem = (value: unknown, seen: Set<object>, path: string): string | undefined => {
  switch (typeof value) {
    case "string":
    case "boolean":
      return undefined
    case "number":
      if (!Number.isFinite(value)) return `${path} is ${value}, which JSON cannot represent`
      if (Object.is(value, -0)) return `${path} is -0, which JSON reads back as 0`
      return undefined
    case "undefined":
      return `${path} is undefined, which JSON cannot represent`
    case "bigint":
      return `${path} is a BigInt, which JSON cannot represent`
    case "function":
    case "symbol":
      return `${path} is a ${typeof value}, which no codec stores`
    case "object": {
      if (value === null) return undefined
      if (seen.has(value)) return `${path} is a circular reference`
      const proto = Object.getPrototypeOf(value)
      if (Array.isArray(value)) {
        seen.add(value)
        for (let i = 0; i < value.length; i++) {
          const problem = jsonProblem(value[i], seen, `${path}[${i}]`)
          if (problem !== undefined) return problem
        }
        seen.delete(value)
        return undefined
      }
      if (proto !== Object.prototype && proto !== null) {
        const name = (value as { constructor?: { name?: string } }).constructor?.name ?? "unknown"
        return `${path} is a ${name} instance, which JSON does not round-trip`
      }
      if (Object.getOwnPropertySymbols(value).length > 0) return `${path} has symbol keys, which JSON drops`
      seen.add(value)
      for (const k of Object.keys(value)) {
        const problem = jsonProblem((value as Record<string, unknown>)[k], seen, `${path}.${k}`)
        if (problem !== undefined) return problem
      }
      seen.delete(value)
      return undefined
    }
  }
}

/**
 * Parses JSON without letting data reach `__proto__`: keys named `__proto__`
 * are defined as own properties (never prototype assignments), which is what
 * `JSON.parse` already does; nothing is revived into classes.
 */
const parseJson = (text: string): unknown => JSON.parse(text)

/**
 * The default codec: UTF-8 JSON. Round-trips strings, finite numbers (except
 * -0), booleans, null, arrays and plain objects; rejects everything else at
 * encode time with a typed {@link EncodeError} instead of storing a lossy value.
 * Decoding never executes code or constructs classes.
 *
 * @example
 * ```ts
 * import { Codec } from "@dogpile-effect/core"
 * import { Effect } from "effect"
 * Effect.runSync(Codec.json.encode([1, "a"])) // bytes of '[1,"a"]'
 * ```
 *
 * @since 0.1.0
 */
const jsonCodec: CodecShape = {
  name: "json",
  encode: (value) => {
    const problem = jsonProblem(value, new Set(), "value")
    if (problem !== undefined) return Effect.fail(new EncodeError({ codec: "json", reason: problem }))
    return Effect.succeed(textEncoder.encode(JSON.stringify(value)))
  },
  // Decoding is pure, so it runs eagerly and returns an already-completed Effect:
  // cheaper on the hit path than suspending it with Effect.try.
  decode: (bytes) => {
    try {
      return Effect.succeed(parseJson(utf8(bytes)))
    } catch (error) {
      return Effect.fail(new DecodeError({ codec: "json", reason: describe(error) }))
    }
  }
}

/**
 * The Codec service. The default is {@link json}; `@dogpile-effect/codecs` adds
 * CBOR, MessagePack, Schema-validated and integer-aware codecs. Swap a codec by
 * providing another Layer.
 *
 * @example
 * ```ts
 * import { Codec } from "@dogpile-effect/core"
 * import { Effect } from "effect"
 *
 * const bytes = Effect.gen(function*() {
 *   const codec = yield* Codec
 *   return yield* codec.encode({ one: 1 })
 * }).pipe(Effect.provide(Codec.layerJson))
 * ```
 *
 * @since 0.1.0
 */
export class Codec extends Context.Service<Codec, CodecShape>()("@dogpile-effect/core/Codec") {
  /**
   * The default codec: UTF-8 JSON. Round-trips strings, finite numbers (except
   * -0), booleans, null, arrays and plain objects; rejects everything else at
   * encode time with a typed {@link EncodeError} instead of storing a lossy value.
   * Decoding never executes code or constructs classes.
   */
  static readonly json: CodecShape = jsonCodec
  /** The JSON codec as a Layer. */
  static readonly layerJson: Layer.Layer<Codec> = Layer.succeed(Codec, jsonCodec)
  /** Any codec value as a Layer. */
  static readonly layer = (codec: CodecShape): Layer.Layer<Codec> => Layer.succeed(Codec, codec)
}

