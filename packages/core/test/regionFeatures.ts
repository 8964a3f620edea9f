/**
 * Beyond the peers (issue #15): tags, early refresh (XFetch), a creator's own
 * expiration, soft and hard creator timeouts, introspection and events. Run
 * against memory here and against Redis in `@dogpile-effect/redis`.
 */
import { assert, describe, it } from "@effect/vitest"
import {
  Backend,
  CacheKey,
  EntryMeta,
  Lock,
  Region,
  type RegionEvent,
  RegionMetrics
} from "@dogpile-effect/core"
import { Cause, Deferred, Effect, Exit, Fiber, Layer, Metric, Option, Ref, Schema, Scope, Stream } from "effect"
import { TestClock } from "effect/testing"

/** What the features suite needs from a store under test. */
export interface FeaturesTarget {
  readonly name: string
  readonly layer: () => Layer.Layer<Backend | Lock, unknown>
  /** Maps a test key to the key the region is given (e.g. a hash-addressed key). */
  readonly key?: (name: string) => CacheKey.CacheKey
  /** Rounds of the XFetch measurement (expiry periods). */
  readonly xfetchPeriods?: number
}

/** A few real milliseconds (TestClock does not move them), so real I/O can progress between clock steps. */
const realPause = Effect.promise(() => new Promise<void>((resolve) => setTimeout(resolve, 2)))

let counter = 0
const unique = (label: string) => `${label}-${process.pid}-${(counter++).toString(36)}`
const count = (metric: RegionMetrics.CounterMetric) => Effect.map(Metric.value(metric), (state) => state.count)

