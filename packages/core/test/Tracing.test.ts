/**
 * What a region's spans say: one span per public call, named for it, with the
 * call's outcome, its lock wait and its creator's time (exact under
 * TestClock), the region's name, and its key only when asked for.
 */
import { assert, describe, it } from "@effect/vitest"
import { Codec, Faults, Lock, MemoryBackend, Region, RegionTracing } from "@dogpile-effect/core"
import { Effect, Fiber, Layer, Option, Random } from "effect"
import { TestClock } from "effect/testing"
import { memory, recorder } from "./spanRecorder.ts"
const creatorOf = <A>(millis: number, value: A) => Effect.andThen(Effect.sleep(millis), Effect.succeed(value))

describe("Region spans: outcomes", () => {
  it.effect("hit (synchronous and not), created (creator time), miss, error: exact attributes", () =>
    Effect.gen(function*() {
      const { named, tracer } = recorder()
      const region = yield* Region.make<number>({ name: "tr" })
      const created = yield* Effect.forkChild(region.getOrCreate("k", creatorOf(250, 1)).pipe(Effect.withTracer(tracer)))
      yield* TestClock.adjust(250)
      assert.strictEqual(yield* Fiber.join(created), 1)
      yield* region.getOrCreate("k", Effect.succeed(2)).pipe(Effect.withTracer(tracer))
      yield* region.getOrCreate("k", Effect.succeed(2), { expiration: "1 hour" }).pipe(Effect.withTracer(tracer))
      const failed = yield* Effect.flip(region.getOrCreate("bad", Effect.fail("boom" as const)).pipe(Effect.withTracer(tracer)))
      assert.strictEqual(failed, "boom")
      const base = { region: "tr", "dogpile.region": "tr" }
      assert.deepStrictEqual(named("Region.getOrCreate"), [
        { ...base, "dogpile.outcome": "created", "dogpile.creator.ms": 250 },
        { ...base, "dogpile.outcome": "hit" },
        { ...base, "dogpile.outcome": "hit" },
        { ...base, "dogpile.outcome": "error", "dogpile.creator.ms": 0 }
      ])
      yield* Effect.all([region.get("k"), region.get("none"), region.has("k"), region.has("none")]).pipe(Effect.withTracer(tracer))
      assert.deepStrictEqual(named("Region.get").map((a) => a["dogpile.outcome"]), ["hit", "miss"])
      assert.deepStrictEqual(named("Region.has").map((a) => a["dogpile.outcome"]), ["hit", "miss"])
    }).pipe(Effect.scoped, Effect.provide(memory())))

  it.effect("a caller that waits for another's creator: miss, with its lock wait; the creator's: created", () =>
    Effect.gen(function*() {
      const { named, tracer } = recorder()
      const region = yield* Region.make<number>({ name: "tr" })
      const leader = yield* Effect.forkChild(region.getOrCreate("k", creatorOf(400, 1)).pipe(Effect.withTracer(tracer)))
      yield* TestClock.adjust(100)
      const follower = yield* Effect.forkChild(region.getOrCreate("k", creatorOf(400, 2)).pipe(Effect.withTracer(tracer)))
      yield* TestClock.adjust(300)
      assert.deepStrictEqual(yield* Fiber.joinAll([leader, follower]), [1, 1])
      const [first, second] = named("Region.getOrCreate")
      assert.strictEqual(first!["dogpile.outcome"], "created")
      assert.strictEqual(first!["dogpile.creator.ms"], 400)
      assert.isUndefined(first!["dogpile.lock.wait_ms"])
      assert.strictEqual(second!["dogpile.outcome"], "miss")
      assert.strictEqual(second!["dogpile.lock.wait_ms"], 300)
      assert.isUndefined(second!["dogpile.creator.ms"])
    }).pipe(Effect.scoped, Effect.provide(memory())))

  it.effect("200 concurrent callers of one missing key: one created span, 199 miss spans that each waited the creator's 500 ms", () =>
    Effect.gen(function*() {
      const { named, tracer } = recorder()
      const region = yield* Region.make<number>({ name: "tr" })
      const callers = yield* Effect.forkChild(
        Effect.forEach(Array.from({ length: 200 }), () => region.getOrCreate("k", creatorOf(500, 1)), { concurrency: "unbounded" }).pipe(
          Effect.withTracer(tracer)
        )
      )
      yield* TestClock.adjust(500)
      assert.strictEqual((yield* Fiber.join(callers)).length, 200)
      const spans = named("Region.getOrCreate")
      assert.strictEqual(spans.length, 200)
      const created = spans.filter((a) => a["dogpile.outcome"] === "created")
      const waited = spans.filter((a) => a["dogpile.outcome"] === "miss")
      assert.deepStrictEqual(created.map((a) => a["dogpile.creator.ms"]), [500])
      assert.strictEqual(waited.length, 199)
      assert.isTrue(waited.every((a) => a["dogpile.lock.wait_ms"] === 500 && a["dogpile.creator.ms"] === undefined))
    }).pipe(Effect.scoped, Effect.provide(memory())))

  it.effect("stale: the caller that regenerates says created, the one served meanwhile stale_served", () =>
    Effect.gen(function*() {
      const { named, tracer } = recorder()
      const region = yield* Region.make<number>({ name: "tr", expiration: "1 second" })
      yield* region.set("k", 1)
      yield* TestClock.adjust("2 seconds")
      const regenerating = yield* Effect.forkChild(region.getOrCreate("k", creatorOf(500, 2)).pipe(Effect.withTracer(tracer)))
      yield* TestClock.adjust(10)
      assert.strictEqual(yield* region.getOrCreate("k", creatorOf(500, 3)).pipe(Effect.withTracer(tracer)), 1)
      yield* TestClock.adjust(490)
      assert.strictEqual(yield* Fiber.join(regenerating), 2)
      const outcomes = named("Region.getOrCreate")
      assert.deepStrictEqual(outcomes.map((a) => a["dogpile.outcome"]), ["created", "stale_served"])
      assert.strictEqual(outcomes[0]!["dogpile.creator.ms"], 500)
    }).pipe(Effect.scoped, Effect.provide(memory())))

  it.effect("backgroundRefresh: the caller is served stale; the refresh's own span says created, with its creator time", () =>
    Effect.gen(function*() {
      const { named, tracer } = recorder()
      const region = yield* Region.make<number>({ name: "tr", expiration: "1 second", backgroundRefresh: true })
      yield* region.set("k", 1)
      yield* TestClock.adjust("2 seconds")
      assert.strictEqual(yield* region.getOrCreate("k", creatorOf(700, 2)).pipe(Effect.withTracer(tracer)), 1)
      yield* TestClock.adjust(700)
      yield* region.awaitBackground
      assert.deepStrictEqual(named("Region.getOrCreate").map((a) => a["dogpile.outcome"]), ["stale_served"])
      assert.deepStrictEqual(named("Region.backgroundRefresh"), [{ "dogpile.outcome": "created", "dogpile.creator.ms": 700 }])
    }).pipe(Effect.scoped, Effect.provide(memory())))

  it.effect("early refresh (XFetch): early_refresh", () =>
    Effect.gen(function*() {
      const { named, tracer } = recorder()
      const region = yield* Region.make<number>({ name: "tr", expiration: "10 seconds", earlyRefresh: { beta: 1 } })
      const first = yield* Effect.forkChild(region.getOrCreate("k", creatorOf(1000, 1)))
      yield* TestClock.adjust("1 second")
      yield* Fiber.join(first)
      yield* TestClock.adjust("9 seconds")
      const draw: Random.Random = { nextDoubleUnsafe: () => 0.01, nextIntUnsafe: () => 0 }
      assert.strictEqual(
        yield* region.getOrCreate("k", creatorOf(1000, 2)).pipe(Effect.withTracer(tracer), Effect.provideService(Random.Random, draw)),
        1
      )
      yield* TestClock.adjust("1 second")
      yield* region.awaitBackground
      assert.deepStrictEqual(named("Region.getOrCreate").map((a) => a["dogpile.outcome"]), ["early_refresh"])
    }).pipe(Effect.scoped, Effect.provide(memory())))

  it.effect("bypassed: the backend is down and the region runs the creator alone", () =>
    Effect.gen(function*() {
      const { named, tracer } = recorder()
      const region = yield* Region.make<number>({ name: "tr", onBackendError: "bypass" })
      yield* region.getOrCreate("k", Effect.succeed(1)).pipe(Effect.withTracer(tracer))
      yield* region.getOrCreateMany(["a", "b", "a"], (keys) => Effect.succeed(keys.map(() => 2))).pipe(Effect.withTracer(tracer))
      assert.deepStrictEqual(named("Region.getOrCreate").map((a) => a["dogpile.outcome"]), ["bypassed"])
      const [many] = named("Region.getOrCreateMany")
      assert.strictEqual(many!["dogpile.keys"], 3)
      assert.strictEqual(many!["dogpile.outcome.bypassed"], 2)
    }).pipe(
      Effect.scoped,
      Effect.provide(Layer.mergeAll(Faults.backend({ all: { fail: 1 } }).pipe(Layer.provide(MemoryBackend.layer())), Codec.layerJson, Lock.layerLocal))
    ))

  it.effect("many-key calls: the key count and a count per outcome", () =>
    Effect.gen(function*() {
      const { named, tracer } = recorder()
      const region = yield* Region.make<number>({ name: "tr" })
      yield* region.set("a", 1)
      const many = yield* Effect.forkChild(
        region.getOrCreateMany(["a", "b", "c"], (keys) => Effect.as(Effect.sleep(50), keys.map(() => 2))).pipe(Effect.withTracer(tracer))
      )
      yield* TestClock.adjust(50)
      assert.deepStrictEqual(yield* Fiber.join(many), [1, 2, 2])
      yield* region.getMany(["a", "b", "z"]).pipe(Effect.withTracer(tracer))
      yield* region.setMany([["x", 1], ["y", 2]]).pipe(Effect.withTracer(tracer))
      const base = { region: "tr", "dogpile.region": "tr" }
      assert.deepStrictEqual(named("Region.getOrCreateMany"), [
        { ...base, "dogpile.keys": 3, "dogpile.outcome.hit": 1, "dogpile.outcome.created": 2, "dogpile.creator.ms": 50 }
      ])
      assert.deepStrictEqual(named("Region.getMany"), [{ ...base, "dogpile.keys": 3, "dogpile.outcome.hit": 2, "dogpile.outcome.miss": 1 }])
      assert.deepStrictEqual(named("Region.setMany"), [{ ...base, "dogpile.keys": 2 }])
    }).pipe(Effect.scoped, Effect.provide(memory())))
})

