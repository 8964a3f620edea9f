/**
 * MessagePack through msgpackr, restricted to a safe profile.
 *
 * @since 0.1.0
 */
import { Codec, type CodecShape, DecodeError, EncodeError, type InvalidOptionError } from "@dogpile-effect/core"
import { Effect, Layer } from "effect"
import * as Limits from "./Limits.ts"
import * as MsgpackProfile from "./MsgpackProfile.ts"
import { memoByPeer, msgpackr } from "./OptionalPeers.ts"
import * as Representable from "./Representable.ts"
import { plainView } from "./PlainBytes.ts"

// Built on first use (not at import), so that `@dogpile-effect/codecs/msgpack`
// can provide a bundled msgpackr after this module is evaluated.
const packr = memoByPeer(msgpackr, ({ Packr }) =>
  new Packr({
    useRecords: false,
    mapsAsObjects: true,
    variableMapSize: true,
    structuredClone: false,
    moreTypes: false,
    bundleStrings: false,
    useTimestamp32: false
  }))

const unpackr = memoByPeer(msgpackr, ({ Unpackr }) =>
  new Unpackr({
    useRecords: false,
    mapsAsObjects: true,
    structuredClone: false,
    moreTypes: false,
    // msgpackr supports "auto" (safe integers as numbers, larger as BigInt) but its typings omit it.
    int64AsType: "auto" as "number",
    copyBuffers: true
  }))

const message = (error: unknown): string => (error instanceof Error ? error.message : String(error))

/**
 * Whether msgpackr found its native string extractor (`msgpackr-extract`).
 *
 * @example
 * ```ts
 * import { Msgpack } from "@dogpile-effect/codecs"
 * console.log(Msgpack.nativeAcceleration)
 * ```
 *
 * @since 0.1.0
 */
export const nativeAcceleration: boolean = msgpackr().isNativeAccelerationEnabled

// Plain try/catch rather than Effect.try: encoding is pure, and this keeps the
// per-value overhead at a single allocation (about 3x faster on small values).
const fromLimits = (limits: Limits.Resolved): CodecShape => ({
  name: "msgpack",
  encode: (value) => {
    const problem = Representable.problem(value, Representable.msgpack, limits)
    if (problem !== undefined) return Effect.fail(new EncodeError({ codec: "msgpack", reason: problem }))
    let bytes: Uint8Array
    try {
      bytes = packr().pack(value)
    } catch (error) {
      return Effect.fail(new EncodeError({ codec: "msgpack", reason: message(error) }))
    }
    return bytes.length > limits.maxBytes
      ? Effect.fail(
        new EncodeError({
          codec: "msgpack",
          reason: `value encodes to ${bytes.length} bytes, more than maxBytes (${limits.maxBytes})`
        })
      )
      : Effect.succeed(bytes)
  },
  decode: (bytes) => {
    const refused = MsgpackProfile.refusal(bytes, limits)
    if (refused !== undefined) return Effect.fail(new DecodeError({ codec: "msgpack", reason: refused }))
    try {
      return Effect.succeed<unknown>(unpackr().unpack(plainView(bytes)))
    } catch (error) {
      return Effect.fail(new DecodeError({ codec: "msgpack", reason: message(error) }))
    }
  }
})

/**
 * The MessagePack codec. Round-trips strings, numbers (including NaN and
 * ±Infinity, but not -0), booleans, null, undefined, valid Dates (standard
 * timestamp extension), Uint8Array (bin), dense arrays and plain objects;
 * rejects BigInt, Map, Set, class instances and everything JSON rejects at
 * encode time. Maps are written with the smallest header, so the bytes match
 * Python's `msgpack.packb` for the same plain data. Decoding admits only plain
 * MessagePack plus the `undefined` and timestamp extensions (see
 * {@link MsgpackProfile}), within the default {@link Limits}.
 *
 * @example
 * ```ts
 * import { Msgpack } from "@dogpile-effect/codecs"
 * import { Effect } from "effect"
 *
 * const program = Effect.gen(function*() {
 *   const bytes = yield* Msgpack.codec.encode({ one: 399, two: "fizzbuzz" }) // 21 bytes
 *   return yield* Msgpack.codec.decode(bytes)
 * })
 * ```
 *
 * @since 0.1.0
 */
export const codec: CodecShape = fromLimits(Limits.defaults)

/**
 * The MessagePack codec with other {@link Limits}, validated: an invalid
 * limit fails with an `InvalidOptionError`. (`maxBignumBytes` does not apply:
 * MessagePack integers are at most 64 bits.)
 *
 * @example
 * ```ts
 * import { Msgpack } from "@dogpile-effect/codecs"
 * import { Effect } from "effect"
 *
 * const program = Effect.gen(function*() {
 *   const codec = yield* Msgpack.make({ maxDepth: 32, maxItems: 10_000 })
 *   return yield* codec.encode({ a: [1, 2, 3] })
 * })
 * ```
 *
 * @category constructors
 * @since 0.1.0
 */
export const make = (limits?: Limits.CodecLimits): Effect.Effect<CodecShape, InvalidOptionError> =>
  Effect.map(Limits.make("Msgpack", limits), fromLimits)

/**
 * The MessagePack codec as a `Codec` Layer.
 *
 * @example
 * ```ts
 * import { Msgpack } from "@dogpile-effect/codecs"
 * import { Codec } from "@dogpile-effect/core"
 * import { Effect } from "effect"
 *
 * const program = Effect.gen(function*() {
 *   const codec = yield* Codec
 *   return yield* codec.encode([1, "a"])
 * })
 * Effect.runSync(Effect.provide(program, Msgpack.layer))
 * ```
 *
 * @since 0.1.0
 */
export const layer: Layer.Layer<Codec> = Codec.layer(codec)

/**
 * The MessagePack codec with other {@link Limits} as a `Codec` Layer;
 * building it fails with an `InvalidOptionError` for an invalid limit.
 *
 * @example
 * ```ts
 * import { Msgpack } from "@dogpile-effect/codecs"
 * const layer = Msgpack.layerWith({ maxBytes: 4 * 1024 * 1024 })
 * ```
 *
 * @category layers
 * @since 0.1.0
 */
export const layerWith = (limits: Limits.CodecLimits): Layer.Layer<Codec, InvalidOptionError> =>
  Layer.effect(Codec, make(limits))