export const regionFeatures = (target: FeaturesTarget): void => {
  const keyOf = target.key ?? ((name: string) => name)
  const run = <A, E>(body: Effect.Effect<A, E, Backend | Lock | Scope.Scope>) =>
    body.pipe(Effect.scoped, Effect.provide(target.layer()))

  describe(`region features: ${target.name}`, () => {
    it.effect("tags: invalidateTags makes tagged entries stale (soft) or missing (hard); others stay", () =>
      run(Effect.gen(function*() {
        const r = yield* Region.make({ name: unique("tags"), schema: Schema.String, expiration: "1 hour" })
        const [a, b, c] = [keyOf("a"), keyOf("b"), keyOf("c")]
        yield* r.getOrCreate(a, Effect.succeed("a1"), { tags: ["user:1", "team:7"] })
        yield* r.set(b, "b1", { tags: ["user:2"] })
        yield* r.set(c, "c1")
        yield* TestClock.adjust("1 millis")
        yield* r.invalidateTags(["user:1"])
        assert.deepStrictEqual(yield* r.get(a), Option.none(), "soft: no longer fresh")
        assert.deepStrictEqual(yield* r.get(a, { ignoreExpiration: true }), Option.some("a1"), "soft: still servable as stale")
        assert.deepStrictEqual(yield* r.get(b), Option.some("b1"))
        assert.deepStrictEqual(yield* r.get(c), Option.some("c1"))
        assert.strictEqual(yield* r.getOrCreate(a, Effect.succeed("a2"), { tags: ["user:1"] }), "a2", "regenerated")
        yield* TestClock.adjust("1 millis")
        yield* r.invalidateTags(["user:2"], { hard: true })
        assert.deepStrictEqual(yield* r.get(b, { ignoreExpiration: true }), Option.none(), "hard: a miss")
        assert.deepStrictEqual(yield* r.get(a), Option.some("a2"), "created after the mark: fresh")
        assert.deepStrictEqual((yield* r.inspect(a)).pipe(Option.map((info) => info.tags)), Option.some(["user:1"]))
      })))

    it.effect("tags are shared across processes within the refresh window, one write per tag, no key scan", () =>
      run(Effect.gen(function*() {
        const name = unique("tags-shared")
        const writer = yield* Region.make({ name, schema: Schema.Number, expiration: "1 hour" })
        // Another process: its own instance, its own cache of tag marks.
        const reader = yield* Region.make({ name, schema: Schema.Number, expiration: "1 hour" })
        yield* writer.set(keyOf("k"), 1, { tags: ["t"] })
        assert.deepStrictEqual(yield* reader.get(keyOf("k")), Option.some(1))
        yield* TestClock.adjust("1 millis")
        const backend = yield* Backend
        const writes = yield* Ref.make<Array<number>>([])
        const counting = Backend.of({
          ...backend,
          setMany: (entries) => Effect.andThen(Ref.update(writes, (w) => [...w, entries.length]), backend.setMany(entries)),
          getMany: (keys) => backend.getMany(keys)
        })
        const writerCounted = yield* Region.make({ name, schema: Schema.Number, expiration: "1 hour" }).pipe(
          Effect.provideService(Backend, counting)
        )
        yield* writerCounted.invalidateTags(["t"], { hard: true })
        assert.deepStrictEqual(yield* Ref.get(writes), [1], "one write for one tag")
        yield* TestClock.adjust("1001 millis")
        assert.deepStrictEqual(yield* reader.get(keyOf("k")), Option.none(), "the other process sees it after its refresh")
      })))

    it.effect("a creator's own expiration (EntryMeta.expiresIn) governs freshness and the store TTL", () =>
      run(Effect.gen(function*() {
        const r = yield* Region.make({ name: unique("own-ttl"), schema: Schema.String, expiration: "1 hour" })
        const key = keyOf("token")
        const creations = yield* Ref.make(0)
        const creator = Effect.andThen(Ref.update(creations, (n) => n + 1), Effect.succeed(EntryMeta.expiresIn("t", "5 seconds")))
        assert.strictEqual(yield* r.getOrCreate(key, creator), "t")
        yield* TestClock.adjust("5 seconds")
        assert.strictEqual(yield* r.getOrCreate(key, creator), "t")
        assert.strictEqual(yield* Ref.get(creations), 1)
        yield* TestClock.adjust("1 millis")
        assert.deepStrictEqual(yield* r.get(key), Option.none(), "expired after its own 5 s, not the region's hour")
        const info = yield* r.inspect(key)
        assert.isTrue(Option.isSome(info) && info.value.expiresAt === info.value.createdAt! + 5000)
        const bad = yield* Effect.flip(r.getOrCreate(keyOf("bad"), Effect.succeed(EntryMeta.expiresIn("x", -1))))
        assert.strictEqual(bad._tag, "CreatorResultError")
      })))

    it.effect("hard timeout: the creator is interrupted, callers get CreatorTimeoutError, nothing stored, lock free", () =>
      run(Effect.gen(function*() {
        const r = yield* Region.make({ name: unique("hard"), schema: Schema.Number, hardTimeout: "1 second" })
        const key = keyOf("slow")
        const interrupted = yield* Deferred.make<void>()
        const started = yield* Deferred.make<void>()
        const slow = Effect.andThen(Deferred.succeed(started, undefined), Effect.as(Effect.sleep("10 seconds"), 1)).pipe(
          Effect.onInterrupt(() => Deferred.succeed(interrupted, undefined))
        )
        const fiber = yield* Effect.forkChild(r.getOrCreate(key, slow))
        // Real I/O decides when the creator starts; the clock moves only once it has.
        yield* Deferred.await(started)
        yield* TestClock.adjust("1 second")
        const exit = yield* Fiber.await(fiber)
        const error = Exit.isFailure(exit) ? Option.getOrUndefined(Cause.findErrorOption(exit.cause)) : undefined
        assert.strictEqual(error?._tag, "CreatorTimeoutError")
        yield* Deferred.await(interrupted)
        assert.deepStrictEqual(yield* r.get(key), Option.none())
        assert.deepStrictEqual(yield* r.lockStatus(key), yield* r.lockStatus(keyOf("never-locked")), "the lock is free again")
        assert.strictEqual(yield* r.getOrCreate(key, Effect.succeed(2)), 2)
      })))

    it.effect("soft timeout: the caller gets the stale value; the creator finishes in the background and stores", () =>
      run(Effect.gen(function*() {
        const r = yield* Region.make({ name: unique("soft"), schema: Schema.String, expiration: "1 second", softTimeout: "100 millis" })
        const key = keyOf("s")
        yield* r.set(key, "old")
        yield* TestClock.adjust("2 seconds")
        const started = yield* Deferred.make<void>()
        const creator = Effect.andThen(Deferred.succeed(started, undefined), Effect.as(Effect.sleep("2 seconds"), "new"))
        const fiber = yield* Effect.forkChild(r.getOrCreate(key, creator))
        yield* Deferred.await(started)
        // Move the clock in small steps, letting real I/O progress, until the caller answers.
        let elapsed = 0
        while (elapsed < 1900) {
          if (fiber.pollUnsafe() !== undefined) break
          yield* realPause
          yield* TestClock.adjust("10 millis")
          elapsed += 10
        }
        assert.strictEqual(yield* Fiber.join(fiber), "old")
        assert.isBelow(elapsed, 1900, "answered before the creator finished")
        yield* TestClock.adjust("2 seconds")
        yield* r.awaitBackground
        assert.deepStrictEqual(yield* r.get(key), Option.some("new"))
      })))

    it.effect("introspection: has, inspect (headers only) and lockStatus", () =>
      run(Effect.gen(function*() {
        const r = yield* Region.make({ name: unique("inspect"), schema: Schema.String, expiration: "10 seconds" })
        const key = keyOf("i")
        assert.isFalse(yield* r.has(key))
        assert.deepStrictEqual(yield* r.inspect(key), Option.none())
        const now = yield* Effect.clockWith((clock) => clock.currentTimeMillis)
        yield* r.set(key, "value", { tags: ["x"] })
        assert.isTrue(yield* r.has(key))
        const info = Option.getOrThrow(yield* r.inspect(key))
        assert.strictEqual(info.state, "fresh")
        assert.strictEqual(info.createdAt, now)
        assert.strictEqual(info.expiresAt, now + 10_000)
        assert.strictEqual(info.version, 1)
        assert.deepStrictEqual(info.tags, ["x"])
        assert.isAbove(info.sizeBytes, info.payloadBytes)
        yield* TestClock.adjust("11 seconds")
        assert.isFalse(yield* r.has(key))
        assert.isTrue(yield* r.has(key, { ignoreExpiration: true }))
        assert.strictEqual(Option.getOrThrow(yield* r.inspect(key)).state, "stale")
        const lock = yield* Lock
        assert.strictEqual((yield* r.lockStatus(key))._tag, "Free")
        const holder = yield* Scope.make()
        const full = typeof key === "string" ? `${r.name}:${key}` : CacheKey.hash(`${r.name}#${key.hash}`, key.field)
        yield* Scope.provide(lock.tryAcquire(full), holder)
        assert.strictEqual((yield* r.lockStatus(key))._tag, "Held")
        yield* Scope.close(holder, Exit.void)
        assert.strictEqual((yield* r.lockStatus(key))._tag, "Free")
      })))

    it.effect("events: misses, creations, hits, stale serves and invalidations, in order", () =>
      run(Effect.gen(function*() {
        const r = yield* Region.make({ name: unique("events"), schema: Schema.Number, expiration: "1 second" })
        const events = yield* r.subscribe
        const collected = yield* Effect.forkChild(Stream.runCollect(Stream.take(events, 6)))
        const key = keyOf("e")
        yield* r.getOrCreate(key, Effect.succeed(1))
        yield* r.getOrCreate(key, Effect.succeed(1))
        yield* r.invalidate()
        yield* TestClock.adjust("2 seconds")
        yield* r.getOrCreate(key, Effect.succeed(2), { backgroundRefresh: true })
        yield* r.awaitBackground
        const tags = Array.from(yield* Fiber.join(collected)).map((e: RegionEvent.RegionEvent) => e._tag)
        assert.deepStrictEqual(tags, ["Miss", "Created", "Hit", "Invalidated", "Miss", "StaleServed"])
      })))

    it.effect(`early refresh (XFetch): a key read 1,000 times a second, 200 ms creator, ${target.xfetchPeriods ?? 5} periods: no caller waits, one creation per period`, () =>
      run(Effect.gen(function*() {
        const periods = target.xfetchPeriods ?? 5
        const r = yield* Region.make({ name: unique("xfetch"), schema: Schema.Number, expiration: "5 seconds", earlyRefresh: { beta: 1 } })
        const key = keyOf("hot")
        const creations = yield* Ref.make<Array<number>>([])
        const creator = Effect.gen(function*() {
          const now = yield* Effect.clockWith((clock) => clock.currentTimeMillis)
          yield* Ref.update(creations, (at) => [...at, now])
          yield* Effect.sleep("200 millis")
          return now
        })
        // The cold start is the one read that waits.
        const first = yield* Effect.forkChild(r.getOrCreate(key, creator))
        while (first.pollUnsafe() === undefined) {
          yield* realPause
          yield* TestClock.adjust("10 millis")
        }
        const missesAfterStart = yield* count(r.metrics.misses)
        // Each read completes before the clock moves: a read that waited for a (sleeping) creator would never return.
        for (let ms = 0; ms < periods * 5000; ms++) {
          yield* r.getOrCreate(key, creator)
          yield* TestClock.adjust("1 millis")
        }
        assert.strictEqual((yield* count(r.metrics.misses)) - missesAfterStart, 0, "no read found the value expired")
        assert.strictEqual(yield* count(r.metrics.staleServed), 0)
        // One creation per lifetime of the value: each refresh starts before the value it replaces expires
        // (so nobody waits) and never twice for one value (so no stampede).
        const at = yield* Ref.get(creations)
        const gaps = at.slice(1).map((t, i) => t - at[i]!)
        assert.isAtLeast(gaps.length, periods, `creations at ${at.join(", ")}`)
        for (const gap of gaps) {
          // A value is stored (and timed) when its 200 ms creator ends; the next creator must end before it
          // expires: start-to-start under the 5 s expiration.
          assert.isBelow(gap, 5000, `refreshed before expiry (creation to creation ${gap} ms)`)
          // Two refreshes of one value would start within its creator's 200 ms; XFetch starting 4 s early is vanishingly rare (p ≈ 1e-7).
          assert.isAbove(gap, 1000, `one refresh per value (creation to creation ${gap} ms)`)
        }
      })), { timeout: 120_000 })
  })
}
