/**
 * `Recovery.backend` over the in-memory backend, with `Faults.backend`
 * failing every operation in a window of `TestClock` time (the outage): an
 * `invalidate({ hard: true })` and 1,000 `set`s issued during it are queued,
 * replayed on the capped exponential probe once the store answers, before
 * any read reaches it; then no value older than the invalidation is served,
 * by this region or by another one sharing the store. Supersession, bounds,
 * TTLs, marks that never move backwards, and option validation, with exact
 * counts.
 */
import { assert, describe, it } from "@effect/vitest"
import { Backend, Faults, Lock, MemoryBackend, Recovery, Region } from "@dogpile-effect/core"
import { Context, Duration, Effect, Exit, Layer, Metric, Option, Schema, Scope } from "effect"
import { TestClock } from "effect/testing"

const text = new TextEncoder()
const bytes = (s: string) => text.encode(s)
const read = (o: Option.Option<Uint8Array>) => Option.map(o, (b) => new TextDecoder().decode(b))

/** The store down from t = 10 s to t = 20 s (counted from when the layer is built, t = 0). */
const outage = { all: { fail: 1, during: { from: "10 seconds", until: "20 seconds" } } } as const

/** A recovering backend over `store` (shared), with the outage in between. */
const recovering = (store: Backend["Service"], options: Recovery.RecoveryOptions) =>
  Recovery.backend(options).pipe(Layer.provide(Faults.backend(outage)), Layer.provide(Layer.succeed(Backend, store)))

const regionOn = (services: Context.Context<Backend | Lock>) =>
  Region.make({ name: "users", schema: Schema.String }).pipe(Effect.provide(services))

/** A counter of `Recovery.metrics`, as the layer over the in-memory backend reports it. */
const labelled = (name: "queued" | "replayed" | "dropped") => Metric.withAttributes(Recovery.metrics[name], { backend: "memory" })

const counts = <K extends string>(metrics: Record<K, ReturnType<typeof labelled>>) =>
  Effect.map(
    Effect.forEach(Object.entries(metrics) as Array<[K, ReturnType<typeof labelled>]>, ([name, metric]) =>
      Effect.map(Metric.value(metric), (state) => [name, state.count] as const)),
    (entries) => Object.fromEntries(entries) as Record<K, number>
  )

const keys = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => `u${from + i}`)

