import { assert, describe, it } from "@effect/vitest"
import { Backend, CachedFunction, CacheKey, Codec, Faults, Lock, MemoryBackend, Region, RegionMetrics } from "@dogpile-effect/core"
import { Effect, Fiber, Layer, Metric, Option, Ref } from "effect"
import { TestClock } from "effect/testing"
import { recorder } from "./spanRecorder.ts"

const memory = (options?: MemoryBackend.MemoryBackendOptions) =>
  Layer.mergeAll(MemoryBackend.layer(options), Codec.layerJson, Lock.layerLocal)

describe("CachedFunction.cached", () => {
  it.effect("caches by arguments, with invalidate / refresh / set / get / original", () =>
    Effect.gen(function*() {
      const region = yield* Region.make<string>({ name: "cached-fn" })
      const calls = yield* Ref.make(0)
      const greet = CachedFunction.cached(
        region,
        (name: string, n: number) => Effect.as(Ref.update(calls, (c) => c + 1), `hello ${name} ×${n} #`),
        { namespace: "greet" }
      )
      assert.strictEqual(greet.key("ada", 2), "greet|ada 2")
      assert.strictEqual(yield* greet("ada", 2), "hello ada ×2 #")
      assert.strictEqual(yield* greet("ada", 2), "hello ada ×2 #")
      assert.strictEqual(yield* Ref.get(calls), 1)
      yield* greet("lin", 1)
      assert.strictEqual(yield* Ref.get(calls), 2, "other arguments, other key")
      yield* greet.invalidate("ada", 2)
      assert.deepStrictEqual(yield* greet.get("ada", 2), Option.none())
      yield* greet("ada", 2)
      assert.strictEqual(yield* Ref.get(calls), 3)
      yield* greet.set("preset", "x", 0)
      assert.strictEqual(yield* greet("x", 0), "preset")
      assert.strictEqual(yield* greet.refresh("x", 0), "hello x ×0 #")
      assert.deepStrictEqual(yield* greet.get("x", 0), Option.some("hello x ×0 #"))
      assert.strictEqual(yield* greet.original("y", 9), "hello y ×9 #")
      assert.deepStrictEqual(yield* greet.get("y", 9), Option.none(), "original bypasses the cache")
    }).pipe(Effect.scoped, Effect.provide(memory())))

  it.effect("cachedMany creates only the missing arguments, in one call", () =>
    Effect.gen(function*() {
      const region = yield* Region.make<number>({ name: "cached-many" })
      const asked: Array<ReadonlyArray<number>> = []
      const squares = CachedFunction.cachedMany(region, (ns: ReadonlyArray<number>) => {
        asked.push(ns)
        return Effect.succeed(ns.map((n) => n * n))
      }, { namespace: "sq" })
      assert.deepStrictEqual(yield* squares([1, 2, 3]), [1, 4, 9])
      assert.deepStrictEqual(yield* squares([3, 4, 1]), [9, 16, 1])
      assert.deepStrictEqual(asked, [[1, 2, 3], [4]])
      yield* squares.invalidate([1])
      assert.deepStrictEqual(yield* squares.get([1, 2]), [Option.none(), Option.some(4)])
    }).pipe(Effect.scoped, Effect.provide(memory())))
})