describe("Region spans: one per public call", () => {
  it.effect("every public call opens one span named for it, with the region", () =>
    Effect.gen(function*() {
      const { spans, tracer } = recorder()
      const region = yield* Region.make<number>({ name: "tr" })
      yield* Effect.gen(function*() {
        yield* region.getOrCreate("k", Effect.succeed(1))
        yield* region.getOrCreateMany(["k", "j"], (keys) => Effect.succeed(keys.map(() => 1)))
        yield* region.get("k")
        yield* region.getMany(["k"])
        yield* region.has("k")
        yield* region.set("k", 2)
        yield* region.setMany([["k", 3]])
        yield* region.inspect("k")
        yield* region.lockStatus("k")
        yield* region.delete("k")
        yield* region.deleteMany(["j"])
        yield* region.invalidateTags(["t"])
        yield* region.invalidate()
      }).pipe(Effect.withTracer(tracer))
      assert.deepStrictEqual(spans.map((span) => span.name), [
        "Region.getOrCreate",
        "Region.getOrCreateMany",
        "Region.get",
        "Region.getMany",
        "Region.has",
        "Region.set",
        "Region.setMany",
        "Region.inspect",
        "Region.lockStatus",
        "Region.delete",
        "Region.deleteMany",
        "Region.invalidateTags",
        "Region.invalidate"
      ])
      assert.isTrue(spans.every((span) => span.attributes.get("dogpile.region") === "tr" && span.status._tag === "Ended"))
    }).pipe(Effect.scoped, Effect.provide(memory())))
})

