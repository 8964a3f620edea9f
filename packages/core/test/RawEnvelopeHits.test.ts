import { assert, describe, it } from "@effect/vitest"
import { Codec, type CodecShape, Envelope, Lock, MemoryBackend, Region } from "@dogpile-effect/core"
import { Effect, Layer, Option } from "effect"
import { TestClock } from "effect/testing"

// A raw envelope stores no creation time: an entry counts as created when it is read. Over a backend
// that hands back the same bytes (memory, a near cache), the decoded value is kept by those bytes and
// each read rebuilds its entry at its own time (internal/stored.ts).

const counting = () => {
  let decodes = 0
  const codec: CodecShape = {
    name: "counting-json",
    encode: (value) => Codec.json.encode(value),
    decode: (bytes) => {
      decodes++
      return Codec.json.decode(bytes)
    }
  }
  return { codec, decodes: () => decodes }
}

describe("raw envelope over an in-process store", () => {
  it.effect("a value is decoded once per stored bytes; a new write is decoded anew", () => {
    const { codec, decodes } = counting()
    return Effect.gen(function*() {
      const region = yield* Region.make<{ n: number }>({ name: "raw-hits", envelope: Envelope.raw, expiration: "1 minute" })
      yield* region.set("k", { n: 1 })
      for (let i = 0; i < 100; i++) assert.deepStrictEqual(yield* region.get("k"), Option.some({ n: 1 }))
      assert.deepStrictEqual(yield* region.getMany(["k", "k"]), [Option.some({ n: 1 }), Option.some({ n: 1 })])
      assert.strictEqual(yield* region.getOrCreate("k", Effect.succeed({ n: -1 })), (yield* region.get("k")).pipe(Option.getOrThrow))
      assert.strictEqual(decodes(), 1)
      yield* region.set("k", { n: 2 })
      for (let i = 0; i < 10; i++) assert.deepStrictEqual(yield* region.get("k"), Option.some({ n: 2 }))
      assert.strictEqual(decodes(), 2)
    }).pipe(Effect.scoped, Effect.provide(Layer.mergeAll(MemoryBackend.layer(), Codec.layer(codec), Lock.layerLocal)))
  })

  it.effect("each read is an entry created at that read (as in dogpile's raw mode): marks never apply, the store's TTL expires it", () => {
    const { codec } = counting()
    return Effect.gen(function*() {
      const region = yield* Region.make<number>({ name: "raw-marks", envelope: Envelope.raw, expiration: "10 seconds" })
      yield* region.set("k", 1)
      assert.deepStrictEqual(yield* region.get("k"), Option.some(1))
      yield* TestClock.adjust("5 seconds")
      yield* region.invalidate()
      assert.deepStrictEqual(yield* region.get("k"), Option.some(1))
      yield* region.invalidate({ hard: false })
      assert.strictEqual(yield* region.getOrCreate("k", Effect.succeed(2)), 1)
      yield* TestClock.adjust("30 seconds")
      assert.deepStrictEqual(yield* region.get("k"), Option.none())
    }).pipe(Effect.scoped, Effect.provide(Layer.mergeAll(MemoryBackend.layer(), Codec.layer(codec), Lock.layerLocal)))
  })
})
