/**
 * `Faults.backend` and `Faults.lock` wrapping the real RedisBackend and
 * RedisLock: exact counts under a seeded `Random`, lost writes checked in
 * Redis itself, a window under `TestClock`, and regions over the faulty store
 * (bypass to the source, stale served, typed errors, a lease reported lost).
 */
import { assert, describe, it } from "@effect/vitest"
import { Backend, Codec, Faults, Region } from "@dogpile-effect/core"
import { RedisBackend, RedisClient, RedisLock } from "@dogpile-effect/redis"
import { Effect, Exit, Layer, Metric, Option, Random } from "effect"
import { TestClock } from "effect/testing"
import { inject } from "vitest"

const url = inject("redisUrl")
const run = `${process.pid}-${Date.now().toString(36)}`
let counter = 0
const unique = (label: string) => `faults-${label}-${run}-${counter++}`
const bytes = (text: string) => new TextEncoder().encode(text)

const client = RedisClient.layer({ url })
const redis = Layer.mergeAll(RedisBackend.layer(), RedisLock.layer()).pipe(Layer.provideMerge(client))

/** RedisBackend with `config`'s faults, RedisLock and the client, as a test of the application would build them. */
const faulty = (config: Faults.BackendFaultsConfig, lock: Faults.LockFaultsConfig = {}) =>
  Layer.mergeAll(Faults.backend(config), Faults.lock(lock), Codec.layerJson).pipe(Layer.provideMerge(redis))

/** How many of the first `n` numbers of `seed`'s sequence fall below `rate`. */
const expected = (seed: number, n: number, rate: number) =>
  Effect.gen(function*() {
    let count = 0
    for (let i = 0; i < n; i++) if ((yield* Random.next) < rate) count++
    return count
  }).pipe(Random.withSeed(seed))

const raw = <A>(operation: string, f: (c: RedisClient.RedisConnection) => Promise<A>) =>
  Effect.flatMap(RedisClient.RedisClient, (r) => r.use(operation, f))

describe("Faults.backend over RedisBackend", () => {
  it.live("fail 0.25 over 400 gets with seed 7: the same 120 calls fail in two runs, each a BackendError naming redis", () =>
    Effect.gen(function*() {
      const backend = yield* Backend
      const key = unique("get")
      yield* raw("set", (c) => c.set(key, "v"))
      const calls = Effect.gen(function*() {
        const failed: Array<number> = []
        for (let i = 0; i < 400; i++) {
          const exit = yield* Effect.exit(backend.get(key))
          if (Exit.isFailure(exit)) {
            failed.push(i)
            const error = exit.cause.reasons[0]
            assert.isTrue(error !== undefined && error._tag === "Fail" && error.error._tag === "BackendError")
          } else {
            assert.isTrue(Option.isSome(exit.value), "the others read Redis")
          }
        }
        return failed
      }).pipe(Random.withSeed(7))
      const first = yield* calls
      assert.strictEqual(first.length, yield* expected(7, 400, 0.25))
      assert.strictEqual(first.length, 120)
      assert.deepStrictEqual(yield* calls, first)
    }).pipe(Effect.provide(faulty({ get: { fail: 0.25 } }))))

  it.live("200 concurrent gets on Redis with seed 7: 57 failures, the seed's first 200 draws below 0.25", () =>
    Effect.gen(function*() {
      const backend = yield* Backend
      const exits = yield* Effect.forEach(Array.from({ length: 200 }, () => unique("many")), (key) => Effect.exit(backend.get(key)), {
        concurrency: "unbounded"
      }).pipe(Random.withSeed(7))
      const failures = exits.filter(Exit.isFailure).length
      assert.strictEqual(failures, yield* expected(7, 200, 0.25))
      assert.strictEqual(failures, 57)
    }).pipe(Effect.provide(faulty({ get: { fail: 0.25 } }))))

  it.live("drop 0.5 over 200 writes: all acknowledged, and Redis holds exactly the 200 - 100 the seed kept", () =>
    Effect.gen(function*() {
      const backend = yield* Backend
      const keys = Array.from({ length: 200 }, () => unique("drop"))
      yield* Effect.forEach(keys, (key) => backend.set(key, bytes("v")), { discard: true }).pipe(Random.withSeed(11))
      const present = yield* raw("exists", (c) => c.exists(...keys))
      const dropped = yield* expected(11, 200, 0.5)
      assert.strictEqual(present, 200 - dropped)
      assert.strictEqual(dropped, 100)
    }).pipe(Effect.provide(faulty({ set: { drop: 0.5 } }))))

  it.effect("a window under TestClock: Redis reads fail from t = 10 s until t = 20 s", () =>
    Effect.gen(function*() {
      const backend = yield* Backend
      const failing = Effect.map(Effect.exit(backend.get(unique("window"))), Exit.isFailure)
      const seen: Array<boolean> = []
      for (const step of ["0 millis", "10 seconds", "9999 millis", "1 millis"] as const) {
        yield* TestClock.adjust(step)
        seen.push(yield* failing)
      }
      assert.deepStrictEqual(seen, [false, true, true, false])
    }).pipe(Effect.provide(faulty({ reads: { fail: 1, during: { from: "10 seconds", until: "20 seconds" } } }))))
})

