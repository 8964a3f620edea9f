/**
 * Options given as `undefined` (which `?: T | undefined` lets a caller with
 * exactOptionalPropertyTypes write, e.g. from a missing configuration value)
 * mean the default, exactly as a left-out option does.
 */
import { assert, describe, it } from "@effect/vitest"
import { Cbor, Compressed, Limits, Msgpack, PythonInterop } from "@dogpile-effect/codecs"
import { Effect } from "effect"

const deep = (depth: number): unknown => (depth === 0 ? 1 : [deep(depth - 1)])

describe("undefined options are the defaults", () => {
  it.effect("Limits.make: every limit undefined resolves to Limits.defaults", () =>
    Effect.gen(function*() {
      const resolved = yield* Limits.make("test", {
        maxBytes: undefined,
        maxDepth: undefined,
        maxItems: undefined,
        maxBignumBytes: undefined
      })
      assert.deepStrictEqual(resolved, Limits.defaults)
    }))

  it.effect("Msgpack.make and Cbor.make with maxDepth undefined refuse what the default refuses", () =>
    Effect.gen(function*() {
      for (const make of [Msgpack.make, Cbor.make]) {
        const codec = yield* make({ maxDepth: undefined })
        yield* codec.encode(deep(Limits.defaults.maxDepth - 1))
        const refused = yield* Effect.flip(codec.encode(deep(Limits.defaults.maxDepth + 1)))
        assert.strictEqual(refused._tag, "EncodeError")
      }
    }))

  it.effect("Compressed.make with every option undefined compresses above 1024 bytes with deflate-raw", () =>
    Effect.gen(function*() {
      const codec = yield* Compressed.make(Msgpack.codec, {
        threshold: undefined,
        algorithm: undefined,
        level: undefined,
        maxDecodedBytes: undefined
      })
      assert.strictEqual(codec.name, "deflate-raw(msgpack)")
      const big = "x".repeat(4096)
      const bytes = yield* codec.encode(big)
      assert.isBelow(bytes.length, 1024)
      assert.strictEqual(yield* codec.decode(bytes), big)
    }))

  it.effect("PythonInterop.make with version undefined writes dogpile's value_version 2", () =>
    Effect.gen(function*() {
      const withDefault = yield* PythonInterop.make({ format: "json", layout: "dogpile", version: undefined })
      const explicit = yield* PythonInterop.make({ format: "json", layout: "dogpile", version: 2 })
      const a = yield* withDefault.encode({ id: 1 }, 1_000, Msgpack.codec)
      const b = yield* explicit.encode({ id: 1 }, 1_000, Msgpack.codec)
      assert.deepStrictEqual(a, b)
    }))
})
