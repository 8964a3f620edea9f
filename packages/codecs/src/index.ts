/**
 * @dogpile-effect/codecs: swappable value formats for dogpile-effect regions.
 *
 * Every codec is a `CodecShape` from `@dogpile-effect/core` plus a Layer.
 * Pick one by providing its Layer:
 *
 * @example
 * ```ts
 * import { Cbor, Msgpack, IntegerAware, PythonInterop } from "@dogpile-effect/codecs"
 * const layer = Msgpack.layer // or Cbor.layer, IntegerAware.layer, PythonInterop.layer({ ... })
 * ```
 *
 * @since 0.1.0
 */
export * as Cbor from "./Cbor.ts"
export * as CborProfile from "./CborProfile.ts"
export * as Compressed from "./Compressed.ts"
export * as IntegerAware from "./IntegerAware.ts"
export * as Json from "./Json.ts"
export * as Limits from "./Limits.ts"
export * as Msgpack from "./Msgpack.ts"
export * as MsgpackProfile from "./MsgpackProfile.ts"
export * as PythonInterop from "./PythonInterop.ts"
export * as PythonJson from "./PythonJson.ts"
export * as PythonMsgpack from "./PythonMsgpack.ts"
export * as RawBytes from "./RawBytes.ts"
export * as Representable from "./Representable.ts"
export * as SchemaCodec from "./SchemaCodec.ts"
export * as Utf8 from "./Utf8.ts"
