/**
 * `Faults.backend` and `Faults.lock` over the in-memory backend and the local
 * lock: exact counts under a seeded `Random` (checked against the same seed's
 * draws), windows and delays under `TestClock`, options refused when built,
 * and what a region does over a faulty cache (bypass to the source, stale
 * served, typed errors).
 */
import { assert, describe, it } from "@effect/vitest"
import { Backend, Codec, Faults, Lock, MemoryBackend, Region } from "@dogpile-effect/core"
import { Effect, Exit, Fiber, Layer, Metric, Option, Random } from "effect"
import { TestClock } from "effect/testing"

const bytes = (text: string) => new TextEncoder().encode(text)

const faulty = (config: Faults.BackendFaultsConfig) => Faults.backend(config).pipe(Layer.provide(MemoryBackend.layer()))

/** How many of the first `n` numbers of `seed`'s sequence fall below `rate`: what a rule with that rate must count. */
const expected = (seed: number, n: number, rate: number) =>
  Effect.gen(function*() {
    let count = 0
    for (let i = 0; i < n; i++) if ((yield* Random.next) < rate) count++
    return count
  }).pipe(Random.withSeed(seed))

/** The indexes of the calls among `n` gets that fail. */
const failingCalls = (n: number) =>
  Effect.gen(function*() {
    const backend = yield* Backend
    const failed: Array<number> = []
    for (let i = 0; i < n; i++) {
      const exit = yield* Effect.exit(backend.get(`k${i}`))
      if (Exit.isFailure(exit)) failed.push(i)
    }
    return failed
  })

describe("Faults.backend: rates drawn from Random", () => {
  it.effect("fail 0.25 over 400 gets with seed 7: exactly the seed's 120 draws below 0.25 fail, the same calls in two runs", () =>
    Effect.gen(function*() {
      const run = failingCalls(400).pipe(Random.withSeed(7), Effect.provide(faulty({ get: { fail: 0.25 } })))
      const first = yield* run
      const second = yield* run
      assert.strictEqual(first.length, yield* expected(7, 400, 0.25))
      assert.strictEqual(first.length, 120)
      assert.deepStrictEqual(second, first)
      const other = yield* failingCalls(400).pipe(Random.withSeed(8), Effect.provide(faulty({ get: { fail: 0.25 } })))
      assert.notStrictEqual(other.join(","), first.join(","), "another seed, other calls")
    }))

  it.effect("200 concurrent gets with seed 7: as many failures as the seed's first 200 draws below 0.25, whatever the interleaving", () =>
    Effect.gen(function*() {
      const backend = yield* Backend
      const exits = yield* Effect.forEach(Array.from({ length: 200 }, (_, i) => `k${i}`), (key) => Effect.exit(backend.get(key)), {
        concurrency: "unbounded"
      }).pipe(Random.withSeed(7))
      const failures = exits.filter(Exit.isFailure).length
      // Each call draws one number from the one generator the fibers share.
      assert.strictEqual(failures, yield* expected(7, 200, 0.25))
      assert.strictEqual(failures, 57)
    }).pipe(Effect.provide(faulty({ get: { fail: 0.25 } }))))

  it.effect("the failure is the BackendError of an outage, naming the backend and the operation", () =>
    Effect.gen(function*() {
      const backend = yield* Backend
      const error = yield* Effect.flip(backend.getMany(["a", "b"]))
      assert.strictEqual(error._tag, "BackendError")
      assert.strictEqual(error._tag === "BackendError" && error.backend, "memory")
      assert.strictEqual(error._tag === "BackendError" && error.operation, "getMany")
      yield* backend.set("a", bytes("v"))
      assert.isTrue(Option.isSome(yield* backend.get("a")), "get has no rule: untouched")
    }).pipe(Effect.provide(faulty({ getMany: { fail: 1 } }))))

  it.effect("drop 0.5 over 200 writes: every write is acknowledged, the seeds' 98 are missing", () =>
    Effect.gen(function*() {
      const inner = yield* MemoryBackend.make()
      const backend = yield* Faults.wrapBackend(inner, { writes: { drop: 0.5 } })
      for (let i = 0; i < 200; i++) yield* backend.set(`k${i}`, bytes("v")).pipe(Random.withSeed(`drop-${i}`))
      let missing = 0
      let expectedMissing = 0
      for (let i = 0; i < 200; i++) {
        if (Option.isNone(yield* inner.get(`k${i}`))) missing++
        if ((yield* Random.next.pipe(Random.withSeed(`drop-${i}`))) < 0.5) expectedMissing++
      }
      assert.strictEqual(missing, expectedMissing)
      assert.strictEqual(missing, 98)
    }))

  it.effect("deletes can be lost too: the value stays", () =>
    Effect.gen(function*() {
      const backend = yield* Backend
      yield* backend.set("k", bytes("v"))
      yield* backend.delete("k")
      assert.isTrue(Option.isSome(yield* backend.get("k")))
    }).pipe(Effect.provide(faulty({ deletes: { drop: 1 } }))))

  it.effect("rates 0 and 1 draw nothing: the seed's sequence is left as it was", () =>
    Effect.gen(function*() {
      const backend = yield* Backend
      yield* Effect.exit(backend.get("a"))
      yield* backend.set("a", bytes("v"))
      const next = yield* Random.next
      assert.strictEqual(next, yield* Random.next.pipe(Random.withSeed(3)))
    }).pipe(Random.withSeed(3), Effect.provide(faulty({ get: { fail: 1 }, set: { drop: 0 } }))))
})