describe("Region spans: parents and keys", () => {
  it.effect("the region's span is the caller's child; the creator's own spans are the region span's children", () =>
    Effect.gen(function*() {
      const { spans, tracer } = recorder()
      const region = yield* Region.make<number>({ name: "tr" })
      yield* region.getOrCreate("k", Effect.succeed(1).pipe(Effect.withSpan("db.find"))).pipe(
        Effect.withSpan("handler"),
        Effect.withTracer(tracer)
      )
      const byName = new Map(spans.map((span) => [span.name, span]))
      const parentOf = (name: string) => Option.getOrUndefined(byName.get(name)!.parent)
      assert.strictEqual(parentOf("Region.getOrCreate"), byName.get("handler"))
      assert.strictEqual(parentOf("db.find"), byName.get("Region.getOrCreate"))
      // The caller's span carries none of the region's attributes.
      assert.deepStrictEqual([...byName.get("handler")!.attributes.keys()], [])
    }).pipe(Effect.scoped, Effect.provide(memory())))

  it.effect("keys are on no span by default; RegionTracing.RecordKeys names the key of single-key calls", () =>
    Effect.gen(function*() {
      const { spans, tracer } = recorder()
      const region = yield* Region.make<number>({ name: "tr" })
      const secret = "user:ada@example.com"
      const calls = Effect.gen(function*() {
        yield* region.getOrCreate(secret, Effect.succeed(1))
        yield* region.getOrCreate(secret, Effect.succeed(1))
        yield* region.get(secret)
        yield* region.getMany([secret])
        yield* region.has(secret)
        yield* region.set(secret, 2)
        yield* region.delete(secret)
      }).pipe(Effect.withTracer(tracer))
      yield* calls
      assert.strictEqual(spans.length, 7)
      const mentions = spans.filter((span) => [...span.attributes.values()].some((value) => String(value).includes("ada")))
      assert.deepStrictEqual(mentions, [])
      spans.length = 0
      yield* calls.pipe(Effect.provideService(RegionTracing.RecordKeys, true))
      assert.deepStrictEqual(spans.map((span) => span.attributes.get("dogpile.key")), [secret, secret, secret, undefined, secret, secret, secret])
    }).pipe(Effect.scoped, Effect.provide(memory())))

  it.effect("no exporting tracer: no span, and the caller's own span gets no attribute", () =>
    Effect.gen(function*() {
      const region = yield* Region.make<number>({ name: "tr" })
      const span = yield* Effect.gen(function*() {
        yield* region.getOrCreate("k", Effect.succeed(1))
        yield* region.getOrCreateMany(["k", "j"], (keys) => Effect.succeed(keys.map(() => 1)))
        return yield* Effect.currentSpan
      }).pipe(Effect.withSpan("handler"))
      assert.strictEqual(span.name, "handler")
      assert.deepStrictEqual([...span.attributes.keys()], [])
    }).pipe(Effect.scoped, Effect.provide(memory())))
})
