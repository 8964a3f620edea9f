import { assert, describe, it } from "@effect/vitest"
import {
  Codec,
  Faults,
  InvalidOptionError,
  Lock,
  MemoryBackend,
  Region,
  RegionMetrics,
  RegionResolver
} from "@dogpile-effect/core"
import { Data, Effect, Exit, Fiber, Layer, Metric, Option, Request, RequestResolver } from "effect"
import { TestClock } from "effect/testing"

const memory = Layer.mergeAll(MemoryBackend.layer(), Codec.layerJson, Lock.layerLocal)
const withRegistry = Effect.provideService(Metric.MetricRegistry, new Map())

class UserNotFound extends Data.TaggedError("UserNotFound")<{ readonly id: number }> {}

interface GetUser extends Request.Request<string, UserNotFound> {
  readonly _tag: "GetUser"
  readonly id: number
}
const GetUser = Request.tagged<GetUser>("GetUser")

/** A batched source that records each batch (the ids it was asked for) and fails the ids in `missing`. */
const source = (missing: ReadonlySet<number> = new Set()) => {
  const batches: Array<ReadonlyArray<number>> = []
  const resolver = RequestResolver.make<GetUser>((entries) =>
    Effect.sync(() => {
      batches.push(entries.map((entry) => entry.request.id))
      for (const entry of entries) {
        const id = entry.request.id
        entry.completeUnsafe(missing.has(id) ? Exit.fail(new UserNotFound({ id })) : Exit.succeed(`user ${id}`))
      }
    })
  )
  return { batches, resolver }
}

const ids = (n: number) => Array.from({ length: n }, (_, i) => i)
const key = (request: GetUser) => `user:${request.id}`
const requestAll = (resolver: RequestResolver.RequestResolver<GetUser>, list: ReadonlyArray<number>) =>
  Effect.forEach(list, (id) => Effect.request(GetUser({ id }), resolver), { concurrency: "unbounded" })
const counts = (region: string) =>
  Effect.all({
    hits: Effect.map(Metric.value(RegionMetrics.forRegion(region).hits), (s) => s.count),
    misses: Effect.map(Metric.value(RegionMetrics.forRegion(region).misses), (s) => s.count),
    creations: Effect.map(Metric.value(RegionMetrics.forRegion(region).creations), (s) => s.count)
  })

