/**
 * Store TTLs on Redis (#10): by default every bucket a write touches gets a
 * Redis TTL of at least the longest store TTL (the `ttl` hint) among the
 * entries written to it, never shortened by a shorter one; a write without a
 * hint (`storeTtl: "never"`) makes the bucket persistent; overflow keys get
 * their entry's TTL; explicit policies keep their meaning.
 */
import { assert, describe, it } from "@effect/vitest"
import { Backend, CacheKey } from "@dogpile-effect/core"
import { Bucketing, HashBackend, HashExpiry } from "@dogpile-effect/hstore"
import { RedisClient } from "@dogpile-effect/redis"
import { Duration, Effect, Layer, Option } from "effect"
import { inject } from "vitest"

const url = inject("redisUrl")

const withBackend = <A, E>(
  body: Effect.Effect<A, E, Backend | RedisClient.RedisClient>,
  options: HashBackend.HashBackendOptions = {}
) => body.pipe(Effect.provide(HashBackend.layer(options).pipe(Layer.provideMerge(RedisClient.layer({ url })))), Effect.scoped)

const text = (s: string) => new TextEncoder().encode(s)
let counter = 0
const unique = (label: string) => `ttl-${label}-${process.pid}-${counter++}`

const pttl = (key: string) =>
  Effect.flatMap(RedisClient.RedisClient, (redis) => redis.use("pttl", (c) => c.pttl(key)))

/** Asserts `ms` − 2 s < PTTL ≤ `ms` (a loaded machine may take a while between the write and the read). */
const near = (actual: number, ms: number, what: string) =>
  assert.isTrue(actual > ms - 2_000 && actual <= ms, `${what}: PTTL ${actual}, expected about ${ms}`)

describe("default hash expiry: buckets follow their entries' store TTL", () => {
  it.live("a write sets the bucket TTL to its entry's; a shorter one never lowers it, a longer one raises it", () =>
    withBackend(Effect.gen(function*() {
      const backend = yield* Backend
      const bucket = unique("b")
      yield* backend.set(CacheKey.hash(bucket, "1"), text("a"), Duration.seconds(30))
      near(yield* pttl(bucket), 30_000, "first write")
      yield* backend.set(CacheKey.hash(bucket, "2"), text("b"), Duration.seconds(10))
      near(yield* pttl(bucket), 30_000, "a shorter entry TTL keeps the longer bucket TTL")
      yield* backend.set(CacheKey.hash(bucket, "3"), text("c"), Duration.seconds(90))
      near(yield* pttl(bucket), 90_000, "a longer entry TTL extends the bucket")
    })))

  it.live("setMany: each bucket gets the longest TTL among its entries, plain keys their own", () =>
    withBackend(Effect.gen(function*() {
      const backend = yield* Backend
      const [b1, b2, plain] = [unique("m1"), unique("m2"), unique("p")]
      yield* backend.setMany([
        { key: CacheKey.hash(b1, "a"), value: text("a"), ttl: Duration.seconds(20) },
        { key: CacheKey.hash(b1, "b"), value: text("b"), ttl: Duration.seconds(50) },
        { key: CacheKey.hash(b2, "a"), value: text("c"), ttl: Duration.seconds(40) },
        { key: plain, value: text("p"), ttl: Duration.seconds(30) }
      ])
      near(yield* pttl(b1), 50_000, "b1")
      near(yield* pttl(b2), 40_000, "b2")
      near(yield* pttl(plain), 30_000, "plain key")
    })))

  it.live("a write without a hint (storeTtl: never) leaves the bucket without a TTL", () =>
    withBackend(Effect.gen(function*() {
      const backend = yield* Backend
      const bucket = unique("never")
      yield* backend.set(CacheKey.hash(bucket, "1"), text("a"), Duration.seconds(30))
      yield* backend.set(CacheKey.hash(bucket, "2"), text("b"))
      assert.strictEqual(yield* pttl(bucket), -1)
    })))

  it.live("an overflowed value's key gets its entry's TTL; the bucket too", () =>
    withBackend(Effect.gen(function*() {
      const backend = yield* Backend
      const bucket = unique("ov")
      yield* backend.set(CacheKey.hash(bucket, "big"), text("z".repeat(100)), Duration.seconds(45))
      near(yield* pttl(HashBackend.overflowKey(bucket, "big")), 45_000, "overflow key")
      near(yield* pttl(bucket), 45_000, "bucket")
    })))

  it.live("keys mapped by the backend's bucketing get the TTL of their bucket", () =>
    withBackend(
      Effect.gen(function*() {
        const backend = yield* Backend
        const id = `ttl-bk-${process.pid}-${Date.now()}:`
        yield* backend.set(`${id}1234567`, text("v"), Duration.seconds(25))
        near(yield* pttl(`${id}12345`), 25_000, "bucket user:12345")
        assert.isTrue(Option.isSome(yield* backend.get(`${id}1234567`)))
      }),
      { bucketing: Bucketing.byId() }
    ))
})

describe("explicit hash expiry policies ignore the entry TTL for the bucket", () => {
  it.live("never: no bucket TTL even with a hint; the overflow key still gets its entry's TTL", () =>
    withBackend(
      Effect.gen(function*() {
        const backend = yield* Backend
        const bucket = unique("nv")
        yield* backend.set(CacheKey.hash(bucket, "1"), text("a"), Duration.seconds(30))
        yield* backend.set(CacheKey.hash(bucket, "big"), text("z".repeat(100)), Duration.seconds(30))
        assert.strictEqual(yield* pttl(bucket), -1)
        near(yield* pttl(HashBackend.overflowKey(bucket, "big")), 30_000, "overflow key")
      }),
      { hashExpiry: HashExpiry.never }
    ))

  it.live("onCreate: the policy's TTL, not the hint", () =>
    withBackend(
      Effect.gen(function*() {
        const backend = yield* Backend
        const bucket = unique("oc")
        yield* backend.set(CacheKey.hash(bucket, "1"), text("a"), Duration.seconds(10))
        near(yield* pttl(bucket), 60_000, "bucket")
        yield* backend.set(CacheKey.hash(bucket, "2"), text("a"), Duration.minutes(5))
        near(yield* pttl(bucket), 60_000, "not extended by a longer hint")
      }),
      { hashExpiry: HashExpiry.onCreate("1 minute") }
    ))
})
