/**
 * Conditional refresh (issue 26, item 2) over HashBackend: core's suite with
 * plain keys and with fields of a bucket (one server, and a 3-master
 * Cluster), renewals in place (`restampMany`:
 * the Redis backend's script for plain keys, `HashRestamp`'s for fields);
 * then, on a private server, what one renewal of a field sends: no `HSET`
 * from the client, one script, a fraction of the value's bytes; the bucket's
 * TTL renewed.
 */
import { assert, describe, it } from "@effect/vitest"
import { Backend, CacheKey, Codec, Conditional, Lock, Region } from "@dogpile-effect/core"
import { HashBackend } from "@dogpile-effect/hstore"
import { RedisClient, RedisLock } from "@dogpile-effect/redis"
import { Effect, Layer, Option, Schema } from "effect"
import { TestClock } from "effect/testing"
import { afterAll, beforeAll, inject } from "vitest"
import { type RedisCluster, startRedisCluster, startRedisServer } from "../../../test-support/redis-server.ts"
import { conditionalRefresh } from "../../core/test/conditionalRefresh.ts"

const url = inject("redisUrl")

const layer = () =>
  Layer.mergeAll(Layer.orDie(HashBackend.layer()), RedisLock.layer()).pipe(Layer.provide(RedisClient.layer({ url })))

conditionalRefresh({ name: "hstore, plain keys", layer })
conditionalRefresh({ name: "hstore, fields of a bucket", layer, key: (name) => CacheKey.hash("crbucket", name) })

let cluster: RedisCluster | undefined
beforeAll(async () => {
  cluster = await startRedisCluster()
})
afterAll(async () => {
  await cluster?.dispose()
})

conditionalRefresh({
  name: "hstore on a 3-master cluster, fields of a bucket",
  // beforeAll ran: the cluster is up.
  layer: () =>
    Layer.mergeAll(Layer.orDie(HashBackend.layer()), RedisLock.layer()).pipe(
      Layer.provide(RedisClient.layer({ nodes: (cluster as RedisCluster).nodes }))
    ),
  key: (name) => CacheKey.hash("crbucket", name)
})

/** Script calls and bytes in, from `INFO all`. */
const counters = Effect.gen(function*() {
  const redis = yield* RedisClient.RedisClient
  const info = yield* redis.use("info", (c) => c.info("all"))
  const calls = (command: string) => Number(new RegExp(`cmdstat_${command}:calls=(\\d+)`).exec(info)?.[1] ?? 0)
  return { scripts: calls("evalsha") + calls("eval"), input: Number(/total_net_input_bytes:(\d+)/.exec(info)?.[1] ?? 0) }
})