describe("Recovery over the in-memory backend, outage from Faults.backend on TestClock", () => {
  it.effect("hard invalidation + 1,000 sets in the outage: queued, replayed at t = 22 s after 4 failed probes, 0 stale values, every set visible, in both regions", () =>
    Effect.gen(function*() {
      const counted = { queued: labelled("queued"), replayed: labelled("replayed"), dropped: labelled("dropped") }
      const before = yield* counts(counted)
      const store = yield* MemoryBackend.make()
      const ctx = yield* Layer.build(Layer.mergeAll(recovering(store, { writes: true, backoff: { initial: "1 second", max: "4 seconds" } }), Lock.layerLocal))
      const recovery = Context.get(ctx, Recovery.Recovery)
      const a = yield* regionOn(ctx)
      // Another process over the same store, without a queue of its own: sees marks within 1 s.
      const b = yield* regionOn(Context.make(Backend, store).pipe(Context.add(Lock, Context.get(yield* Layer.build(Lock.layerLocal), Lock))))
      yield* a.setMany(keys(0, 2000).map((k) => [k, "old"] as const))
      assert.deepStrictEqual(yield* b.get("u1500"), Option.some("old"))

      yield* TestClock.adjust("10 seconds")
      yield* a.invalidate({ hard: true })
      yield* TestClock.adjust("1 millis")
      for (const k of keys(0, 1000)) yield* a.set(k, "new")
      let stats = yield* recovery.stats
      assert.strictEqual(stats.pending, 1001)
      assert.strictEqual(stats.queued, 1001)
      // While the queue holds anything, reads fail as the store would: the region's policy applies.
      const during = yield* Effect.exit(a.get("u0"))
      assert.isTrue(Exit.isFailure(during))

      // Probes at 11, 12, 14, 18 s fail (the store answers from 20 s); the one at 22 s replays.
      yield* TestClock.adjust("11 seconds") // t = 21.001 s
      stats = yield* recovery.stats
      assert.strictEqual(stats.failedAttempts, 4)
      assert.strictEqual(stats.pending, 1001)
      assert.isTrue(Exit.isFailure(yield* Effect.exit(a.get("u0"))), "not served before the replay, though the store answers")
      yield* TestClock.adjust("1 second") // t = 22.001 s
      yield* recovery.awaitDrained
      stats = yield* recovery.stats
      assert.deepStrictEqual(
        { pending: stats.pending, replayed: stats.replayed, failed: stats.failedAttempts, dropped: stats.dropped, rejected: stats.rejected },
        { pending: 0, replayed: 1001, failed: 4, dropped: 0, rejected: 0 }
      )
      const after = yield* counts(counted)
      assert.deepStrictEqual(
        { queued: after.queued - before.queued, replayed: after.replayed - before.replayed, dropped: after.dropped - before.dropped },
        { queued: 1001, replayed: 1001, dropped: 0 }
      )
      assert.strictEqual((yield* Metric.value(Metric.withAttributes(Recovery.metrics.pending, { backend: "memory" }))).value, 0)
      yield* TestClock.adjust("1 second") // b re-reads the marks
      for (const region of [a, b]) {
        const values = yield* region.getMany(keys(0, 2000))
        const visible = values.slice(0, 1000).filter((v) => Option.getOrUndefined(v) === "new").length
        const stale = values.filter((v) => Option.getOrUndefined(v) === "old").length
        assert.deepStrictEqual({ visible, stale }, { visible: 1000, stale: 0 }, region.name)
      }
    }).pipe(Effect.scoped))

  it.effect("without the layer, the same outage loses the invalidation: the other region serves 1,000 values older than it", () =>
    Effect.gen(function*() {
      const store = yield* MemoryBackend.make()
      const ctx = yield* Layer.build(
        Layer.mergeAll(Faults.backend(outage).pipe(Layer.provide(Layer.succeed(Backend, store))), Lock.layerLocal)
      )
      const a = yield* regionOn(ctx)
      const b = yield* regionOn(Context.make(Backend, store).pipe(Context.add(Lock, Context.get(yield* Layer.build(Lock.layerLocal), Lock))))
      yield* a.setMany(keys(0, 1000).map((k) => [k, "old"] as const))
      yield* TestClock.adjust("10 seconds")
      assert.isTrue(Exit.isFailure(yield* Effect.exit(a.invalidate({ hard: true }))))
      yield* TestClock.adjust("12 seconds")
      const stale = (yield* b.getMany(keys(0, 1000))).filter((v) => Option.getOrUndefined(v) === "old").length
      assert.strictEqual(stale, 1000)
    }).pipe(Effect.scoped))

  it.effect("a newer operation on a key supersedes the queued one and keeps its place; the replay follows first-queued order", () =>
    Effect.gen(function*() {
      const store = yield* MemoryBackend.make()
      const ctx = yield* Layer.build(recovering(store, { writes: true, batchSize: 1, backoff: { initial: "1 second", max: "1 second" } }))
      const backend = Context.get(ctx, Backend)
      const recovery = Context.get(ctx, Recovery.Recovery)
      yield* store.set("k2", bytes("before"))
      yield* TestClock.adjust("10 seconds")
      yield* backend.set("k1", bytes("a"))
      yield* backend.set("k2", bytes("b"))
      yield* backend.delete("k1")
      yield* backend.set("k1", bytes("c"))
      yield* backend.deleteMany(["k2", "k3"])
      const stats = yield* recovery.stats
      assert.deepStrictEqual({ pending: stats.pending, queued: stats.queued, superseded: stats.superseded }, { pending: 3, queued: 6, superseded: 3 })
      yield* TestClock.adjust("11 seconds")
      yield* recovery.awaitDrained
      assert.strictEqual((yield* recovery.stats).replayed, 3)
      assert.deepStrictEqual(read(yield* store.get("k1")), Option.some("c"))
      assert.isTrue(Option.isNone(yield* store.get("k2")))
    }).pipe(Effect.scoped))

  it.effect("100 concurrent fibers per wave: two waves in the outage and one while the first batch replays; the store ends with the last wave on all 100 keys", () =>
    Effect.gen(function*() {
      const store = yield* MemoryBackend.make()
      // Each replayed batch takes 1 s of Clock time once the store is back, so a wave can arrive mid-replay.
      const slowReplay = { ...outage, setMany: { delay: "1 second", during: { from: "20 seconds" } } } as const
      const ctx = yield* Layer.build(
        Recovery.backend({ writes: true, batchSize: 10, backoff: { initial: "1 second", max: "4 seconds" } }).pipe(
          Layer.provide(Faults.backend(slowReplay)),
          Layer.provide(Layer.succeed(Backend, store))
        )
      )
      const backend = Context.get(ctx, Backend)
      const recovery = Context.get(ctx, Recovery.Recovery)
      const ids = Array.from({ length: 100 }, (_, i) => `k${i}`)
      const wave = (value: string) => Effect.forEach(ids, (k) => backend.set(k, bytes(value)), { concurrency: "unbounded", discard: true })
      yield* TestClock.adjust("10 seconds")
      yield* wave("w1")
      yield* wave("w2")
      let stats = yield* recovery.stats
      assert.deepStrictEqual({ pending: stats.pending, queued: stats.queued, superseded: stats.superseded }, { pending: 100, queued: 200, superseded: 100 })
      // The probe at 22 s starts the first batch (k0..k9); half-way through it, the third wave.
      yield* TestClock.adjust("12500 millis")
      stats = yield* recovery.stats
      assert.deepStrictEqual({ pending: stats.pending, replayed: stats.replayed }, { pending: 100, replayed: 0 })
      yield* wave("w3")
      yield* TestClock.adjust("30 seconds")
      yield* recovery.awaitDrained
      stats = yield* recovery.stats
      // The first batch's w2 values were written, then superseded by w3 (not counted); 100 w3 replayed after.
      assert.deepStrictEqual(
        { pending: stats.pending, queued: stats.queued, superseded: stats.superseded, replayed: stats.replayed },
        { pending: 0, queued: 300, superseded: 200, replayed: 100 }
      )
      const values = (yield* store.getMany(ids)).map((o) => Option.getOrUndefined(read(o)))
      assert.strictEqual(values.filter((v) => v === "w3").length, 100)
    }).pipe(Effect.scoped))

  it.effect("by default invalidations and deletes are queued, writes are not (they fail as without recovery)", () =>
    Effect.gen(function*() {
      const store = yield* MemoryBackend.make()
      const ctx = yield* Layer.build(Layer.mergeAll(recovering(store, {}), Lock.layerLocal))
      const recovery = Context.get(ctx, Recovery.Recovery)
      const a = yield* regionOn(ctx)
      yield* a.set("u1", "old")
      yield* TestClock.adjust("10 seconds")
      yield* a.invalidate({ hard: true })
      yield* a.invalidateTags(["t1"])
      yield* a.delete("u1")
      const failed = yield* Effect.exit(a.set("u2", "new"))
      assert.isTrue(Exit.isFailure(failed))
      assert.strictEqual((yield* recovery.stats).pending, 3)
      yield* TestClock.adjust("15 seconds")
      yield* recovery.awaitDrained
      assert.strictEqual((yield* recovery.stats).replayed, 3)
      assert.isTrue(Option.isNone(yield* store.get("users:u1")))
    }).pipe(Effect.scoped))

  it.effect("full: over maxBytes the oldest writes become deletes (a miss, never an older value); over maxEntries a new key is refused with BackendError", () =>
    Effect.gen(function*() {
      const store = yield* MemoryBackend.make()
      // A write: 64 + 2 * 2 (key) + 100 (value) = 168 bytes, a delete 68. k4 demotes k1 (572 bytes), k5 demotes k2 and k3 (540).
      const ctx = yield* Layer.build(recovering(store, { writes: true, maxEntries: 5, maxBytes: 600 }))
      const backend = Context.get(ctx, Backend)
      const recovery = Context.get(ctx, Recovery.Recovery)
      for (const k of ["k1", "k2", "k3", "k4", "k5"]) yield* store.set(k, bytes("old"))
      yield* TestClock.adjust("10 seconds")
      for (const k of ["k1", "k2", "k3", "k4", "k5"]) yield* backend.set(k, new Uint8Array(100))
      let stats = yield* recovery.stats
      assert.deepStrictEqual({ pending: stats.pending, dropped: stats.dropped, rejected: stats.rejected }, { pending: 5, dropped: 3, rejected: 0 })
      const refused = yield* Effect.exit(backend.delete("k6"))
      assert.isTrue(Exit.isFailure(refused))
      assert.include(String(refused), "queue is full")
      stats = yield* recovery.stats
      assert.strictEqual(stats.rejected, 1)
      yield* TestClock.adjust("15 seconds")
      yield* recovery.awaitDrained
      const after = yield* store.getMany(["k1", "k2", "k3", "k4", "k5"])
      assert.deepStrictEqual(after.map((o) => Option.isSome(o) ? Option.getOrThrow(o).byteLength : -1), [-1, -1, -1, 100, 100])
    }).pipe(Effect.scoped))

  it.effect("a queued write whose store TTL ends before the replay is replayed as a delete", () =>
    Effect.gen(function*() {
      const store = yield* MemoryBackend.make()
      const ctx = yield* Layer.build(recovering(store, { writes: true }))
      const backend = Context.get(ctx, Backend)
      const recovery = Context.get(ctx, Recovery.Recovery)
      yield* store.set("short", bytes("old"))
      yield* TestClock.adjust("10 seconds")
      yield* backend.set("short", bytes("new"), Duration.seconds(2))
      yield* backend.set("long", bytes("new"), Duration.minutes(1))
      yield* TestClock.adjust("15 seconds")
      yield* recovery.awaitDrained
      assert.isTrue(Option.isNone(yield* store.get("short")))
      assert.deepStrictEqual(read(yield* store.get("long")), Option.some("new"))
    }).pipe(Effect.scoped))

  it.effect("a queued mark does not move a newer mark in the store backwards", () =>
    Effect.gen(function*() {
      const store = yield* MemoryBackend.make()
      const ctx = yield* Layer.build(recovering(store, {}))
      const backend = Context.get(ctx, Backend)
      const recovery = Context.get(ctx, Recovery.Recovery)
      const mark = "__dogpile__:{users}:invalidated:hard"
      yield* TestClock.adjust("10 seconds")
      yield* backend.set(mark, bytes("10000"))
      yield* backend.set("__dogpile__:{users}:invalidated:soft", bytes("10000"))
      yield* store.set(mark, bytes("21000")) // another process, after the store came back
      yield* TestClock.adjust("15 seconds")
      yield* recovery.awaitDrained
      assert.deepStrictEqual(read(yield* store.get(mark)), Option.some("21000"))
      assert.deepStrictEqual(read(yield* store.get("__dogpile__:{users}:invalidated:soft")), Option.some("10000"))
      assert.strictEqual((yield* recovery.stats).replayed, 2)
    }).pipe(Effect.scoped))

  it.effect("closing the layer replays once more: taken if the store answers, logged as lost if not", () =>
    Effect.gen(function*() {
      const store = yield* MemoryBackend.make()
      yield* store.set("kept", bytes("old"))
      yield* store.set("lost", bytes("old"))
      const open = Effect.gen(function*() {
        const scope = yield* Scope.make()
        const ctx = yield* Layer.buildWithScope(recovering(store, { backoff: { initial: "1 second", max: "4 seconds" } }), scope)
        return { backend: Context.get(ctx, Backend), recovery: Context.get(ctx, Recovery.Recovery), scope }
      })
      const first = yield* open
      const second = yield* open
      yield* TestClock.adjust("10 seconds")
      yield* first.backend.delete("lost")
      yield* second.backend.delete("kept")
      // Probes at 11, 12, 14, 18 s fail; closed at 19 s, the store still failing: lost.
      yield* TestClock.adjust("9 seconds")
      yield* Scope.close(first.scope, Exit.void)
      // Closed at 21 s, before the 22 s probe, the store answering: taken.
      yield* TestClock.adjust("2 seconds")
      assert.strictEqual((yield* second.recovery.stats).pending, 1)
      yield* Scope.close(second.scope, Exit.void)
      assert.isTrue(Option.isSome(yield* store.get("lost")))
      assert.isTrue(Option.isNone(yield* store.get("kept")))
    }))

  it.effect("invalid options are refused when the layer is built", () =>
    Effect.gen(function*() {
      const cases: ReadonlyArray<readonly [Recovery.RecoveryOptions, string]> = [
        [{ maxEntries: 0 }, "maxEntries"],
        [{ maxBytes: 1.5 }, "maxBytes"],
        [{ batchSize: -1 }, "batchSize"],
        [{ backoff: { initial: "-1 seconds" } }, "backoff.initial"],
        [{ backoff: { initial: "2 seconds", max: "1 second" } }, "backoff.max"],
        [{ writes: "yes" as unknown as boolean }, "writes"],
        [{ maxEntrys: 5 } as unknown as Recovery.RecoveryOptions, "maxEntrys"],
        [{ backoff: { maximum: "1 second" } } as unknown as Recovery.RecoveryOptions, "backoff.maximum"]
      ]
      for (const [options, option] of cases) {
        const exit = yield* Effect.exit(Layer.build(Recovery.backend(options).pipe(Layer.provide(MemoryBackend.layer()))))
        assert.isTrue(Exit.isFailure(exit), option)
        if (Exit.isFailure(exit)) assert.include(String(exit.cause), `option ${option}`)
      }
    }).pipe(Effect.scoped))
})
