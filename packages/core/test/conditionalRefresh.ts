/**
 * Conditional refresh (issue #26, item 2): a creator receives the entry it
 * replaces and answers "not modified"; the region renews the entry without
 * encoding its value. Run against memory here and against Redis in
 * `@dogpile-effect/redis`. Every write the region sends is measured through a
 * wrapper of the store under test, every encode through a counting codec.
 */
import { assert, describe, it } from "@effect/vitest"
import {
  Backend,
  type BackendRestamp,
  type CacheKey,
  CachedFunction,
  Codec,
  type CodecShape,
  Conditional,
  CreatorResultError,
  Envelope,
  InvalidOptionError,
  type Lock,
  Region,
  type RegionEvent,
  type RegionMetrics
} from "@dogpile-effect/core"
import { type Duration, Effect, Exit, Fiber, type Layer, Metric, Option, Random, Schema, type Scope, Stream } from "effect"
import { TestClock } from "effect/testing"

/** What the suite needs from a store under test. */
export interface ConditionalTarget {
  readonly name: string
  readonly layer: () => Layer.Layer<Backend | Lock, unknown>
  /** The key the one-key tests use for `name` (default: `name` itself), e.g. a field of a bucket. */
  readonly key?: (name: string) => CacheKey.CacheKey
}

interface Doc {
  readonly title: string
  readonly body: string
}

const Doc = Schema.Struct({ title: Schema.String, body: Schema.String })

let counter = 0
const unique = (label: string) => `${label}-${process.pid}-${(counter++).toString(36)}`
/** A few real milliseconds (TestClock does not move them), so real I/O can progress between clock steps. */
const realPause = Effect.promise(() => new Promise<void>((resolve) => setTimeout(resolve, 2)))

/** Moves the TestClock 50 ms at a time, with real pauses for the store's I/O, until `done` (at most 60 s of clock). */
const driveUntil = (done: Effect.Effect<boolean>) =>
  Effect.gen(function*() {
    for (let step = 0; step < 1200 && !(yield* done); step++) {
      yield* realPause
      yield* TestClock.adjust("50 millis")
    }
    assert.isTrue(yield* done)
  })

const fixed = (u: number): Random.Random => ({ nextDoubleUnsafe: () => u, nextIntUnsafe: () => 0 })
const count = (metric: RegionMetrics.CounterMetric) => Effect.map(Metric.value(metric), (state) => state.count)
const doc = (n: number): Doc => ({ title: `doc ${n}`, body: "x".repeat(2_000) })

/** What the region sent to the store: every data write (marks left out), in order; renewals in place. */
interface Probe {
  readonly writes: Array<Uint8Array>
  readonly keys: Array<CacheKey.CacheKey>
  /** Each renewal in place sent, and whether it applied. */
  readonly restamps: Array<readonly [BackendRestamp, boolean]>
  encodes: number
  decodes: number
}

const isData = (key: unknown) => !(typeof key === "string" && key.startsWith("__dogpile__"))

/** The store under test, its writes recorded in `probe`. */
const recording = (inner: Backend["Service"], probe: Probe): Backend["Service"] => {
  const restampMany = inner.restampMany
  return Backend.of({
    ...inner,
    set: (key, value, ttl) => {
      if (isData(key)) (probe.writes.push(value), probe.keys.push(key))
      return inner.set(key, value, ttl)
    },
    setMany: (entries) => {
      for (const entry of entries) if (isData(entry.key)) (probe.writes.push(entry.value), probe.keys.push(entry.key))
      return inner.setMany(entries)
    },
    ...(restampMany === undefined ? {} : {
      restampMany: (entries: ReadonlyArray<BackendRestamp>) =>
        Effect.map(restampMany(entries), (applied) => {
          entries.forEach((entry, i) => probe.restamps.push([entry, applied[i]!]))
          return applied
        })
    })
  })
}