describe("a region over a faulty Redis", () => {
  it.live("bypass: with every Redis operation failing, 100 calls get the source's value, 100 bypassed", () =>
    Effect.gen(function*() {
      const region = yield* Region.make<number>({ name: unique("bypass"), onBackendError: "bypass" })
      let sourceCalls = 0
      for (let i = 0; i < 100; i++) yield* region.getOrCreate("k", Effect.sync(() => ++sourceCalls))
      assert.strictEqual(sourceCalls, 100)
      assert.strictEqual((yield* Metric.value(region.metrics.bypassed)).count, 100)
    }).pipe(Effect.scoped, Effect.provide(faulty({ all: { fail: 1 } }))))

  it.live("staleIfError: the value in Redis expired, writes fail: the stale value is served; without it, BackendError", () =>
    Effect.gen(function*() {
      const name = unique("stale")
      const options = { name, expiration: "100 millis", storeTtl: "1 minute" } as const
      yield* Effect.scoped(Effect.flatMap(Region.make<string>(options), (r) => r.set("k", "old"))).pipe(
        Effect.provide(Layer.mergeAll(redis, Codec.layerJson))
      )
      yield* Effect.sleep("250 millis")
      const served = yield* Effect.scoped(Effect.gen(function*() {
        const lenient = yield* Region.make<string>({ ...options, staleIfError: true })
        const value = yield* lenient.getOrCreate("k", Effect.succeed("new"))
        const strict = yield* Region.make<string>(options)
        const error = yield* Effect.flip(strict.getOrCreate("k", Effect.succeed("new")))
        return { value, error: error._tag, stale: (yield* Metric.value(lenient.metrics.staleServed)).count }
      })).pipe(Effect.provide(faulty({ writes: { fail: 1 } })))
      assert.deepStrictEqual(served, { value: "old", error: "BackendError", stale: 1 })
    }))

  it.live("a RedisLock lease reported lost: LockLostError reaches the caller, and the value is in Redis", () =>
    Effect.gen(function*() {
      const region = yield* Region.make<number>({ name: unique("lost"), namespace: unique("lostns") })
      const error = yield* Effect.flip(region.getOrCreate("k", Effect.succeed(42)))
      assert.strictEqual(error._tag, "LockLostError")
      assert.deepStrictEqual(yield* region.get("k"), Option.some(42))
    }).pipe(Effect.scoped, Effect.provide(faulty({}, { lease: { lost: 1 } }))))

  it.live("RedisLock acquisitions time out: LockTimeoutError with the caller's timeout", () =>
    Effect.gen(function*() {
      const lock = yield* Faults.wrapLock(yield* RedisLock.make(), { acquire: { timeout: 1 } })
      const error = yield* Effect.flip(Effect.scoped(lock.acquire(unique("lock"), "3 seconds")))
      assert.strictEqual(error._tag, "LockTimeoutError")
      assert.strictEqual(error._tag === "LockTimeoutError" && error.timeoutMillis, 3000)
    }).pipe(Effect.provide(client)))
})
