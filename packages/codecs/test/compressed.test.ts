import { assert, describe, it } from "@effect/vitest"
import { Compressed, Json, Msgpack } from "@dogpile-effect/codecs"
import { Effect } from "effect"
import { randomBytes } from "node:crypto"

const big = { rows: Array.from({ length: 200 }, (_, i) => ({ id: i, name: `user-${i}`, active: i % 2 === 0 })) }

describe("Compressed", () => {
  it.effect("stores payloads below the threshold with flag 0x00 and the inner bytes", () =>
    Effect.gen(function*() {
      const codec = yield* Compressed.make(Json.codec, { threshold: 1024 })
      const bytes = yield* codec.encode({ a: "x".repeat(100) })
      assert.strictEqual(bytes[0], 0x00)
      assert.deepStrictEqual(Array.from(bytes.subarray(1)), Array.from(yield* Json.codec.encode({ a: "x".repeat(100) })))
    }))

  it.effect("compresses large payloads with the chosen algorithm's flag and makes them smaller", () =>
    Effect.gen(function*() {
      const inner = (yield* Msgpack.codec.encode(big)).length
      for (const [algorithm, flag] of [["deflate-raw", 0x01], ["brotli", 0x02]] as const) {
        const codec = yield* Compressed.make(Msgpack.codec, { threshold: 1024, algorithm })
        const bytes = yield* codec.encode(big)
        assert.strictEqual(bytes[0], flag)
        assert.isBelow(bytes.length, inner / 2)
        assert.deepStrictEqual(yield* codec.decode(bytes), big)
      }
    }))

  it.effect("stores incompressible payloads uncompressed even above the threshold", () =>
    Effect.gen(function*() {
      const codec = yield* Compressed.make(Msgpack.codec, { threshold: 16 })
      const noise = new Uint8Array(randomBytes(4096))
      const bytes = yield* codec.encode(noise)
      assert.strictEqual(bytes[0], 0x00)
      assert.deepStrictEqual(yield* codec.decode(bytes), noise)
    }))

  it.effect("reads either algorithm whatever it writes", () =>
    Effect.gen(function*() {
      const brotli = yield* Compressed.make(Msgpack.codec, { algorithm: "brotli" })
      const deflate = yield* Compressed.make(Msgpack.codec, { algorithm: "deflate-raw" })
      assert.deepStrictEqual(yield* deflate.decode(yield* brotli.encode(big)), big)
      assert.deepStrictEqual(yield* brotli.decode(yield* deflate.encode(big)), big)
    }))

  it.effect("passes the inner codec's EncodeError through", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip((yield* Compressed.make(Json.codec)).encode(10n))
      assert.strictEqual(error.codec, "json")
    }))
})