describe("Faults.backend: time from Clock", () => {
  it.effect("a window: every operation fails from t = 10 s until t = 20 s, and only then", () =>
    Effect.gen(function*() {
      const backend = yield* Backend
      const failing = (key: string) => Effect.map(Effect.exit(backend.get(key)), Exit.isFailure)
      assert.isFalse(yield* failing("a"))
      yield* TestClock.adjust("10 seconds")
      assert.isTrue(yield* failing("a"))
      assert.isTrue(Exit.isFailure(yield* Effect.exit(backend.set("a", bytes("v")))))
      yield* TestClock.adjust("9999 millis")
      assert.isTrue(yield* failing("a"))
      yield* TestClock.adjust("1 millis")
      assert.isFalse(yield* failing("a"))
    }).pipe(Effect.provide(faulty({ all: { fail: 1, during: { from: "10 seconds", until: "20 seconds" } } }))))

  it.effect("several windows and rules: delays add up, the first outcome drawn decides", () =>
    Effect.gen(function*() {
      const backend = yield* Backend
      /** A get started now: whether it failed, once its 30 ms of delay have passed. */
      const failsNow = Effect.gen(function*() {
        const fiber = yield* Effect.forkChild(Effect.exit(backend.get("a")))
        yield* TestClock.adjust("29 millis")
        assert.isUndefined(fiber.pollUnsafe(), "10 ms + 20 ms of delay")
        yield* TestClock.adjust("1 millis")
        return Exit.isFailure(yield* Fiber.join(fiber))
      })
      const seen: Array<boolean> = []
      for (const step of ["0 millis", "1 second", "1 second", "3 seconds", "1 hour"] as const) {
        yield* TestClock.adjust(step)
        seen.push(yield* failsNow)
      }
      // t = 0, 1.03 s, 2.06 s, 5.09 s, 1 h: outside, in [1 s, 2 s), outside, in [5 s, ...), in it.
      assert.deepStrictEqual(seen, [false, true, false, true, true])
    }).pipe(Effect.provide(faulty({
      all: { delay: "10 millis" },
      get: [{ delay: "20 millis" }, { fail: 1, during: [{ from: "1 second", until: "2 seconds" }, { from: "5 seconds" }] }]
    }))))

  it.effect("delay: a get answers 50 ms of Clock time later", () =>
    Effect.gen(function*() {
      const backend = yield* Backend
      const fiber = yield* Effect.forkChild(backend.get("a"))
      yield* TestClock.adjust("49 millis")
      assert.isUndefined(fiber.pollUnsafe())
      yield* TestClock.adjust("1 millis")
      assert.deepStrictEqual(yield* Fiber.join(fiber), Option.none())
    }).pipe(Effect.provide(faulty({ get: { delay: "50 millis" } }))))

  it.effect("silent: a get never answers; the caller's own timeout interrupts it", () =>
    Effect.gen(function*() {
      const backend = yield* Backend
      const fiber = yield* Effect.forkChild(Effect.timeoutOption(backend.get("a"), "5 seconds"))
      yield* TestClock.adjust("1 hour")
      assert.deepStrictEqual(yield* Fiber.join(fiber), Option.none())
    }).pipe(Effect.provide(faulty({ get: { silent: 1 } }))))

  it.effect("a read with rules loses the in-process peek; writes-only rules keep it", () =>
    Effect.gen(function*() {
      const inner = yield* MemoryBackend.make()
      assert.isDefined(inner.peek)
      assert.isUndefined((yield* Faults.wrapBackend(inner, { get: { fail: 0.1 } })).peek)
      assert.isDefined((yield* Faults.wrapBackend(inner, { set: { drop: 0.1 } })).peek)
    }))
})