describe("Region options", () => {
  it.effect("metrics are labelled by region", () =>
    Effect.gen(function*() {
      const a = yield* Region.make<number>({ name: "metrics-a", namespace: "a" })
      const b = yield* Region.make<number>({ name: "metrics-b", namespace: "b" })
      yield* a.getOrCreate("k", Effect.succeed(1))
      yield* a.getOrCreate("k", Effect.succeed(1))
      yield* b.getOrCreate("k", Effect.succeed(1))
      assert.strictEqual((yield* Metric.value(a.metrics.hits)).count, 1)
      assert.strictEqual((yield* Metric.value(a.metrics.misses)).count, 1)
      assert.strictEqual((yield* Metric.value(b.metrics.hits)).count, 0)
      assert.strictEqual((yield* Metric.value(b.metrics.creations)).count, 1)
      // The same series as the unlabelled definition labelled with `region`, and as `forRegion`.
      assert.strictEqual((yield* Metric.value(Metric.withAttributes(RegionMetrics.hits, { region: "metrics-a" }))).count, 1)
      assert.strictEqual((yield* Metric.value(RegionMetrics.forRegion("metrics-b").creations)).count, 1)
      const histogram = yield* Metric.value(Metric.withAttributes(RegionMetrics.lockWaitMillis, { region: "metrics-a" }))
      assert.strictEqual(histogram.count, (yield* Metric.value(a.metrics.lockWaitMillis)).count)
    }).pipe(Effect.scoped, Effect.provide(memory())))

  it.effect("a hash key on a backend without hash support fails with UnsupportedKeyError naming it", () =>
    Effect.gen(function*() {
      const region = yield* Region.make<number>({ name: "no-hash", namespace: "ns" })
      const error = yield* Effect.flip(region.getOrCreate(CacheKey.hash("users", "42"), Effect.succeed(1)))
      assert.strictEqual(error._tag, "UnsupportedKeyError")
      assert.include(error.message, "ns#users[42]")
    }).pipe(Effect.scoped, Effect.provide(memory({ hashKeys: false }))))

  /** Every operation of the store fails as in an outage. */
  const broken = Faults.backend({ all: { fail: 1 } }).pipe(Layer.provide(MemoryBackend.layer()))

  it.effect("backend failures are typed by default, and bypassed (creator runs, counted) when asked", () =>
    Effect.gen(function*() {
      const strict = yield* Region.make<number>({ name: "strict-down" })
      const error = yield* Effect.flip(strict.getOrCreate("k", Effect.succeed(1)))
      assert.strictEqual(error._tag, "BackendError")
      const lenient = yield* Region.make<number>({ name: "lenient-down", onBackendError: "bypass" })
      assert.strictEqual(yield* lenient.getOrCreate("k", Effect.succeed(7)), 7)
      assert.strictEqual((yield* Metric.value(lenient.metrics.bypassed)).count, 1)
    }).pipe(Effect.scoped, Effect.provide(Layer.mergeAll(broken, Codec.layerJson, Lock.layerLocal))))
})

describe("Shared invalidation marks", () => {
  it.effect("200 concurrent callers after the refresh window trigger one reload of the marks, not 200", () =>
    Effect.gen(function*() {
      const inner = yield* MemoryBackend.make()
      let markReads = 0
      const counting = Backend.of({
        ...inner,
        getMany: (keys) =>
          Effect.suspend(() => {
            if (keys.some((key) => typeof key === "string" && key.startsWith("__dogpile__:"))) markReads++
            return inner.getMany(keys)
          }).pipe(Effect.delay("1 millis"))
      })
      const region = yield* Effect.provide(
        Region.make<number>({ name: "herd" }),
        Layer.mergeAll(Layer.succeed(Backend, counting), Codec.layerJson, Lock.layerLocal)
      )
      yield* region.set("k", 1)
      // Mark reads take 1 ms of TestClock time, so concurrent callers overlap with the reload.
      const first = yield* Effect.forkChild(region.get("k"))
      yield* TestClock.adjust("1 millis")
      yield* Fiber.join(first)
      assert.strictEqual(markReads, 1, "the first read loads the marks")
      yield* TestClock.adjust("2 seconds")
      const fibers = yield* Effect.forEach(Array.from({ length: 200 }, () => 0), () => Effect.forkChild(region.get("k")))
      yield* TestClock.adjust("1 millis")
      const values = yield* Fiber.joinAll(fibers)
      assert.strictEqual(values.filter(Option.isSome).length, 200)
      assert.strictEqual(markReads, 2, "one reload for all 200 callers")
    }).pipe(Effect.scoped))
})

describe("Region spans", () => {
  it.effect("public operations open spans named for them, with the region attribute", () =>
    Effect.gen(function*() {
      const { spans, tracer } = recorder()
      const region = yield* Region.make<number>({ name: "traced" })
      yield* Effect.gen(function*() {
        yield* region.getOrCreate("k", Effect.succeed(1))
        yield* region.get("k")
        yield* region.set("k", 2)
        yield* region.getMany(["k"])
        yield* region.delete("k")
        yield* region.invalidate()
      }).pipe(Effect.withTracer(tracer))
      assert.deepStrictEqual(spans.map((span) => span.name), [
        "Region.getOrCreate",
        "Region.get",
        "Region.set",
        "Region.getMany",
        "Region.delete",
        "Region.invalidate"
      ])
      assert.isTrue(spans.every((span) => span.attributes.get("region") === "traced"))
      // A hit and a miss with tracing turned off open none; a hit under the tracer again opens one.
      yield* region.set("k", 3)
      yield* Effect.all([region.get("k"), region.getOrCreate("other", Effect.succeed(4))]).pipe(
        Effect.withTracerEnabled(false),
        Effect.withTracer(tracer)
      )
      assert.strictEqual(spans.length, 6)
      yield* region.getOrCreate("k", Effect.succeed(1)).pipe(Effect.withTracer(tracer))
      assert.deepStrictEqual(spans.map((span) => span.name).slice(6), ["Region.getOrCreate"])
    }).pipe(Effect.scoped, Effect.provide(memory())))
})
