/**
 * Hits in buckets and batches: the region reads of one tick go to Redis as one
 * HMGET per bucket (no script), counted with INFO commandstats on a dedicated
 * server, in the hstore README's layout (`Bucketing.byId()`, per-entry expiry,
 * compact envelope). Run with REDIS_SERVER_BIN pointing at Redis 7.4+ to check
 * the same counts where the server has field TTLs.
 */
import { assert, describe, it } from "@effect/vitest"
import { Codec, Envelope, Lock, Region } from "@dogpile-effect/core"
import { Bucketing, HashBackend } from "@dogpile-effect/hstore"
import { RedisClient } from "@dogpile-effect/redis"
import { Effect, Layer, Option } from "effect"
import { perFile } from "../../../test-support/perFile.ts"
import { startRedisServer } from "../../../test-support/redis-server.ts"
import { counted } from "./serverInfo.ts"

const server = perFile(() => startRedisServer())

const BUCKETS = 10
const KEYS = BUCKETS * 100

const live = () =>
  Layer.mergeAll(HashBackend.layer({ bucketing: Bucketing.byId(), entryExpiry: {} }), Lock.layerLocal).pipe(
    Layer.provideMerge(RedisClient.layer({ url: server().url }))
  )

let counter = 0
/** A region over fresh buckets: `KEYS` keys `user:<base><00..99>`, `BUCKETS` buckets of 100, all written. */
const filled = Effect.gen(function*() {
  const name = `hits${counter++}`
  const region = yield* Region.make<number>({ name, codec: Codec.json, envelope: Envelope.compact(), expiration: "1 hour" })
  const keys = Array.from({ length: KEYS }, (_, i) => `user:${100_000 + i}`)
  yield* region.setMany(keys.map((key, i) => [key, i] as const))
  // The region reads its invalidation marks (one MGET) with its first read, then once a second of the
  // clock, which TestClock holds still: the reads counted below send bucket reads only.
  yield* region.get(keys[0]!)
  return { region, keys }
})


/** Every value present and equal to its key's position. */
const checkValues = (keys: ReadonlyArray<string>, wanted: ReadonlyArray<string>, values: ReadonlyArray<Option.Option<number>>) =>
  assert.deepStrictEqual(values, wanted.map((key) => Option.some(keys.indexOf(key))))

describe("HashBackend reads in batches (README layout)", () => {
  it.effect("1,000 concurrent hits over 10 buckets: one HMGET per bucket, no script", () =>
    Effect.gen(function*() {
      const { keys, region } = yield* filled
      const { result, sent } = yield* counted(Effect.forEach(keys, (key) => region.get(key), { concurrency: "unbounded" }))
      checkValues(keys, keys, result)
      assert.deepStrictEqual(sent, { hmget: BUCKETS })
    }).pipe(Effect.scoped, Effect.provide(live())))

  it.effect("getMany of 1,000 keys over 10 buckets: one HMGET per bucket, no script", () =>
    Effect.gen(function*() {
      const { keys, region } = yield* filled
      const { result, sent } = yield* counted(region.getMany(keys))
      checkValues(keys, keys, result)
      assert.deepStrictEqual(sent, { hmget: BUCKETS })
    }).pipe(Effect.scoped, Effect.provide(live())))

  it.effect("4 concurrent getMany of 250 keys each and 100 gets, all over the same 10 buckets: one HMGET per bucket", () =>
    Effect.gen(function*() {
      const { keys, region } = yield* filled
      // Caller c reads the keys i ≡ c (mod 4): every caller touches every bucket.
      const parts = [0, 1, 2, 3].map((c) => keys.filter((_, i) => i % 4 === c))
      const singles = keys.filter((_, i) => i % 10 === 3)
      const { result, sent } = yield* counted(
        Effect.all([
          Effect.forEach(parts, (part) => region.getMany(part), { concurrency: "unbounded" }),
          Effect.forEach(singles, (key) => region.get(key), { concurrency: "unbounded" })
        ], { concurrency: "unbounded" })
      )
      const [many, ones] = result
      parts.forEach((part, c) => checkValues(keys, part, many[c] as ReadonlyArray<Option.Option<number>>))
      checkValues(keys, singles, ones)
      assert.deepStrictEqual(sent, { hmget: BUCKETS })
    }).pipe(Effect.scoped, Effect.provide(live())))

  it.effect("getMany with duplicates, missing keys and plain keys in one call answers in input order", () =>
    Effect.gen(function*() {
      const { keys, region } = yield* filled
      const wanted = [keys[5]!, "user:999999", keys[5]!, keys[999]!, "user:100000x", keys[0]!]
      const [values, one] = yield* Effect.all([region.getMany(wanted), region.get(keys[7]!)], { concurrency: "unbounded" })
      assert.deepStrictEqual(values, [Option.some(5), Option.none(), Option.some(5), Option.some(999), Option.none(), Option.some(0)])
      assert.deepStrictEqual(one, Option.some(7))
    }).pipe(Effect.scoped, Effect.provide(live())))
})
