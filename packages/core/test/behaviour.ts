/**
 * The region's behaviour suite: dogpile's semantics (and ours beyond them),
 * written once and run against any Backend/Codec/Lock Layer set — the
 * in-memory one here, the Redis and hash-storage ones in their packages.
 */
import { assert, describe, it } from "@effect/vitest"
import {
  Backend,
  CacheKey,
  Codec,
  Conditional,
  Envelope,
  Invalidation,
  KeyMangler,
  Lock,
  Region
} from "@dogpile-effect/core"
import { Deferred, Effect, Exit, Fiber, Layer, Metric, Option, Ref, Schedule, Schema, Scope } from "effect"
import { TestClock } from "effect/testing"

/** What the suite needs from a store under test. */
export interface BehaviourTarget {
  /** A label for the describe block. */
  readonly name: string
  /** A fresh Backend/Codec/Lock Layer set; built once per test. */
  readonly layer: () => Layer.Layer<Backend | Codec | Lock, unknown>
  /** Maps a test key to the key the region is given (e.g. a hash-addressed key). */
  readonly key?: (name: string) => CacheKey.CacheKey
  /** Whether the suite may use real time for concurrency tests (always true here). */
  readonly concurrency?: number
}

class CreatorFailed extends Schema.TaggedError<CreatorFailed>()("CreatorFailed", {
  attempt: Schema.Number
}) {}

let regionCounter = 0
/** A region name (and namespace) unique to one test, so metrics and keys never mix between tests. */
const uniqueName = (label: string) => `${label}-${process.pid}-${Date.now().toString(36)}-${regionCounter++}`

/** Counts the backend calls made through it. */
interface Calls {
  readonly get: number
  readonly getMany: number
  readonly set: number
  readonly total: number
}

const counting = (calls: Ref.Ref<Calls>) =>
  Layer.effect(
    Backend,
    Effect.map(Backend, (inner: Backend["Service"]) => {
      const bump = (field: "get" | "getMany" | "set" | "other") =>
        Ref.update(calls, (c) => ({
          get: c.get + (field === "get" ? 1 : 0),
          getMany: c.getMany + (field === "getMany" ? 1 : 0),
          set: c.set + (field === "set" ? 1 : 0),
          total: c.total + 1
        }))
      return Backend.of({
        ...inner,
        // Reads are counted when they complete: a read that was asked for but not yet sent (a
        // coalescing backend sends on a later tick) has not read anything yet.
        get: (key) => Effect.tap(inner.get(key), () => bump("get")),
        getMany: (keys) => Effect.tap(inner.getMany(keys), () => bump("getMany")),
        set: (key, value, ttl) => Effect.andThen(bump("set"), inner.set(key, value, ttl)),
        setMany: (entries) => Effect.andThen(bump("set"), inner.setMany(entries)),
        delete: (key) => Effect.andThen(bump("other"), inner.delete(key)),
        deleteMany: (keys) => Effect.andThen(bump("other"), inner.deleteMany(keys))
      })
    })
  )

const count = (metric: Metric.Metric<number, Metric.CounterState<number>>) =>
  Effect.map(Metric.value(metric), (state) => state.count)

/**
 * Polls `condition` (live time, every 5 ms) until it holds or 20 s pass; the
 * assertion that follows reports the failure. Used where real I/O decides how
 * long the callers take to reach a state, so the tests hold on a loaded machine.
 */
const eventually = (condition: Effect.Effect<boolean>) =>
  condition.pipe(
    Effect.repeat({ until: (done) => done, schedule: Schedule.spaced("5 millis") }),
    Effect.timeoutOption("20 seconds"),
    Effect.asVoid
  )

/**
 * The same region, with `getOrCreate` answered by `getOrCreateMany` of one key:
 * the suite runs every single-key case through the multi-key path too.
 */
const viaMany = <A>(region: Region.Region<A>): Region.Region<A> => ({
  ...region,
  getOrCreate: (key, creator, options) =>
    Effect.map(
      Conditional.isConditional(creator)
        ? region.getOrCreateMany(
          [key],
          Conditional.makeMany((_keys, previous) => Effect.map(creator.create(previous[0]!), (answer) => [answer])),
          options
        )
        : region.getOrCreateMany([key], (keys) => Effect.map(creator, (value) => keys.map(() => value)), options),
      (values) => values[0] as A
    )
})