describe("conditional refresh over hash buckets: what a renewal sends", () => {
  it.effect("a small value (kept in its field, not overflowed) is renewed in place too, and read fresh after", () =>
    Effect.gen(function*() {
      const inner = yield* Backend
      const applied: Array<boolean> = []
      const recording = Backend.of({
        ...inner,
        restampMany: (entries) => Effect.map(inner.restampMany!(entries), (answers) => (applied.push(...answers), answers))
      })
      const r = yield* Region.make({ name: `small-${process.pid}`, schema: Schema.String, expiration: "1 minute" }).pipe(
        Effect.provideService(Backend, recording)
      )
      let calls = 0
      const creator = Conditional.make((previous: Option.Option<Conditional.Previous<string>>) =>
        Effect.sync(() => (calls++, Option.isSome(previous) ? Conditional.notModified : Conditional.fresh("tiny", { validator: "v1" }))))
      const key = CacheKey.hash("smallbucket", "7")
      yield* r.getOrCreate(key, creator)
      yield* TestClock.adjust("2 minutes")
      assert.strictEqual(yield* r.getOrCreate(key, creator), "tiny")
      assert.deepStrictEqual(applied, [true])
      yield* TestClock.adjust("30 seconds")
      assert.strictEqual(yield* r.getOrCreate(key, creator), "tiny")
      assert.strictEqual(calls, 2)
    }).pipe(Effect.scoped, Effect.provide(layer())))

  it.effect("a field renewed in place: one script, under 2% of the value's bytes in; payload unchanged; bucket TTL renewed", () =>
    Effect.gen(function*() {
      const server = yield* Effect.acquireRelease(Effect.promise(() => startRedisServer()), (s) => Effect.promise(() => s.dispose()))
      yield* Effect.gen(function*() {
        const r = yield* Region.make({ name: "cr", schema: Schema.String, expiration: "1 minute" })
        const redis = yield* RedisClient.RedisClient
        const body = "h".repeat(100_000)
        let calls = 0
        const creator = Conditional.make((previous: Option.Option<Conditional.Previous<string>>) =>
          Effect.sync(() => (calls++, Option.isSome(previous) ? Conditional.notModified : Conditional.fresh(body, { validator: "v1" }))))
        const key = CacheKey.hash("docs", "1")
        yield* r.getOrCreate(key, creator)
        const buckets = (yield* redis.use("keys", (c) => c.keys("*docs*"))).filter((k) => !k.includes("\u0000"))
        assert.strictEqual(buckets.length, 1)
        const bucket = buckets[0]!
        // The value: in the field, or in its overflow key when it overflowed (a large value).
        const fieldOf = Effect.gen(function*() {
          const [field, value] = Object.entries(yield* redis.use("hgetall", (c) => c.hgetallBuffer(bucket)))[0]!
          if (value.toString("latin1") !== HashBackend.OVERFLOW_MARKER) return value
          const overflowed = yield* redis.use("get", (c) => c.getBuffer(HashBackend.overflowKey(bucket, field)))
          return overflowed ?? Buffer.alloc(0)
        })
        const before = yield* fieldOf
        // A first renewal loads the scripts (EVALSHA answers NOSCRIPT, then EVAL sends the Lua); the second is measured.
        yield* TestClock.adjust("2 minutes")
        assert.strictEqual(yield* r.getOrCreate(key, creator), body)
        const [field] = Object.keys(yield* redis.use("hgetall", (c) => c.hgetall(bucket)))
        const overflowKey = HashBackend.overflowKey(bucket, field!)
        yield* redis.use("pexpire", (c) => c.pexpire(bucket, 5_000))
        yield* redis.use("pexpire", (c) => c.pexpire(overflowKey, 5_000))
        yield* TestClock.adjust("2 minutes")
        const start = yield* counters
        assert.strictEqual(yield* r.getOrCreate(key, creator), body)
        const end = yield* counters
        const after = yield* fieldOf
        assert.strictEqual(end.scripts - start.scripts, 1)
        assert.isBelow(end.input - start.input, body.length / 50)
        console.log(`hstore field renewal: ${end.scripts - start.scripts} script, ${end.input - start.input} bytes in (value ${before.length} bytes)`)
        const payload = (yield* Codec.json.encode(body)).length
        assert.strictEqual(after.length, before.length)
        assert.strictEqual(Buffer.compare(after.subarray(after.length - payload), before.subarray(before.length - payload)), 0)
        assert.notStrictEqual(Buffer.compare(after, before), 0)
        assert.isAbove(yield* redis.use("pttl", (c) => c.pttl(bucket)), 60_000)
        assert.isAbove(yield* redis.use("pttl", (c) => c.pttl(overflowKey)), 60_000)
        // Fresh again 30 s later: the creator does not run.
        yield* TestClock.adjust("30 seconds")
        assert.strictEqual(yield* r.getOrCreate(key, creator), body)
        assert.strictEqual(calls, 3)
      }).pipe(
        Effect.provide(
          Layer.mergeAll(Layer.orDie(HashBackend.layer()), Lock.layerLocal).pipe(Layer.provideMerge(RedisClient.layer({ url: server.url })))
        )
      )
    }).pipe(Effect.scoped))
})