describe("RegionResolver", () => {
  it.effect("500 concurrent requests, 100 cached: one batch of the 400 misses; a second round is all hits", () =>
    Effect.gen(function*() {
      const region = yield* Region.make<string>({ name: "rr-users", expiration: "1 minute" })
      yield* region.setMany(ids(100).map((id) => [`user:${id}`, `cached ${id}`] as const))
      const { batches, resolver } = source()
      const cached = yield* RegionResolver.make(region, resolver, { key })

      const first = yield* requestAll(cached, ids(500))
      assert.strictEqual(batches.length, 1, "one batch to the underlying resolver")
      assert.deepStrictEqual(batches[0], ids(500).slice(100), "exactly the 400 misses, in order")
      assert.deepStrictEqual(first.slice(0, 100), ids(100).map((id) => `cached ${id}`))
      assert.deepStrictEqual(first.slice(100), ids(500).slice(100).map((id) => `user ${id}`))
      assert.deepStrictEqual(yield* counts("rr-users"), { hits: 100, misses: 400, creations: 400 })
      assert.deepStrictEqual(yield* region.get("user:499"), Option.some("user 499"), "results stored")

      const second = yield* requestAll(cached, ids(500))
      assert.strictEqual(batches.length, 1, "no batch: every key is fresh")
      assert.deepStrictEqual(second, first)
      assert.deepStrictEqual(yield* counts("rr-users"), { hits: 601, misses: 400, creations: 400 }, "500 more, besides the get above")
    }).pipe(Effect.scoped, Effect.provide(memory), withRegistry))

  it.effect("requests sharing a key in a batch are resolved once: 300 requests over 30 keys, one batch of 30", () =>
    Effect.gen(function*() {
      const region = yield* Region.make<string>({ name: "rr-dupes" })
      const { batches, resolver } = source()
      const cached = yield* RegionResolver.make(region, resolver, { key })
      const list = ids(300).map((i) => i % 30)
      const values = yield* requestAll(cached, list)
      assert.deepStrictEqual(batches, [ids(30)])
      assert.deepStrictEqual(values, list.map((id) => `user ${id}`))
    }).pipe(Effect.scoped, Effect.provide(memory), withRegistry))

  it.effect("a request the source fails gets its own error and is not stored; the others are, and hits stay hits", () =>
    Effect.gen(function*() {
      const region = yield* Region.make<string>({ name: "rr-partial" })
      yield* region.setMany(ids(250).slice(200).map((id) => [`user:${id}`, `cached ${id}`] as const))
      const odd = new Set(ids(200).filter((id) => id % 2 === 1))
      const { batches, resolver } = source(odd)
      const cached = yield* RegionResolver.make(region, resolver, { key })
      const requestExits = Effect.forEach(
        ids(250),
        (id) => Effect.exit(Effect.request(GetUser({ id }), cached)),
        { concurrency: "unbounded" }
      )
      const exits = yield* requestExits
      assert.deepStrictEqual(batches, [ids(200)], "one batch: the 200 misses")
      ids(250).forEach((id) => {
        const expected = id >= 200
          ? Exit.succeed(`cached ${id}`)
          : odd.has(id)
          ? Exit.fail(new UserNotFound({ id }))
          : Exit.succeed(`user ${id}`)
        assert.deepStrictEqual(exits[id], expected, `id ${id}`)
      })
      assert.deepStrictEqual(yield* requestExits, exits, "the same answers the second time")
      assert.strictEqual(batches.length, 2)
      assert.deepStrictEqual(batches[1], [...odd], "the second round asks for the failed ids only")
    }).pipe(Effect.scoped, Effect.provide(memory), withRegistry))

  it.effect("expired keys go back to the source in one batch (TestClock)", () =>
    Effect.gen(function*() {
      const region = yield* Region.make<string>({ name: "rr-expiry", expiration: "10 seconds" })
      const { batches, resolver } = source()
      const cached = yield* RegionResolver.make(region, resolver, { key })
      yield* requestAll(cached, ids(150))
      yield* TestClock.adjust("5 seconds")
      yield* requestAll(cached, ids(150))
      assert.strictEqual(batches.length, 1, "fresh after 5 s")
      yield* TestClock.adjust("6 seconds")
      const values = yield* requestAll(cached, ids(150))
      assert.strictEqual(batches.length, 2, "expired after 11 s: one more batch")
      assert.deepStrictEqual(batches[1], ids(150))
      assert.deepStrictEqual(values, ids(150).map((id) => `user ${id}`))
    }).pipe(Effect.scoped, Effect.provide(memory), withRegistry))

  it.effect("when the region fails (onBackendError: fail), the requests go to the source without it", () =>
    Effect.gen(function*() {
      const region = yield* Region.make<string>({ name: "rr-down", onBackendError: "fail" })
      const { batches, resolver } = source()
      const cached = yield* RegionResolver.make(region, resolver, { key })
      const values = yield* requestAll(cached, ids(120))
      assert.deepStrictEqual(values, ids(120).map((id) => `user ${id}`))
      assert.deepStrictEqual(batches, [ids(120)], "one batch, without the cache")
    }).pipe(
      Effect.scoped,
      Effect.provide(Layer.mergeAll(
        Faults.backend({ all: { fail: 1 } }).pipe(Layer.provide(MemoryBackend.layer())),
        Codec.layerJson,
        Lock.layerLocal
      )),
      withRegistry
    ))

  it.effect("getOrCreate options apply to the stored values: tags (invalidateTags) and expiration", () =>
    Effect.gen(function*() {
      const region = yield* Region.make<string>({ name: "rr-tags", expiration: "1 hour" })
      const { batches, resolver } = source()
      const cached = yield* RegionResolver.make(region, resolver, {
        key,
        getOrCreate: { tags: ["users"], expiration: "10 seconds" }
      })
      yield* requestAll(cached, ids(100))
      yield* TestClock.adjust("1 second")
      yield* region.invalidateTags(["users"], { hard: true })
      yield* TestClock.adjust("1 second") // tag marks are re-read at most once a second
      yield* requestAll(cached, ids(100))
      assert.deepStrictEqual(batches, [ids(100), ids(100)], "the tag invalidated all 100")
      yield* TestClock.adjust("11 seconds")
      yield* requestAll(cached, ids(100))
      assert.strictEqual(batches.length, 3, "expired after the call's 10 seconds, not the region's hour")
    }).pipe(Effect.scoped, Effect.provide(memory), withRegistry))

  it.effect("callers interrupted mid-batch: the running batch completes and is stored; a new round waits for it", () =>
    Effect.gen(function*() {
      const region = yield* Region.make<string>({ name: "rr-interrupt" })
      const started: Array<number> = []
      const slow = RequestResolver.make<GetUser>((entries) =>
        Effect.sync(() => started.push(entries.length)).pipe(
          Effect.andThen(Effect.sleep("1 minute")),
          Effect.andThen(Effect.sync(() => {
            for (const entry of entries) entry.completeUnsafe(Exit.succeed(`user ${entry.request.id}`))
          }))
        )
      )
      const cached = yield* RegionResolver.make(region, slow, { key })
      const first = yield* Effect.forkChild(requestAll(cached, ids(100)))
      yield* TestClock.adjust("1 second")
      assert.deepStrictEqual(started, [100])
      // Effect does not interrupt a batch that has started when its callers leave: it runs on,
      // holding the keys' locks, and its values are stored.
      yield* Fiber.interrupt(first)
      assert.strictEqual((yield* region.lockStatus("user:0"))._tag, "Held")
      const second = yield* Effect.forkChild(requestAll(cached, ids(100)))
      yield* TestClock.adjust("1 minute")
      assert.deepStrictEqual(yield* Fiber.join(second), ids(100).map((id) => `user ${id}`))
      assert.deepStrictEqual(started, [100], "the second round waited for the first batch's values")
      assert.strictEqual((yield* region.lockStatus("user:0"))._tag, "Free")
    }).pipe(Effect.scoped, Effect.provide(memory), withRegistry))

  it.effect("options are checked when built: InvalidOptionError", () =>
    Effect.gen(function*() {
      const region = yield* Region.make<string>({ name: "rr-invalid" })
      const { resolver } = source()
      const noKey = yield* Effect.flip(
        RegionResolver.make(region, resolver, { key: "id" as unknown as (request: GetUser) => string })
      )
      assert.instanceOf(noKey, InvalidOptionError)
      assert.strictEqual(noKey.option, "key")
      const notResolver = yield* Effect.flip(
        RegionResolver.make(region, {} as RequestResolver.RequestResolver<GetUser>, { key })
      )
      assert.strictEqual(notResolver.option, "resolver")
      const badExpiration = yield* Effect.flip(
        RegionResolver.make(region, resolver, { key, getOrCreate: { expiration: "soon" as "1 minute" } })
      )
      assert.strictEqual(badExpiration.option, "getOrCreate.expiration")
      const badTags = yield* Effect.flip(
        RegionResolver.make(region, resolver, { key, getOrCreate: { tags: "users" as unknown as Array<string> } })
      )
      assert.strictEqual(badTags.option, "getOrCreate.tags")
    }).pipe(Effect.scoped, Effect.provide(memory), withRegistry))
})