/** The renewals in place that applied. */
const appliedIn = (probe: Probe) => probe.restamps.filter(([, applied]) => applied).length

/** JSON, its calls counted in `probe`. */
const countingCodec = (probe: Probe): CodecShape => ({
  name: "counting-json",
  encode: (value) => Effect.suspend(() => (probe.encodes++, Codec.json.encode(value))),
  decode: (bytes) => Effect.suspend(() => (probe.decodes++, Codec.json.decode(bytes)))
})

/** The positions where `a` and `b` (of one length) differ. */
const differences = (a: Uint8Array, b: Uint8Array) => {
  const at: Array<number> = []
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) at.push(i)
  return at
}

export const conditionalRefresh = (target: ConditionalTarget): void => {
  const K = (name: string): CacheKey.CacheKey => target.key?.(name) ?? name
  /** A region over the store under test with a counting codec and recorded writes. */
  const region = (
    options: { readonly envelope?: Envelope.EnvelopeShape; readonly expiration?: Duration.Input; readonly early?: boolean } = {}
  ) =>
    Effect.gen(function*() {
      const probe: Probe = { writes: [], keys: [], restamps: [], encodes: 0, decodes: 0 }
      const inner = yield* Backend
      const r = yield* Region.make<Doc>({
        name: unique("conditional"),
        schema: Doc,
        expiration: options.expiration ?? "1 second",
        ...(options.envelope === undefined ? {} : { envelope: options.envelope }),
        ...(options.early === true ? { earlyRefresh: { beta: 1 } } : {})
      }).pipe(
        Effect.provideService(Backend, recording(inner, probe)),
        Effect.provideService(Codec, countingCodec(probe))
      )
      return { r, probe, inner, inPlace: inner.restampMany !== undefined }
    })

  const run = <A, E>(body: Effect.Effect<A, E, Backend | Lock | Scope.Scope>) =>
    body.pipe(Effect.scoped, Effect.provide(target.layer()))

  /** A conditional creator over a source at `version`, recording what it was handed. */
  const source = () => {
    const state = { version: 1, calls: 0, seen: [] as Array<Option.Option<Conditional.Previous<Doc>>> }
    const creator = Conditional.make((previous: Option.Option<Conditional.Previous<Doc>>) =>
      Effect.sync(() => {
        state.calls++
        state.seen.push(previous)
        const current = String(state.version)
        return Option.isSome(previous) && previous.value.validator === current
          ? Conditional.notModified
          : Conditional.fresh(doc(state.version), { validator: current })
      })
    )
    return { state, creator }
  }

  describe(`conditional refresh: ${target.name}`, () => {
    it.effect("not modified: the creator gets the previous entry; the renewal rewrites the header only, encodes nothing, and the next read is fresh", () =>
      run(Effect.gen(function*() {
        const { inPlace, inner, probe, r } = yield* region()
        const { creator, state } = source()
        const events = yield* r.subscribe
        const collected = yield* Effect.forkChild(Stream.runCollect(Stream.take(events, 6)))

        assert.deepStrictEqual(yield* r.getOrCreate(K("k"), creator), doc(1))
        assert.deepStrictEqual(state.seen, [Option.none()])
        assert.strictEqual(probe.encodes, 1)
        const createdAt = yield* Effect.clockWith((clock) => clock.currentTimeMillis)

        yield* TestClock.adjust("1500 millis")
        assert.deepStrictEqual(yield* r.getOrCreate(K("k"), creator), doc(1))
        assert.strictEqual(state.calls, 2)
        assert.deepStrictEqual(state.seen[1], Option.some({ value: doc(1), createdAt, validator: "1" }))
        // Renewed without encoding: the codec's encode ran once in all, for the first value.
        assert.strictEqual(probe.encodes, 1)
        const first = probe.writes[0]!
        const payload = (yield* Codec.json.encode(doc(1))).length
        // In place: one restamp carrying headers only, no second write; else the whole entry written again.
        assert.strictEqual(probe.writes.length, inPlace ? 1 : 2)
        assert.strictEqual(appliedIn(probe), inPlace ? 1 : 0)
        for (const [sent] of probe.restamps) {
          assert.strictEqual(sent.expected.length, first.length - payload)
          assert.strictEqual(sent.header.length, first.length - payload)
          assert.strictEqual(sent.length, first.length)
        }
        const renewed = Option.getOrThrow(yield* inner.get(probe.keys[0]!))
        assert.strictEqual(renewed.length, first.length)
        // Only the creation time changed, within the header (the payload's bytes are the same).
        const changed = differences(first, renewed)
        assert.isAbove(changed.length, 0)
        assert.isBelow(Math.max(...changed), first.length - payload)

        // Fresh again: 900 ms after the renewal, the creator does not run.
        yield* TestClock.adjust("900 millis")
        assert.deepStrictEqual(yield* r.getOrCreate(K("k"), creator), doc(1))
        assert.strictEqual(state.calls, 2)
        assert.strictEqual(yield* count(r.metrics.notModified), 1)
        assert.strictEqual(yield* count(r.metrics.creations), 1)

        // The source changes: a fresh value, encoded once more, its new validator kept.
        yield* TestClock.adjust("1 second")
        state.version = 2
        assert.deepStrictEqual(yield* r.getOrCreate(K("k"), creator), doc(2))
        assert.deepStrictEqual(
          Option.map(state.seen[2]!, (p) => p.createdAt),
          Option.some(createdAt + 1500)
        )
        assert.strictEqual(probe.encodes, 2)
        const tags = Array.from(yield* Fiber.join(collected)).map((e: RegionEvent.RegionEvent) => e._tag)
        assert.deepStrictEqual(tags, ["Miss", "Created", "Miss", "NotModified", "Hit", "Miss"])
      })))

    it.effect("a soft invalidation (region or tag) hands the creator no previous entry: a 304 cannot undo it", () =>
      run(Effect.gen(function*() {
        const { r } = yield* region()
        const { creator, state } = source()
        // Each step 10 ms after the last: an entry created at a mark's very millisecond is not older than it.
        const step = TestClock.adjust("10 millis")
        yield* r.getOrCreate(K("k"), creator, { tags: ["docs"] })
        yield* step
        yield* r.invalidate()
        yield* step
        yield* r.getOrCreate(K("k"), creator, { tags: ["docs"] })
        yield* step
        yield* r.invalidateTags(["docs"])
        yield* step
        yield* r.getOrCreate(K("k"), creator, { tags: ["docs"] })
        assert.deepStrictEqual(state.seen, [Option.none(), Option.none(), Option.none()])
        // Answering "not modified" anyway fails with a typed error (nothing to renew).
        yield* step
        yield* r.invalidate()
        yield* step
        const exit = yield* Effect.exit(r.getOrCreate(K("k"), Conditional.make<Doc, never, never>(() => Effect.succeed(Conditional.notModified))))
        assert.isTrue(Exit.isFailure(exit) && Exit.findErrorOption(exit).pipe(Option.exists((e) => e instanceof CreatorResultError)))
        assert.strictEqual(yield* count(r.metrics.notModified), 0)
      })))

    it.effect("a write or an invalidation while the source is asked wins: the 304 renews nothing and serves what is stored", () =>
      run(Effect.gen(function*() {
        const { probe, r } = yield* region()
        let during: Effect.Effect<void, unknown> = Effect.void
        const seen: Array<boolean> = []
        const creator = Conditional.make((previous: Option.Option<Conditional.Previous<Doc>>) =>
          Effect.as(
            Effect.andThen(Effect.sync(() => seen.push(Option.isSome(previous))), Effect.orDie(during)),
            Option.isSome(previous) ? Conditional.notModified : Conditional.fresh(doc(1), { validator: "1" })
          ))
        yield* r.getOrCreate(K("k"), creator)
        yield* TestClock.adjust("2 seconds")
        // Another writer stores a newer value while the source answers 304: it is kept, and served.
        during = r.set(K("k"), doc(9))
        assert.deepStrictEqual(yield* r.getOrCreate(K("k"), creator), doc(9))
        assert.deepStrictEqual(yield* r.get(K("k")), Option.some(doc(9)))
        assert.strictEqual(probe.writes.length, 2)
        assert.strictEqual(appliedIn(probe), 0)
        // Stale again; a soft invalidation lands while the source answers 304: nothing is renewed...
        yield* TestClock.adjust("2 seconds")
        during = Effect.andThen(TestClock.adjust("10 millis"), r.invalidate())
        assert.deepStrictEqual(yield* r.getOrCreate(K("k"), creator), doc(9))
        assert.strictEqual(probe.writes.length, 2)
        assert.strictEqual(appliedIn(probe), 0)
        // ...so the next call still sees the invalidation: no previous entry, a full fetch.
        during = Effect.void
        yield* TestClock.adjust("10 millis")
        assert.deepStrictEqual(yield* r.getOrCreate(K("k"), creator), doc(1))
        assert.deepStrictEqual(seen, [false, true, true, false])
        assert.strictEqual(probe.encodes, 3)
      })))

    it.effect("a delete while the source is asked wins: the 304 brings nothing back, and serves the value it had", () =>
      run(Effect.gen(function*() {
        const { inner, probe, r } = yield* region()
        let during: Effect.Effect<void, unknown> = Effect.void
        const creator = Conditional.make((previous: Option.Option<Conditional.Previous<Doc>>) =>
          Effect.as(Effect.orDie(during), Option.isSome(previous) ? Conditional.notModified : Conditional.fresh(doc(1), { validator: "1" })))
        yield* r.getOrCreate(K("k"), creator)
        yield* TestClock.adjust("2 seconds")
        during = r.delete(K("k"))
        assert.deepStrictEqual(yield* r.getOrCreate(K("k"), creator), doc(1))
        assert.isTrue(Option.isNone(yield* inner.get(probe.keys[0]!)))
        assert.deepStrictEqual(yield* r.get(K("k")), Option.none())
        assert.strictEqual(probe.writes.length, 1)
        assert.strictEqual(appliedIn(probe), 0)
      })))

    it.effect("renewal in place with the compact envelope; a header of another length (other tags) is rewritten whole", () =>
      run(Effect.gen(function*() {
        const { inPlace, probe, r } = yield* region({ envelope: Envelope.compact({ resolution: "1 millis" }) })
        const { creator, state } = source()
        yield* r.getOrCreate(K("k"), creator, { tags: ["t1"] })
        yield* TestClock.adjust("1500 millis")
        assert.deepStrictEqual(yield* r.getOrCreate(K("k"), creator, { tags: ["t2"] }), doc(1))
        assert.strictEqual(appliedIn(probe), inPlace ? 1 : 0)
        assert.strictEqual(probe.writes.length, inPlace ? 1 : 2)
        // Tags of another length: the new header is longer, so the entry is re-read and written whole.
        yield* TestClock.adjust("1500 millis")
        assert.deepStrictEqual(yield* r.getOrCreate(K("k"), creator, { tags: ["tag-3"] }), doc(1))
        assert.strictEqual(appliedIn(probe), inPlace ? 1 : 0)
        assert.strictEqual(probe.writes.length, inPlace ? 2 : 3)
        // Renewed either way: fresh for another second, tagged as the last call said.
        yield* TestClock.adjust("500 millis")
        assert.deepStrictEqual(yield* r.getOrCreate(K("k"), creator, { tags: ["tag-3"] }), doc(1))
        assert.strictEqual(state.calls, 3)
        assert.strictEqual(probe.encodes, 1)
        yield* TestClock.adjust("10 millis")
        yield* r.invalidateTags(["tag-3"], { hard: true })
        yield* TestClock.adjust("10 millis")
        assert.deepStrictEqual(yield* r.get(K("k")), Option.none())
      })))

    it.effect("a hard invalidation while the source is asked wins: nothing renewed, the next call creates", () =>
      run(Effect.gen(function*() {
        const { probe, r } = yield* region()
        const { creator, state } = source()
        yield* r.getOrCreate(K("k"), creator)
        yield* TestClock.adjust("2 seconds")
        const invalidating = Conditional.make((previous: Option.Option<Conditional.Previous<Doc>>) =>
          Effect.andThen(
            Effect.andThen(TestClock.adjust("10 millis"), Effect.orDie(r.invalidate({ hard: true }))),
            creator.create(previous)
          ))
        assert.deepStrictEqual(yield* r.getOrCreate(K("k"), invalidating), doc(1))
        assert.strictEqual(appliedIn(probe), 0)
        assert.strictEqual(probe.writes.length, 1)
        yield* TestClock.adjust("10 millis")
        assert.deepStrictEqual(yield* r.get(K("k")), Option.none())
        assert.deepStrictEqual(yield* r.getOrCreate(K("k"), creator), doc(1))
        assert.strictEqual(probe.encodes, 2)
        assert.strictEqual(state.calls, 3)
      })))

    it.effect("200 concurrent callers of an expired key: 1 revalidation, 1 renewal, every caller gets the value", () =>
      run(Effect.gen(function*() {
        const { probe, r } = yield* region()
        const { creator, state } = source()
        yield* r.getOrCreate(K("hot"), creator)
        yield* TestClock.adjust("2 seconds")
        const values = yield* Effect.forEach(Array.from({ length: 200 }), () => r.getOrCreate(K("hot"), creator), { concurrency: "unbounded" })
        assert.strictEqual(values.length, 200)
        assert.isTrue(values.every((v) => v.title === "doc 1"))
        assert.strictEqual(state.calls, 2)
        assert.strictEqual(yield* count(r.metrics.notModified), 1)
        assert.strictEqual(yield* count(r.metrics.creations), 1)
        assert.strictEqual(probe.encodes, 1)
        assert.strictEqual(probe.writes.length + appliedIn(probe), 2)
      })))

    it.effect("early refresh (XFetch) hands the fresh entry over; its 304 renews in the background, encoding nothing", () =>
      run(Effect.gen(function*() {
        const { probe, r } = yield* region({ expiration: "10 seconds", early: true })
        const seen: Array<Option.Option<Conditional.Previous<Doc>>> = []
        // 1 s per source call (TestClock): XFetch's δ.
        const creator = Conditional.make((previous: Option.Option<Conditional.Previous<Doc>>) =>
          Effect.andThen(
            Effect.sleep("1 second"),
            Effect.sync(() => (seen.push(previous), Option.isSome(previous) ? Conditional.notModified : Conditional.fresh(doc(1), { validator: "1" })))
          ))
        const first = yield* Effect.forkChild(r.getOrCreate(K("k"), creator))
        yield* driveUntil(Effect.sync(() => first.pollUnsafe() !== undefined))
        yield* Fiber.join(first)
        // ~1 s before expiry, a draw of 0.01: −ln(0.01)·δ ≥ 4.6 s ≥ the time left, so this read refreshes early.
        yield* TestClock.adjust("8 seconds")
        const served = yield* r.getOrCreate(K("k"), creator).pipe(Effect.provideService(Random.Random, fixed(0.01)))
        assert.deepStrictEqual(served, doc(1))
        yield* driveUntil(Effect.map(count(r.metrics.notModified), (n) => n === 1))
        yield* r.awaitBackground
        assert.strictEqual(seen.length, 2)
        assert.isTrue(Option.isSome(seen[1]!) && seen[1]!.value.validator === "1")
        assert.strictEqual(yield* count(r.metrics.notModified), 1)
        assert.strictEqual(probe.encodes, 1)
        assert.strictEqual(probe.writes.length + appliedIn(probe), 2)
      })))

    it.effect("getOrCreateMany and cachedManyConditional: previous entries per key; renewed and fresh keys mixed in one batch", () =>
      run(Effect.gen(function*() {
        const { probe, r } = yield* region()
        const versions = new Map([["a", 1], ["b", 1], ["c", 1]])
        const seen: Array<ReadonlyArray<string | undefined>> = []
        const load = CachedFunction.cachedManyConditional(
          r,
          (ids: ReadonlyArray<string>, previous: ReadonlyArray<Option.Option<Conditional.Previous<Doc>>>) =>
            Effect.sync(() => {
              seen.push(previous.map((p) => Option.getOrUndefined(Option.map(p, (e) => e.validator))))
              return ids.map((id, i) => {
                const version = String(versions.get(id))
                const p = previous[i]!
                return Option.isSome(p) && p.value.validator === version
                  ? Conditional.notModified
                  : Conditional.fresh({ title: `${id} v${version}`, body: "" }, { validator: version })
              })
            }),
          { namespace: "docs" }
        )
        yield* load(["a", "b", "c"])
        yield* TestClock.adjust("2 seconds")
        versions.set("b", 2)
        const values = yield* load(["a", "b", "c"])
        assert.deepStrictEqual(values.map((v) => v.title), ["a v1", "b v2", "c v1"])
        assert.deepStrictEqual(seen, [[undefined, undefined, undefined], ["1", "1", "1"]])
        assert.strictEqual(probe.encodes, 4)
        assert.strictEqual(probe.writes.length + appliedIn(probe), 6)
        assert.strictEqual(yield* count(r.metrics.notModified), 2)
        // The renewed keys read as fresh.
        yield* TestClock.adjust("500 millis")
        assert.deepStrictEqual((yield* load.get(["a", "c"])).map(Option.isSome), [true, true])
      })))

    it.effect("cachedConditional: the one-key wrapper renews the same way", () =>
      run(Effect.gen(function*() {
        const { probe, r } = yield* region()
        let calls = 0
        const load = CachedFunction.cachedConditional(
          r,
          (previous: Option.Option<Conditional.Previous<Doc>>, id: string) =>
            Effect.sync(() => (calls++, Option.isSome(previous) ? Conditional.notModified : Conditional.fresh(doc(id.length)))),
          { namespace: "one" }
        )
        yield* load("abc")
        yield* TestClock.adjust("2 seconds")
        assert.deepStrictEqual(yield* load("abc"), doc(3))
        assert.strictEqual(calls, 2)
        assert.strictEqual(probe.encodes, 1)
        assert.strictEqual(yield* count(r.metrics.notModified), 1)
      })))

    it.effect("refused: an envelope without metadata fails a conditional creator with InvalidOptionError at first use; an oversized validator with CreatorResultError", () =>
      run(Effect.gen(function*() {
        const { r } = yield* region({ envelope: Envelope.raw })
        const { creator, state } = source()
        const refused = yield* Effect.flip(r.getOrCreate(K("k"), creator))
        assert.instanceOf(refused, InvalidOptionError)
        const many = yield* Effect.flip(r.getOrCreateMany(["k"], Conditional.makeMany((keys) => Effect.succeed(keys.map(() => doc(0))))))
        assert.instanceOf(many, InvalidOptionError)
        assert.strictEqual(state.calls, 0)
        const { r: full } = yield* region()
        const tooLong = yield* Effect.flip(
          full.getOrCreate("k", Conditional.make(() => Effect.succeed(Conditional.fresh(doc(0), { validator: "é".repeat(600) }))))
        )
        assert.instanceOf(tooLong, CreatorResultError)
      })))
  })
}
