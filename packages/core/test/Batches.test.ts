import { assert, describe, it } from "@effect/vitest"
import { Codec, type CodecShape, Lock, MemoryBackend, Region } from "@dogpile-effect/core"
import { Effect, Layer, Metric, Option } from "effect"

// getMany / getOrCreateMany decode what opens at once in one pass and only the rest as effects
// (internal/reads.ts), and answer an all-fresh batch without the dogpile (Dogpile.valuesFor).

/** JSON, except that values whose text starts with `"lazy` decode through an effect that is not a ready Exit. */
const mixed: CodecShape = {
  name: "mixed-json",
  encode: (value) => Codec.json.encode(value),
  decode: (bytes) => {
    const eager = Codec.json.decode(bytes)
    return new TextDecoder().decode(bytes).startsWith("\"lazy")
      ? Effect.flatMap(Effect.yieldNow, () => eager)
      : eager
  }
}

const services = (codec: CodecShape) => Layer.mergeAll(MemoryBackend.layer(), Codec.layer(codec), Lock.layerLocal)

describe("batches", () => {
  it.effect("getMany keeps the caller's order over eager, lazy and missing entries", () =>
    Effect.gen(function*() {
      const region = yield* Region.make<string>({ name: "batch-order" })
      const keys = Array.from({ length: 120 }, (_, i) => `k${i}`)
      // Every third key absent; of the others, every other one lazy.
      const stored = keys.flatMap((key, i) => (i % 3 === 0 ? [] : [[key, i % 2 === 0 ? `lazy ${i}` : `eager ${i}`] as const]))
      yield* region.setMany(stored)
      for (let round = 0; round < 2; round++) {
        // The second round reads bytes decoded before (the memory backend hands back the same bytes).
        const values = yield* region.getMany(keys)
        assert.deepStrictEqual(
          values,
          keys.map((_, i) => (i % 3 === 0 ? Option.none() : Option.some(i % 2 === 0 ? `lazy ${i}` : `eager ${i}`)))
        )
      }
      assert.strictEqual((yield* Metric.value(region.metrics.hits)).count, 160)
      assert.strictEqual((yield* Metric.value(region.metrics.misses)).count, 80)
    }).pipe(Effect.scoped, Effect.provide(services(mixed)), Effect.provideService(Metric.MetricRegistry, new Map())))

  it.effect("getOrCreateMany: an all-fresh batch runs no creator; repeats and misses go through the dogpile, in order", () =>
    Effect.gen(function*() {
      const region = yield* Region.make<string>({ name: "batch-fresh" })
      const asked: Array<ReadonlyArray<string>> = []
      const creator = (keys: ReadonlyArray<unknown>) =>
        Effect.sync(() => {
          asked.push(keys as ReadonlyArray<string>)
          return keys.map((key) => `made ${String(key)}`)
        })
      yield* region.setMany([["a", "lazy a"], ["b", "eager b"], ["c", "lazy c"]])
      assert.deepStrictEqual(yield* region.getOrCreateMany(["c", "a", "b"], creator), ["lazy c", "lazy a", "eager b"])
      assert.deepStrictEqual(yield* region.getOrCreateMany(["a", "b", "a"], creator), ["lazy a", "eager b", "lazy a"])
      assert.deepStrictEqual(asked, [])
      assert.deepStrictEqual(
        yield* region.getOrCreateMany(["b", "x", "b", "a", "x"], creator),
        ["eager b", "made x", "eager b", "lazy a", "made x"]
      )
      assert.deepStrictEqual(asked, [["x"]])
      // 150 concurrent all-fresh batches: still no creator run.
      yield* Effect.forEach(Array.from({ length: 150 }, (_, i) => i), () => region.getOrCreateMany(["a", "b", "c", "x"], creator), {
        concurrency: "unbounded"
      })
      assert.deepStrictEqual(asked, [["x"]])
    }).pipe(Effect.scoped, Effect.provide(services(mixed))))
})