describe("Faults: options validated when built", () => {
  const refused = (config: Faults.BackendFaultsConfig) =>
    Effect.flip(Effect.provide(Effect.asVoid(Backend), faulty(config)))

  it.effect("a rate outside [0, 1], rates past 1 together, a negative delay, an empty window, a fault an operation lacks, a misspelt operation", () =>
    Effect.gen(function*() {
      const cases: ReadonlyArray<readonly [Faults.BackendFaultsConfig, string]> = [
        [{ get: { fail: 1.5 } }, "get.fail"],
        [{ get: { fail: -0.1 } }, "get.fail"],
        [{ get: { fail: Number.NaN } }, "get.fail"],
        [{ get: { fail: 0.6, silent: 0.6 } }, "get"],
        [{ set: { delay: -5 } }, "set.delay"],
        [{ set: { delay: "-5 millis" } }, "set.delay"],
        [{ all: { delayRate: 2, delay: "1 millis" } }, "all.delayRate"],
        [{ all: { fail: 1, during: { from: "20 seconds", until: "10 seconds" } } }, "all.during[0]"],
        [{ reads: [{ fail: 0.1 }, { fail: 0.1, during: { from: -1 } }] }, "reads[1].during[0].from"],
        [{ get: { drop: 0.5 } as Faults.FaultRule }, "get.drop"],
        [{ get: { fail: 1, during: [] } }, "get.during"],
        [{ gett: { fail: 1 } } as Faults.BackendFaultsConfig, "gett"]
      ]
      for (const [config, option] of cases) {
        const error = yield* refused(config)
        assert.strictEqual(error._tag, "InvalidOptionError")
        assert.strictEqual(error.component, "Faults.backend")
        assert.strictEqual(error.option, option, JSON.stringify(config))
      }
      const lock = yield* Effect.flip(
        Effect.provide(Effect.asVoid(Lock), Faults.lock({ onLost: "maybe" as "fail" }).pipe(Layer.provide(Lock.layerLocal)))
      )
      assert.strictEqual(lock.option, "onLost")
      const lease = yield* Effect.flip(
        Effect.provide(Effect.asVoid(Lock), Faults.lock({ lease: { lost: 2 } }).pipe(Layer.provide(Lock.layerLocal)))
      )
      assert.strictEqual(lease.option, "lease.lost")
      const misspelt = yield* Effect.flip(
        Effect.provide(Effect.asVoid(Lock), Faults.lock({ aquire: { timeout: 1 } } as Faults.LockFaultsConfig).pipe(Layer.provide(Lock.layerLocal)))
      )
      assert.strictEqual(misspelt.option, "aquire")
    }))
})

const regionLayer = (config: Faults.BackendFaultsConfig) => Layer.mergeAll(faulty(config), Codec.layerJson, Lock.layerLocal)

