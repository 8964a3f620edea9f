/**
 * Codecs that validate with Effect Schema.
 *
 * @since 0.1.0
 */
import { Codec, type CodecShape, DecodeError, EncodeError } from "@dogpile-effect/core"
import { Effect, type Layer, Schema } from "effect"

/**
 * A codec bound to a schema: `encode` first encodes the value with the schema
 * (so the value must be a valid `A`), then with the byte codec; `decode` runs
 * the byte codec, then decodes with the schema. `decodeTyped` is `decode`
 * with the static type `A`.
 *
 * @since 0.1.0
 */
export interface SchemaCodec<A> extends CodecShape {
  readonly schema: Schema.Codec<A, unknown>
  readonly bytes: CodecShape
  decodeTyped(bytes: Uint8Array): Effect.Effect<A, DecodeError>
}

/**
 * Builds a Schema-typed codec over a byte codec. A stored value that no longer
 * matches the schema (a deploy changed the type) decodes as a
 * {@link DecodeError}, which the region counts as a miss and recomputes, so a
 * wrong-shaped value is never served. A value that does not match the schema
 * is refused at `set` with an {@link EncodeError}.
 *
 * The schema's encoded form is what the byte codec stores, so a schema with
 * transformations (e.g. `Schema.DateTimeUtcFromString`) can make a value
 * storable by a codec that would not take it directly.
 *
 * @example
 * ```ts
 * import { Msgpack, SchemaCodec } from "@dogpile-effect/codecs"
 * import { Effect, Schema } from "effect"
 *
 * const User = Schema.Struct({ id: Schema.Int, name: Schema.String })
 * const users = SchemaCodec.make(User, Msgpack.codec)
 *
 * const program = Effect.gen(function*() {
 *   const bytes = yield* users.encode({ id: 1, name: "ada" })
 *   const user = yield* users.decodeTyped(bytes) // { readonly id: number; readonly name: string }
 *   return user.name
 * })
 * ```
 *
 * @since 0.1.0
 */
export const make = <A, I>(schema: Schema.Codec<A, I>, bytes: CodecShape): SchemaCodec<A> => {
  const name = `schema(${bytes.name})`
  const encodeSchema = Schema.encodeUnknownEffect(schema)
  const decodeSchema = Schema.decodeUnknownEffect(schema)
  const decodeTyped = (input: Uint8Array): Effect.Effect<A, DecodeError> =>
    Effect.flatMap(
      bytes.decode(input),
      (decoded) =>
        Effect.mapError(
          decodeSchema(decoded),
          (error) => new DecodeError({ codec: name, reason: `stored value does not match the schema: ${error.message}` })
        )
    )
  return {
    name,
    schema: schema as Schema.Codec<A, unknown>,
    bytes,
    encode: (value) =>
      Effect.flatMap(
        Effect.mapError(
          encodeSchema(value),
          (error) => new EncodeError({ codec: name, reason: `value does not match the schema: ${error.message}` })
        ),
        (encoded) => bytes.encode(encoded)
      ),
    decode: decodeTyped,
    decodeTyped
  }
}

/**
 * A Schema-typed codec as a `Codec` Layer.
 *
 * @example
 * ```ts
 * import { Cbor, SchemaCodec } from "@dogpile-effect/codecs"
 * import { Schema } from "effect"
 *
 * const layer = SchemaCodec.layer(Schema.Struct({ id: Schema.Int }), Cbor.codec)
 * ```
 *
 * @since 0.1.0
 */
export const layer = <A, I>(schema: Schema.Codec<A, I>, bytes: CodecShape): Layer.Layer<Codec> =>
  Codec.layer(make(schema, bytes))
