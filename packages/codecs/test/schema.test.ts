import { assert, describe, it } from "@effect/vitest"
import { Cbor, Json, Msgpack, SchemaCodec } from "@dogpile-effect/codecs"
import { Codec } from "@dogpile-effect/core"
import { Effect, Schema } from "effect"

const UserV1 = Schema.Struct({ id: Schema.Int, name: Schema.String })
const UserV2 = Schema.Struct({ id: Schema.String, name: Schema.String, email: Schema.String })

describe("SchemaCodec", () => {
  it.effect("round-trips values of the schema and types the decoded value", () =>
    Effect.gen(function*() {
      for (const bytesCodec of [Json.codec, Cbor.codec, Msgpack.codec]) {
        const codec = SchemaCodec.make(UserV1, bytesCodec)
        assert.strictEqual(codec.name, `schema(${bytesCodec.name})`)
        const user = yield* codec.decodeTyped(yield* codec.encode({ id: 1, name: "ada" }))
        assert.deepStrictEqual(user, { id: 1, name: "ada" })
      }
    }))

  it.effect("a stored value of an older shape is a DecodeError (a miss), naming the mismatch", () =>
    Effect.gen(function*() {
      const stored = yield* SchemaCodec.make(UserV1, Msgpack.codec).encode({ id: 1, name: "ada" })
      const error = yield* Effect.flip(SchemaCodec.make(UserV2, Msgpack.codec).decode(stored))
      assert.strictEqual(error._tag, "DecodeError")
      assert.strictEqual(error.codec, "schema(msgpack)")
      assert.include(error.reason, "does not match the schema")
    }))

  it.effect("bytes the inner codec cannot read stay that codec's DecodeError", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(SchemaCodec.make(UserV1, Cbor.codec).decode(new Uint8Array([0xc1])))
      assert.strictEqual(error.codec, "cbor")
    }))

  it.effect("a value that does not match the schema is refused at encode", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(SchemaCodec.make(UserV1, Json.codec).encode({ id: 1.5, name: "ada" }))
      assert.strictEqual(error._tag, "EncodeError")
      assert.include(error.reason, "does not match the schema")
    }))

  it.effect("the schema's encoded form is what is stored (a transformation makes a value storable)", () =>
    Effect.gen(function*() {
      const codec = SchemaCodec.make(Schema.Struct({ n: Schema.NumberFromString }), Json.codec)
      const bytes = yield* codec.encode({ n: 42 })
      assert.strictEqual(new TextDecoder().decode(bytes), "{\"n\":\"42\"}")
      assert.deepStrictEqual(yield* codec.decode(bytes), { n: 42 })
    }))

  it.effect("layer provides the typed codec as the Codec service", () =>
    Effect.gen(function*() {
      const codec = yield* Codec
      assert.strictEqual(codec.name, "schema(cbor)")
      assert.strictEqual((yield* Effect.flip(codec.decode(yield* Cbor.codec.encode({ id: "x" }))))._tag, "DecodeError")
    }).pipe(Effect.provide(SchemaCodec.layer(UserV1, Cbor.codec))))
})
