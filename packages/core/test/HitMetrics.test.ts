import { assert, describe, it } from "@effect/vitest"
import { Codec, Lock, MemoryBackend, Region, RegionMetrics } from "@dogpile-effect/core"
import { Effect, Layer, Metric } from "effect"

// Hits and misses of single-key reads are counted through a series found once per registry and
// attributes (internal/hotCounter.ts): these pin that they stay the series `Metric.update` would use.

const memory = Layer.mergeAll(MemoryBackend.layer(), Codec.layerJson, Lock.layerLocal)
const hitsOf = (region: string) => Metric.value(RegionMetrics.forRegion(region).hits)
const missesOf = (region: string) => Metric.value(RegionMetrics.forRegion(region).misses)
const withRegistry = (registry: Metric.MetricRegistry) => Effect.provideService(Metric.MetricRegistry, registry)
const withTenant = (tenant: string) => Effect.provideService(Metric.CurrentMetricAttributes, { tenant })

describe("hit and miss counts", () => {
  it.effect("every hit of 200 concurrent fibers is counted, and visible as soon as the call returns", () =>
    Effect.gen(function*() {
      const region = yield* Region.make<number>({ name: "hot-200" })
      yield* region.set("k", 1)
      for (let i = 1; i <= 5; i++) {
        yield* region.getOrCreate("k", Effect.succeed(0))
        assert.strictEqual((yield* hitsOf("hot-200")).count, i)
      }
      yield* Effect.forEach(Array.from({ length: 200 }, (_, i) => i), () => region.get("k"), { concurrency: "unbounded" })
      assert.strictEqual((yield* hitsOf("hot-200")).count, 205)
      yield* region.get("absent")
      assert.strictEqual((yield* missesOf("hot-200")).count, 1)
    }).pipe(Effect.scoped, Effect.provide(memory), withRegistry(new Map())))

  it.effect("each registry and each set of contextual attributes has its own series", () =>
    Effect.gen(function*() {
      const first: Metric.MetricRegistry = new Map()
      const second: Metric.MetricRegistry = new Map()
      const region = yield* Region.make<number>({ name: "hot-series" })
      yield* region.set("k", 1)
      const hit = region.getOrCreate("k", Effect.succeed(0))
      yield* hit.pipe(withRegistry(first))
      yield* hit.pipe(withRegistry(second))
      yield* hit.pipe(withRegistry(first))
      yield* hit.pipe(withTenant("a"), withRegistry(first))
      yield* hit.pipe(withTenant("b"), withRegistry(first))
      yield* hit.pipe(withTenant("a"), withRegistry(first))
      assert.strictEqual((yield* hitsOf("hot-series").pipe(withRegistry(first))).count, 2)
      assert.strictEqual((yield* hitsOf("hot-series").pipe(withRegistry(second))).count, 1)
      assert.strictEqual((yield* hitsOf("hot-series").pipe(withTenant("a"), withRegistry(first))).count, 2)
      assert.strictEqual((yield* hitsOf("hot-series").pipe(withTenant("b"), withRegistry(first))).count, 1)
      // The same series as the unlabelled definition labelled with `region` (and the tenant).
      const labelled = Metric.withAttributes(RegionMetrics.hits, { region: "hot-series" })
      assert.strictEqual((yield* Metric.value(labelled).pipe(withTenant("a"), withRegistry(first))).count, 2)
      assert.deepStrictEqual(
        first.size,
        3,
        "one hits series per attribute set ({region}, {region, tenant a}, {region, tenant b}), no misses yet"
      )
    }).pipe(Effect.scoped, Effect.provide(memory)))

  it.effect("a removed series is created anew by the next hit, and regions of one name share a series", () =>
    Effect.gen(function*() {
      const a = yield* Region.make<number>({ name: "hot-shared", namespace: "a" })
      const b = yield* Region.make<number>({ name: "hot-shared", namespace: "b" })
      yield* a.set("k", 1)
      yield* b.set("k", 1)
      yield* a.get("k")
      yield* b.get("k")
      yield* a.get("k")
      assert.strictEqual((yield* hitsOf("hot-shared")).count, 3)
      yield* Metric.remove(a.metrics.hits)
      assert.strictEqual((yield* Metric.snapshot).length, 0)
      yield* a.get("k")
      assert.strictEqual((yield* hitsOf("hot-shared")).count, 1)
      yield* b.get("k")
      assert.strictEqual((yield* hitsOf("hot-shared")).count, 2)
    }).pipe(Effect.scoped, Effect.provide(memory), withRegistry(new Map())))
})