/** Runs the behaviour suite twice: with `getOrCreate`, and with `getOrCreate` through `getOrCreateMany`. */
export const behaviourSuite = (target: BehaviourTarget): void => {
  behaviourSuiteIn(target, "getOrCreate")
  behaviourSuiteIn(target, "getOrCreateMany")
}

const behaviourSuiteIn = (target: BehaviourTarget, path: "getOrCreate" | "getOrCreateMany"): void => {
  const keyOf = target.key ?? ((name: string) => name)
  /** `Region.make`, answering `getOrCreate` through the path under test. */
  const makeRegion = <A>(options: Region.RegionOptions<A>) =>
    Effect.map(Region.make<A>(options), (r) => (path === "getOrCreate" ? r : viaMany(r)))
  const N = target.concurrency ?? 200

  /** Runs `body` with a fresh Layer set, a backend call counter and a scope for the regions. */
  const withStore = <A, E>(
    body: (calls: Ref.Ref<Calls>) => Effect.Effect<A, E, Backend | Codec | Lock | Scope.Scope>
  ) =>
    Effect.gen(function*() {
      const calls = yield* Ref.make<Calls>({ get: 0, getMany: 0, set: 0, total: 0 })
      return yield* body(calls).pipe(
        Effect.provide(counting(calls).pipe(Layer.provideMerge(target.layer()))),
        Effect.scoped
      )
    })

  const region = <A>(options: Partial<Region.RegionOptions<A>> & { readonly label?: string } = {}) => {
    const name = uniqueName(options.label ?? "r")
    return makeRegion<A>({ namespace: name, ...options, name })
  }

  describe(`region behaviour (${path}): ${target.name}`, () => {
    // 1. Missing key, N concurrent callers.
    it.live(`1. a missing key with ${N} concurrent callers runs the creator exactly once`, () =>
      withStore(() =>
        Effect.gen(function*() {
          const r = yield* region<number>({ expiration: "1 minute" })
          const creations = yield* Ref.make(0)
          const started = yield* Deferred.make<void>()
          const release = yield* Deferred.make<void>()
          const creator = Effect.gen(function*() {
            yield* Ref.update(creations, (n) => n + 1)
            yield* Deferred.succeed(started, undefined)
            yield* Deferred.await(release)
            return 42
          })
          const fibers = yield* Effect.forEach(
            Array.from({ length: N }, () => 0),
            () => Effect.forkChild(r.getOrCreate(keyOf("cold"), creator))
          )
          yield* Deferred.await(started)
          // The creator is held, so every caller must read the miss and start waiting.
          yield* eventually(Effect.map(count(r.metrics.misses), (misses) => misses === N))
          assert.strictEqual(yield* count(r.metrics.misses), N, "every caller saw the miss before the value existed")
          yield* Deferred.succeed(release, undefined)
          const values = yield* Fiber.joinAll(fibers)
          assert.strictEqual(yield* Ref.get(creations), 1)
          assert.deepStrictEqual(values, Array.from({ length: N }, () => 42))
          assert.strictEqual(yield* count(r.metrics.creations), 1)
        })
      ))

    it.live("1. after taking the lock the value is read again: a value created meanwhile is returned", () =>
      withStore((calls) =>
        Effect.gen(function*() {
          const name = uniqueName("relock")
          const r = yield* makeRegion<string>({ name, namespace: name, expiration: "1 minute" })
          const lock = yield* Lock
          const key = keyOf("k")
          const fullKey = typeof key === "string" ? `${name}:${key}` : CacheKey.hash(`${name}#${key.hash}`, key.field)
          const creations = yield* Ref.make(0)
          // Hold the lock as another process would while it creates the value.
          const holder = yield* Scope.make()
          yield* Scope.provide(lock.acquire(fullKey, "5 seconds"), holder)
          const initial = (yield* Ref.get(calls)).get
          const caller = yield* Effect.forkChild(
            r.getOrCreate(key, Effect.as(Ref.update(creations, (n) => n + 1), "from creator"))
          )
          // Once the caller has read the miss it is waiting for the lock we hold.
          yield* eventually(Effect.map(Ref.get(calls), (c) => c.get > initial))
          assert.strictEqual((yield* Ref.get(calls)).get - initial, 1, "the caller read the miss first")
          yield* r.set(key, "created meanwhile")
          const before = (yield* Ref.get(calls)).get
          yield* Scope.close(holder, Exit.void)
          assert.strictEqual(yield* Fiber.join(caller), "created meanwhile")
          assert.strictEqual(yield* Ref.get(creations), 0)
          assert.strictEqual((yield* Ref.get(calls)).get - before, 1, "exactly one read after the lock")
        })
      ))

    // 2. Stale value present while another caller regenerates.
    it.effect(`2. with an expired value, ${N} others get the stale value at once while one regenerates`, () =>
      withStore((calls) =>
        Effect.gen(function*() {
          const r = yield* region<string>({ expiration: "10 seconds" })
          const key = keyOf("stale")
          yield* r.set(key, "old")
          yield* TestClock.adjust("11 seconds")
          const release = yield* Deferred.make<void>()
          const started = yield* Deferred.make<void>()
          const creations = yield* Ref.make(0)
          const creator = Effect.gen(function*() {
            yield* Ref.update(creations, (n) => n + 1)
            yield* Deferred.succeed(started, undefined)
            yield* Deferred.await(release)
            return "new"
          })
          const readsBefore = (yield* Ref.get(calls)).get
          const leader = yield* Effect.forkChild(r.getOrCreate(key, creator))
          yield* Deferred.await(started)
          assert.strictEqual((yield* Ref.get(calls)).get - readsBefore, 1, "the leader read the value once, not again after the lock")
          const others = yield* Effect.forEach(
            Array.from({ length: N }, () => 0),
            () => r.getOrCreate(key, creator),
            { concurrency: "unbounded" }
          )
          assert.deepStrictEqual(others, Array.from({ length: N }, () => "old"))
          assert.strictEqual(yield* count(r.metrics.staleServed), N)
          yield* Deferred.succeed(release, undefined)
          assert.strictEqual(yield* Fiber.join(leader), "new")
          assert.strictEqual(yield* Ref.get(creations), 1)
          assert.deepStrictEqual(yield* r.get(key), Option.some("new"))
        })
      ))

    // 3. Expiration.
    it.effect("3. expiry is strict (now − createdAt > expiration), per region and per call, via TestClock", () =>
      withStore(() =>
        Effect.gen(function*() {
          const r = yield* region<string>({ expiration: "10 seconds" })
          const key = keyOf("exp")
          yield* r.set(key, "v")
          yield* TestClock.adjust("10 seconds")
          assert.deepStrictEqual(yield* r.get(key), Option.some("v"), "exactly at the expiration it is still fresh")
          yield* TestClock.adjust("1 millis")
          assert.deepStrictEqual(yield* r.get(key), Option.none(), "one millisecond later it is expired")
          assert.deepStrictEqual(yield* r.get(key, { ignoreExpiration: true }), Option.some("v"))
          assert.deepStrictEqual(yield* r.get(key, { expiration: "1 minute" }), Option.some("v"), "per-call override")
          assert.strictEqual(yield* r.getOrCreate(key, Effect.succeed("w"), { expiration: "1 minute" }), "v")
          assert.strictEqual(yield* r.getOrCreate(key, Effect.succeed("w")), "w")
        })
      ))

    it.effect("3. a never-expiring region with storeTtl \"never\" keeps values forever; a per-call expiration still applies", () =>
      withStore(() =>
        Effect.gen(function*() {
          const r = yield* region<string>({ expiration: "never", storeTtl: "never" })
          const key = keyOf("forever")
          yield* r.set(key, "v")
          yield* TestClock.adjust("3650 days")
          assert.deepStrictEqual(yield* r.get(key), Option.some("v"))
          assert.deepStrictEqual(yield* r.get(key, { expiration: "1 day" }), Option.none())
        })
      ))

    // 4. Envelope: version mismatch and undecodable values are misses, counted.
    it.effect("4. a value of another format version is a miss, regenerated and counted", () =>
      withStore(() =>
        Effect.gen(function*() {
          const name = uniqueName("version")
          const v1 = yield* makeRegion<string>({ name, namespace: name, envelope: Envelope.full({ version: 1 }) })
          const v2 = yield* makeRegion<string>({ name, namespace: name, envelope: Envelope.full({ version: 2 }) })
          const key = keyOf("versioned")
          yield* v1.set(key, "from v1")
          assert.strictEqual(yield* v2.getOrCreate(key, Effect.succeed("from v2")), "from v2")
          assert.strictEqual(yield* count(v2.metrics.decodeFailures), 1)
          assert.deepStrictEqual(yield* v1.get(key), Option.none(), "and v1 now sees v2's value as a miss too")
        })
      ))

    it.effect("4. bytes that do not decode are a miss plus a metric, never a crash", () =>
      withStore(() =>
        Effect.gen(function*() {
          const name = uniqueName("garbage")
          const r = yield* makeRegion<string>({ name, namespace: name })
          const backend = yield* Backend
          const key = keyOf("bad")
          const full = typeof key === "string" ? `${name}:${key}` : CacheKey.hash(`${name}#${key.hash}`, key.field)
          for (const junk of [new Uint8Array([]), new Uint8Array([0xfe, 0, 1]), new Uint8Array([0xfe, 0, 1, 0, 0, 0, 0, 0, 0, 0x7b])]) {
            yield* backend.set(full, junk)
            assert.strictEqual(yield* r.getOrCreate(key, Effect.succeed("fresh")), "fresh")
            yield* backend.set(full, junk)
          }
          assert.strictEqual(yield* count(r.metrics.decodeFailures), 3)
          assert.deepStrictEqual(yield* r.get(key), Option.none())
        })
      ))

    // 5. Invalidation.
    it.effect("5. hard invalidation turns older values into misses", () =>
      withStore(() =>
        Effect.gen(function*() {
          const r = yield* region<string>({})
          const key = keyOf("inv-hard")
          yield* r.set(key, "old")
          yield* TestClock.adjust("1 millis")
          yield* r.invalidate({ hard: true })
          assert.deepStrictEqual(yield* r.get(key, { ignoreExpiration: true }), Option.none())
          yield* TestClock.adjust("1 millis")
          assert.strictEqual(yield* r.getOrCreate(key, Effect.succeed("new")), "new")
          assert.deepStrictEqual(yield* r.get(key), Option.some("new"))
        })
      ))

    it.effect(`5. soft invalidation: one caller regenerates, ${N} others get the stale value`, () =>
      withStore(() =>
        Effect.gen(function*() {
          const r = yield* region<string>({})
          const key = keyOf("inv-soft")
          yield* r.set(key, "old")
          yield* TestClock.adjust("1 millis")
          yield* r.invalidate({ hard: false })
          const release = yield* Deferred.make<void>()
          const started = yield* Deferred.make<void>()
          const creator = Effect.andThen(Deferred.succeed(started, undefined), Effect.as(Deferred.await(release), "new"))
          const leader = yield* Effect.forkChild(r.getOrCreate(key, creator))
          yield* Deferred.await(started)
          const others = yield* Effect.forEach(Array.from({ length: N }, () => 0), () => r.getOrCreate(key, creator), {
            concurrency: "unbounded"
          })
          assert.deepStrictEqual(others, Array.from({ length: N }, () => "old"))
          yield* Deferred.succeed(release, undefined)
          assert.strictEqual(yield* Fiber.join(leader), "new")
          assert.strictEqual(yield* count(r.metrics.creations), 1)
        })
      ))

    it.effect("5. the invalidation is stored through the backend: another process's region sees it within the refresh", () =>
      withStore(() =>
        Effect.gen(function*() {
          const name = uniqueName("shared-inv")
          // Two regions with their own strategy instances stand for two processes.
          const a = yield* makeRegion<string>({ name, namespace: name })
          const b = yield* makeRegion<string>({ name, namespace: name })
          const key = keyOf("shared")
          yield* a.set(key, "old")
          assert.deepStrictEqual(yield* b.get(key), Option.some("old"))
          yield* TestClock.adjust("1 millis")
          yield* a.invalidate({ hard: true })
          assert.deepStrictEqual(yield* a.get(key), Option.none(), "the invalidating process sees it at once")
          yield* TestClock.adjust("1 second")
          assert.deepStrictEqual(yield* b.get(key), Option.none(), "the other process sees it after the refresh")
        })
      ))

    it.effect("5. the strategy is a replaceable service: local marks are shared in this process, not stored", () =>
      withStore(() =>
        Effect.gen(function*() {
          const name = uniqueName("local-inv")
          const a = yield* makeRegion<string>({ name, namespace: name })
          // A second instance of the same region in this process sees a's marks.
          const b = yield* makeRegion<string>({ name, namespace: name })
          // Another process keeps its marks elsewhere: here, a region reading them from the store.
          const elsewhere = yield* makeRegion<string>({ name, namespace: name }).pipe(
            Effect.provideService(Invalidation.CurrentInvalidation, Invalidation.shared())
          )
          const key = keyOf("local")
          yield* a.set(key, "old")
          yield* TestClock.adjust("1 millis")
          yield* a.invalidate({ hard: true })
          yield* TestClock.adjust("1 minute")
          assert.deepStrictEqual(yield* a.get(key), Option.none())
          assert.deepStrictEqual(yield* b.get(key), Option.none(), "same process, same region: the mark is shared")
          assert.deepStrictEqual(yield* elsewhere.get(key), Option.some("old"), "nothing was stored for other processes")
        }).pipe(Effect.provideService(Invalidation.CurrentInvalidation, Invalidation.local))
      ))

    // 6. shouldCache and creator failures.
    it.effect("6. a value rejected by shouldCache is returned but not stored", () =>
      withStore(() =>
        Effect.gen(function*() {
          const r = yield* region<number>({ shouldCache: (n) => n >= 0 })
          const key = keyOf("should")
          assert.strictEqual(yield* r.getOrCreate(key, Effect.succeed(-1)), -1)
          assert.deepStrictEqual(yield* r.get(key), Option.none())
          assert.strictEqual(yield* r.getOrCreate(key, Effect.succeed(5)), 5)
          assert.deepStrictEqual(yield* r.get(key), Option.some(5))
        })
      ))

    it.live(`6. a creator failure caches nothing, releases the lock, and the next of ${N} waiting callers retries`, () =>
      withStore(() =>
        Effect.gen(function*() {
          const r = yield* region<string>({})
          const key = keyOf("fails")
          const attempts = yield* Ref.make(0)
          const started = yield* Deferred.make<void>()
          const release = yield* Deferred.make<void>()
          const creator = Effect.gen(function*() {
            const attempt = yield* Ref.updateAndGet(attempts, (n) => n + 1)
            if (attempt === 1) {
              yield* Deferred.succeed(started, undefined)
              yield* Deferred.await(release)
              return yield* new CreatorFailed({ attempt })
            }
            return "second try"
          })
          const fibers = yield* Effect.forEach(
            Array.from({ length: N }, () => 0),
            () => Effect.forkChild(Effect.result(r.getOrCreate(key, creator)))
          )
          yield* Deferred.await(started)
          yield* eventually(Effect.map(count(r.metrics.misses), (misses) => misses === N))
          yield* Deferred.succeed(release, undefined)
          const results = yield* Fiber.joinAll(fibers)
          const failures = results.filter((result) => result._tag === "Failure")
          assert.strictEqual(failures.length, 1, "only the failing creator's caller sees its error")
          assert.strictEqual(failures[0]?._tag === "Failure" ? failures[0].failure._tag : "", "CreatorFailed")
          assert.strictEqual(results.filter((result) => result._tag === "Success" && result.success === "second try").length, N - 1)
          assert.strictEqual(yield* Ref.get(attempts), 2)
          assert.strictEqual(yield* count(r.metrics.creatorFailures), 1)
        })
      ))

    // 7. Stale-if-error.
    it.effect("7. stale-if-error serves the stale value when regeneration fails; without it the error is typed", () =>
      withStore(() =>
        Effect.gen(function*() {
          const r = yield* region<string>({ expiration: "1 second" })
          const key = keyOf("sie")
          yield* r.set(key, "stale")
          yield* TestClock.adjust("2 seconds")
          const failing = Effect.fail(new CreatorFailed({ attempt: 1 }))
          assert.strictEqual(yield* r.getOrCreate(key, failing, { staleIfError: true }), "stale")
          const error = yield* Effect.flip(r.getOrCreate(key, failing))
          assert.strictEqual(error._tag, "CreatorFailed")
          assert.deepStrictEqual(yield* r.get(key, { ignoreExpiration: true }), Option.some("stale"), "nothing was overwritten")
        })
      ))

    // 8. Background regeneration.
    it.effect("8. background refresh returns the stale value at once and regenerates in the region's scope", () =>
      withStore(() =>
        Effect.gen(function*() {
          const r = yield* region<string>({ expiration: "1 second", backgroundRefresh: true })
          const key = keyOf("bg")
          yield* r.set(key, "stale")
          yield* TestClock.adjust("2 seconds")
          const release = yield* Deferred.make<void>()
          const creations = yield* Ref.make(0)
          const creator = Effect.andThen(Ref.update(creations, (n) => n + 1), Effect.as(Deferred.await(release), "fresh"))
          assert.strictEqual(yield* r.getOrCreate(key, creator), "stale")
          // The lock is held by the background fiber: a second caller also gets the stale value and starts nothing.
          assert.strictEqual(yield* r.getOrCreate(key, creator), "stale")
          yield* Deferred.succeed(release, undefined)
          yield* r.awaitBackground
          assert.strictEqual(yield* Ref.get(creations), 1)
          assert.deepStrictEqual(yield* r.get(key), Option.some("fresh"))
        })
      ))

    it.effect("8. closing the region's scope interrupts background work and releases its lock", () =>
      withStore(() =>
        Effect.gen(function*() {
          const regionScope = yield* Scope.make()
          const name = uniqueName("bg-close")
          const r = yield* Scope.provide(
            makeRegion<string>({ name, namespace: name, expiration: "1 second", backgroundRefresh: true }),
            regionScope
          )
          const key = keyOf("bg-close")
          yield* r.set(key, "stale")
          yield* TestClock.adjust("2 seconds")
          const interrupted = yield* Deferred.make<void>()
          const started = yield* Deferred.make<void>()
          const creator = Effect.andThen(Deferred.succeed(started, undefined), Effect.never).pipe(
            Effect.onInterrupt(() => Deferred.succeed(interrupted, undefined))
          )
          assert.strictEqual(yield* r.getOrCreate(key, creator), "stale")
          yield* Deferred.await(started)
          yield* Scope.close(regionScope, Exit.void)
          yield* Deferred.await(interrupted)
          // The lock is free again: a new region regenerates at once.
          const again = yield* makeRegion<string>({ name, namespace: name, expiration: "1 second" })
          assert.strictEqual(yield* again.getOrCreate(key, Effect.succeed("after close")), "after close")
        })
      ))

    // 9. Nesting.
    it.effect("9. a creator may getOrCreate another key; the same key fails with ReentrantCreateError", () =>
      withStore(() =>
        Effect.gen(function*() {
          const r = yield* region<string>({})
          const outer = keyOf("outer")
          const inner = keyOf("inner")
          const nested = r.getOrCreate(outer, Effect.map(r.getOrCreate(inner, Effect.succeed("in")), (v) => `out(${v})`))
          assert.strictEqual(yield* nested, "out(in)")
          const self = keyOf("self")
          const error = yield* Effect.flip(r.getOrCreate(self, r.getOrCreate(self, Effect.succeed("never"))))
          assert.strictEqual(error._tag, "ReentrantCreateError")
          assert.deepStrictEqual(yield* r.get(self), Option.none())
        })
      ))

    // 10. Keys.
    it.effect("10. empty and over-long keys fail with InvalidKeyError before any I/O", () =>
      withStore((calls) =>
        Effect.gen(function*() {
          const r = yield* region<string>({ maxKeyLength: 16 })
          const before = (yield* Ref.get(calls)).total
          const empty = yield* Effect.flip(r.getOrCreate("", Effect.succeed("x")))
          const long = yield* Effect.flip(r.get("k".repeat(17)))
          const emptyField = yield* Effect.flip(r.set(CacheKey.hash("h", ""), "x"))
          const many = yield* Effect.flip(r.getMany(["ok", ""]))
          assert.deepStrictEqual([empty._tag, long._tag, emptyField._tag, many._tag], [
            "InvalidKeyError",
            "InvalidKeyError",
            "InvalidKeyError",
            "InvalidKeyError"
          ])
          assert.strictEqual((yield* Ref.get(calls)).total, before, "no backend call was made")
        })
      ))

    it.effect("10. the namespace prefixes keys and the mangler rewrites them", () =>
      withStore(() =>
        Effect.gen(function*() {
          const backend = yield* Backend
          const name = uniqueName("mangle")
          const r = yield* makeRegion<string>({ name, namespace: name, keyMangler: KeyMangler.sha1 })
          yield* r.set("user:1", "v")
          assert.isTrue(Option.isSome(yield* backend.get(`${name}:${KeyMangler.sha1("user:1")}`)))
          assert.isTrue(Option.isNone(yield* backend.get(`${name}:user:1`)))
          assert.deepStrictEqual(yield* r.get("user:1"), Option.some("v"))
        })
      ))

    // Many-key operations and the function wrappers.
    it.effect("many-key operations keep order and duplicates; getOrCreateMany creates only what is missing, once", () =>
      withStore(() =>
        Effect.gen(function*() {
          const r = yield* region<string>({})
          const [a, b, c] = [keyOf("a"), keyOf("b"), keyOf("c")]
          yield* r.setMany([[a, "A"], [b, "B"]])
          assert.deepStrictEqual(yield* r.getMany([b, c, a, b]), [Option.some("B"), Option.none(), Option.some("A"), Option.some("B")])
          const asked: Array<ReadonlyArray<CacheKey.CacheKey>> = []
          const values = yield* r.getOrCreateMany([c, a, c, b], (missing) => {
            asked.push(missing)
            return Effect.succeed(missing.map(() => "C"))
          })
          assert.deepStrictEqual(values, ["C", "A", "C", "B"])
          assert.deepStrictEqual(asked, [[c]])
          yield* r.deleteMany([a, c])
          assert.deepStrictEqual(yield* r.getMany([a, b, c]), [Option.none(), Option.some("B"), Option.none()])
          yield* r.delete(b)
          assert.deepStrictEqual(yield* r.get(b), Option.none())
        })
      ))

    it.live(`getOrCreateMany with ${N} concurrent callers creates each missing key exactly once`, () =>
      withStore(() =>
        Effect.gen(function*() {
          const r = yield* region<number>({})
          const keys = [keyOf("m1"), keyOf("m2"), keyOf("m3")]
          const created = yield* Ref.make(0)
          const results = yield* Effect.forEach(
            Array.from({ length: N }, () => 0),
            () =>
              r.getOrCreateMany(keys, (missing) =>
                Effect.andThen(Ref.update(created, (n) => n + missing.length), Effect.succeed(missing.map((_, i) => i + 1)))),
            { concurrency: "unbounded" }
          )
          assert.strictEqual(yield* Ref.get(created), 3)
          assert.isTrue(results.every((values) => values.length === 3))
        })
      ))

    it.effect("values that cannot be encoded fail at set with EncodeError naming the key; nothing is written", () =>
      withStore(() =>
        Effect.gen(function*() {
          const r = yield* region<unknown>({})
          const key = keyOf("unencodable")
          const error = yield* Effect.flip(r.set(key, { f: () => 1 }))
          assert.strictEqual(error._tag, "EncodeError")
          assert.include(error.message, CacheKey.display(typeof key === "string" ? key : key))
          const batch = yield* Effect.flip(r.setMany([[keyOf("fine"), 1], [key, 10n]]))
          assert.strictEqual(batch._tag, "EncodeError")
          assert.deepStrictEqual(yield* r.getMany([keyOf("fine"), key]), [Option.none(), Option.none()])
        })
      ))
  })
}
