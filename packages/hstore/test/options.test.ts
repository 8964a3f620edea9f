/**
 * Every HashBackend option is validated when the Layer is built (#10): a bad
 * value or a combination that would be silently ignored fails the build with
 * InvalidOptionError naming the option — never a defect. Per-entry expiry
 * reads the creation time of the full, compact and packed envelopes.
 */
import { assert, describe, it } from "@effect/vitest"
import { Backend, CacheKey, Codec, Envelope, InvalidOptionError, UnsupportedKeyError } from "@dogpile-effect/core"
import { Bucketing, EntryExpiry, HashBackend, HashExpiry } from "@dogpile-effect/hstore"
import { RedisClient } from "@dogpile-effect/redis"
import { Duration, Effect, Exit, Layer, Option } from "effect"
import { TestClock } from "effect/testing"
import { inject } from "vitest"

const url = inject("redisUrl")

const build = (options: HashBackend.HashBackendOptions) =>
  Layer.build(HashBackend.layer(options).pipe(Layer.provide(RedisClient.layer({ url })))).pipe(Effect.scoped, Effect.exit)

const withBackend = <A, E>(body: Effect.Effect<A, E, Backend | HashBackend.HashStore>, options: HashBackend.HashBackendOptions) =>
  body.pipe(Effect.provide(HashBackend.layer(options).pipe(Layer.provide(RedisClient.layer({ url })))), Effect.scoped)

/** The options whose Layer must fail (built lazily: constructors must not throw), with the option the error must name. */
const invalid: ReadonlyArray<readonly [string, () => HashBackend.HashBackendOptions, string]> = [
  ["onCreate(-1)", () => ({ hashExpiry: HashExpiry.onCreate(-1) }), "hashExpiry"],
  ["onCreate(never)", () => ({ hashExpiry: HashExpiry.onCreate("never") }), "hashExpiry"],
  ["onCreate(0)", () => ({ hashExpiry: HashExpiry.onCreate(0) }), "hashExpiry"],
  ["onEveryWrite(NaN)", () => ({ hashExpiry: HashExpiry.onEveryWrite(Number.NaN) }), "hashExpiry"],
  ["onEveryWrite(garbage)", () => ({ hashExpiry: HashExpiry.onEveryWrite("soon" as never) }), "hashExpiry"],
  ["an unknown policy", () => ({ hashExpiry: { _tag: "Sometimes" } as never }), "hashExpiry"],
  ["maxAge -1", () => ({ entryExpiry: { maxAge: -1 } }), "entryExpiry.maxAge"],
  ["maxAge never", () => ({ entryExpiry: { maxAge: "never" } }), "entryExpiry.maxAge"],
  ["raw envelope", () => ({ entryExpiry: { maxAge: "1 hour", envelope: Envelope.raw } }), "entryExpiry.envelope"],
  ["entry batchSize 0", () => ({ entryExpiry: { maxAge: "1 hour", batchSize: 0 } }), "entryExpiry.batchSize"],
  ["queueCapacity 1.5", () => ({ entryExpiry: { maxAge: "1 hour", queueCapacity: 1.5 } }), "entryExpiry.queueCapacity"],
  ["sweeper bogus", () => ({ entryExpiry: { maxAge: "1 hour", sweeper: "bogus" as never } }), "entryExpiry.sweeper"],
  ["batchSize 0", () => ({ batchSize: 0 }), "batchSize"],
  ["batchSize NaN", () => ({ batchSize: Number.NaN }), "batchSize"],
  ["overflowAbove -1", () => ({ overflowAbove: -1 }), "overflowAbove"],
  ["overflowAbove 1.5", () => ({ overflowAbove: 1.5 }), "overflowAbove"],
  ["byId size 128", () => ({ bucketing: Bucketing.byId({ size: 128 }) }), "byId size"],
  ["byNumber size 1000", () => ({ bucketing: Bucketing.byNumber({ size: 1000 }) }), "byNumber size"],
  ["a bare function as bucketing", () => ({ bucketing: ((key: string) => key) as never }), "bucketing"]
]

describe("HashBackend options are validated when the Layer is built", () => {
  for (const [label, options, option] of invalid) {
    it.live(`${label}: InvalidOptionError naming ${option}`, () =>
      Effect.gen(function*() {
        const exit = yield* build(options())
        assert.isTrue(Exit.isFailure(exit), "the Layer must not build")
        const error = Exit.isFailure(exit) ? exit.cause.reasons[0] : undefined
        assert.strictEqual(error?._tag, "Fail", "a typed failure, not a defect")
        const failure = error?._tag === "Fail" ? error.error : undefined
        assert.instanceOf(failure, InvalidOptionError)
        assert.include((failure as InvalidOptionError).option, option)
      }))
  }

  it.live("valid options build", () =>
    Effect.gen(function*() {
      const exit = yield* build({
        hashExpiry: HashExpiry.onEveryWrite("1 hour"),
        entryExpiry: { maxAge: 0, envelope: Envelope.compact(), batchSize: 10, queueCapacity: 10, sweeper: "manual" },
        overflowAbove: 0,
        batchSize: 1,
        bucketing: Bucketing.byNumber({ size: 128 })
      })
      assert.isTrue(Exit.isSuccess(exit))
    }))
})