describe("a region over a faulty backend", () => {
  it.effect("bypass: with the store down, 100 calls get the source's value, counted as bypassed", () =>
    Effect.gen(function*() {
      const region = yield* Region.make<number>({ name: "faults-bypass", onBackendError: "bypass" })
      let sourceCalls = 0
      const source = Effect.sync(() => ++sourceCalls)
      for (let i = 0; i < 100; i++) assert.isAbove(yield* region.getOrCreate("k", source), 0)
      assert.strictEqual(sourceCalls, 100, "nothing was cached")
      assert.strictEqual((yield* Metric.value(region.metrics.bypassed)).count, 100)
    }).pipe(Effect.scoped, Effect.provide(regionLayer({ all: { fail: 1 } }))))

  it.effect("fail (the default): the typed BackendError reaches the caller", () =>
    Effect.gen(function*() {
      const region = yield* Region.make<number>({ name: "faults-typed" })
      const error = yield* Effect.flip(region.getOrCreate("k", Effect.succeed(1)))
      assert.strictEqual(error._tag, "BackendError")
    }).pipe(Effect.scoped, Effect.provide(regionLayer({ reads: { fail: 1 } }))))

  it.effect("staleIfError: writes fail from t = 2 s; the expired value is served stale instead of the error", () =>
    Effect.gen(function*() {
      const region = yield* Region.make<string>({ name: "faults-stale", expiration: "1 second", staleIfError: true })
      yield* region.set("k", "old")
      yield* TestClock.adjust("2 seconds")
      assert.strictEqual(yield* region.getOrCreate("k", Effect.succeed("new")), "old")
      assert.strictEqual((yield* Metric.value(region.metrics.staleServed)).count, 1)
      const strict = yield* Region.make<string>({ name: "faults-stale", expiration: "1 second" })
      assert.strictEqual((yield* Effect.flip(strict.getOrCreate("k", Effect.succeed("new"))))._tag, "BackendError")
      yield* TestClock.adjust("10 seconds")
      assert.strictEqual(yield* region.getOrCreate("k", Effect.succeed("new")), "new", "after the window the store is back")
    }).pipe(Effect.scoped, Effect.provide(regionLayer({ writes: { fail: 1, during: { from: "2 seconds", until: "10 seconds" } } }))))
})

const lockLayer = (config: Faults.LockFaultsConfig) =>
  Layer.mergeAll(MemoryBackend.layer(), Codec.layerJson, Faults.lock(config).pipe(Layer.provide(Lock.layerLocal)))

describe("Faults.lock", () => {
  it.effect("acquire times out with LockTimeoutError naming the caller's timeout; tryAcquire fails with BackendError", () =>
    Effect.gen(function*() {
      const lock = yield* Lock
      const timeout = yield* Effect.flip(Effect.scoped(lock.acquire("k", "5 seconds")))
      assert.strictEqual(timeout._tag, "LockTimeoutError")
      assert.strictEqual(timeout._tag === "LockTimeoutError" && timeout.timeoutMillis, 5000)
      assert.strictEqual((yield* Effect.flip(Effect.scoped(lock.tryAcquire("k"))))._tag, "BackendError")
      assert.isUndefined(lock.tryTake, "a faulty tryAcquire takes the fast path away")
    }).pipe(Effect.provide(lockLayer({ acquire: { timeout: 1 }, tryAcquire: { fail: 1 } }))))

  it.effect("a lease reported lost: the region fails with LockLostError, and the value was stored", () =>
    Effect.gen(function*() {
      const region = yield* Region.make<number>({ name: "faults-lost" })
      const error = yield* Effect.flip(region.getOrCreate("k", Effect.succeed(1)))
      assert.strictEqual(error._tag, "LockLostError")
      assert.deepStrictEqual(yield* region.get("k"), Option.some(1))
      assert.isDefined((yield* Lock).tryTake, "no tryAcquire rule: the fast path stays")
    }).pipe(Effect.scoped, Effect.provide(lockLayer({ lease: { lost: 1 } }))))

  it.effect("onLost continue: the lease reports \"lost\" and the caller gets its value", () =>
    Effect.gen(function*() {
      const region = yield* Region.make<number>({ name: "faults-lost-continue" })
      assert.strictEqual(yield* region.getOrCreate("k", Effect.succeed(1)), 1)
      const lock = yield* Lock
      const lease = yield* Effect.scoped(lock.acquire("other", "1 second"))
      assert.strictEqual(yield* lease.confirm, "lost")
    }).pipe(Effect.scoped, Effect.provide(lockLayer({ lease: { lost: 1 }, onLost: "continue" }))))

  it.effect("the lock store down: bypass serves the source, fail surfaces BackendError", () =>
    Effect.gen(function*() {
      const lenient = yield* Region.make<number>({ name: "faults-lock-bypass", onBackendError: "bypass" })
      assert.strictEqual(yield* lenient.getOrCreate("k", Effect.succeed(7)), 7)
      const strict = yield* Region.make<number>({ name: "faults-lock-strict" })
      assert.strictEqual((yield* Effect.flip(strict.getOrCreate("k2", Effect.succeed(7))))._tag, "BackendError")
    }).pipe(Effect.scoped, Effect.provide(lockLayer({ all: { fail: 1 } }))))
})