describe("per-entry expiry reads the creation time of every core envelope", () => {
  const BASE = Date.UTC(2026, 0, 1)
  const cases: ReadonlyArray<readonly [string, Envelope.EnvelopeShape, unknown]> = [
    ["full (the region's default)", Envelope.full(), { a: 1 }],
    ["full, another version", Envelope.full({ version: 7 }), "v"],
    ["compact", Envelope.compact(), [1, 2]],
    ["packed integer", Envelope.packed(), 42],
    ["packed negative integer", Envelope.packed(), -42],
    ["packed non-integer (compact form)", Envelope.packed(), "text"]
  ]
  for (const [label, envelope, value] of cases) {
    it.effect(`${label}: past maxAge reads as a miss, within it as a hit (default options)`, () =>
      withBackend(
        Effect.gen(function*() {
          yield* TestClock.setTime(BASE)
          const backend = yield* Backend
          const bucket = `pe-${label.replace(/\W/g, "")}-${process.pid}-${Date.now()}`
          yield* backend.setMany([
            { key: CacheKey.hash(bucket, "old"), value: yield* envelope.encode(value, BASE - 20_000, Codec.json) },
            { key: CacheKey.hash(bucket, "new"), value: yield* envelope.encode(value, BASE - 2_000, Codec.json) }
          ])
          const read = yield* backend.getMany([CacheKey.hash(bucket, "old"), CacheKey.hash(bucket, "new")])
          assert.deepStrictEqual(read.map(Option.isSome), [false, true])
        }),
        { entryExpiry: { maxAge: "10 seconds", sweeper: "manual" } }
      ))
  }

  it.effect("a region envelope with other parameters is read when named in entryExpiry.envelope", () =>
    withBackend(
      Effect.gen(function*() {
        yield* TestClock.setTime(BASE)
        const backend = yield* Backend
        const envelope = Envelope.compact({ resolution: "1 minute" })
        const bucket = `pe-minute-${process.pid}-${Date.now()}`
        yield* backend.setMany([
          { key: CacheKey.hash(bucket, "old"), value: yield* envelope.encode(1, BASE - 3_600_000, Codec.json) },
          { key: CacheKey.hash(bucket, "new"), value: yield* envelope.encode(1, BASE, Codec.json) },
          { key: CacheKey.hash(bucket, "full"), value: yield* Envelope.full().encode(1, BASE - 3_600_000, Codec.json) }
        ])
        const read = yield* backend.getMany(["old", "new", "full"].map((f) => CacheKey.hash(bucket, f)))
        assert.deepStrictEqual(read.map(Option.isSome), [false, true, false])
      }),
      { entryExpiry: { maxAge: "10 minutes", envelope: Envelope.compact({ resolution: "1 minute" }), sweeper: "manual" } }
    ))
})

describe("per-entry expiry without maxAge: each bucket's longest store TTL is the age limit", () => {
  const BASE = Date.UTC(2026, 0, 1)
  const full = Envelope.full()
  const options: HashBackend.HashBackendOptions = { entryExpiry: { sweeper: "manual" } }

  it.effect("entries older than the bucket's store TTL read as misses; a longer TTL written later keeps them", () =>
    withBackend(
      Effect.gen(function*() {
        yield* TestClock.setTime(BASE)
        const backend = yield* Backend
        const store = yield* HashBackend.HashStore
        const bucket = `derived-${process.pid}-${Date.now()}`
        const key = (f: string) => CacheKey.hash(bucket, f)
        yield* backend.setMany([
          { key: key("old"), value: yield* full.encode(1, BASE - 20_000, Codec.json), ttl: Duration.seconds(10) },
          { key: key("new"), value: yield* full.encode(2, BASE - 2_000, Codec.json), ttl: Duration.seconds(10) }
        ])
        assert.deepStrictEqual((yield* backend.getMany([key("old"), key("new")])).map(Option.isSome), [false, true])
        assert.strictEqual(yield* store.sweepPending, 1)
        yield* backend.set(key("older"), yield* full.encode(3, BASE - 50_000, Codec.json), Duration.seconds(60))
        assert.deepStrictEqual(
          (yield* backend.getMany([key("new"), key("older")])).map(Option.isSome),
          [true, true],
          "the bucket now keeps entries for 60 s"
        )
        yield* backend.set(key("ancient"), yield* full.encode(4, BASE - 70_000, Codec.json), Duration.seconds(60))
        assert.strictEqual(yield* store.sweepBucket(bucket), 1, "sweepBucket uses the bucket's store TTL")
      }),
      options
    ))

  it.effect("a write without a TTL (storeTtl: never) makes the bucket's entries ageless", () =>
    withBackend(
      Effect.gen(function*() {
        yield* TestClock.setTime(BASE)
        const backend = yield* Backend
        const bucket = `derived-never-${process.pid}-${Date.now()}`
        yield* backend.set(CacheKey.hash(bucket, "a"), yield* full.encode(1, BASE - 20_000, Codec.json), Duration.seconds(10))
        yield* backend.set(CacheKey.hash(bucket, "b"), yield* full.encode(1, BASE - 20_000, Codec.json))
        assert.deepStrictEqual(
          (yield* backend.getMany([CacheKey.hash(bucket, "a"), CacheKey.hash(bucket, "b")])).map(Option.isSome),
          [true, true]
        )
      }),
      options
    ))

  it.effect("the reserved field cannot be used as a cache key", () =>
    withBackend(
      Effect.gen(function*() {
        const backend = yield* Backend
        const key = CacheKey.hash(`reserved-${process.pid}`, EntryExpiry.TTL_FIELD)
        const error = yield* Effect.flip(backend.set(key, new Uint8Array([1])))
        assert.instanceOf(error, UnsupportedKeyError)
        assert.instanceOf(yield* Effect.flip(backend.get(key)), UnsupportedKeyError)
      }),
      options
    ))
})

