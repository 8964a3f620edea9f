/**
 * Conditional refresh (issue 26, item 2) through RedisBackend: core's suite
 * (previous entry handed over, "not modified" renews in place without
 * encoding, a write, delete or invalidation meanwhile wins, 200 callers -> 1
 * renewal, batches, function wrappers) against the shared test server, under
 * a near cache, and on a 3-master Cluster; then, on private servers whose
 * counters no other test moves, what a renewal sends to Redis: one script
 * carrying the headers, no SET, a small fraction of the value's bytes, the
 * payload byte for byte the one stored before, a new TTL.
 */
import { assert, describe, it } from "@effect/vitest"
import { Codec, Conditional, Lock, Region } from "@dogpile-effect/core"
import { NearCache, RedisBackend, RedisClient, RedisLock } from "@dogpile-effect/redis"
import { Effect, Layer, Option, Schema } from "effect"
import { TestClock } from "effect/testing"
import { afterAll, beforeAll, inject } from "vitest"
import { type RedisCluster, startRedisCluster, startRedisServer } from "../../../test-support/redis-server.ts"
import { conditionalRefresh } from "../../core/test/conditionalRefresh.ts"

const url = inject("redisUrl")

conditionalRefresh({
  name: "redis",
  layer: () => Layer.mergeAll(RedisBackend.layer(), RedisLock.layer()).pipe(Layer.provide(RedisClient.layer({ url })))
})

conditionalRefresh({
  name: "redis under a near cache",
  layer: () =>
    Layer.mergeAll(NearCache.layer({ maxAge: "never" }).pipe(Layer.provide(RedisBackend.layer())), Lock.layerLocal).pipe(
      Layer.provide(RedisClient.layer({ url }))
    )
})

let cluster: RedisCluster | undefined
beforeAll(async () => {
  cluster = await startRedisCluster()
})
afterAll(async () => {
  await cluster?.dispose()
})
/** The Cluster's client (beforeAll ran: the cluster is up). */
const clusterClient = () => RedisClient.layer({ nodes: (cluster as RedisCluster).nodes })

conditionalRefresh({
  name: "redis cluster",
  layer: () => Layer.mergeAll(RedisBackend.layer(), RedisLock.layer()).pipe(Layer.provide(clusterClient()))
})

/** Counters summed over every node the client reaches (one on a single server, each master of a Cluster). */
const counters = Effect.gen(function*() {
  const redis = yield* RedisClient.RedisClient
  const nodes = redis.isCluster ? (redis.client as import("ioredis").Cluster).nodes("master") : [redis.client]
  let sets = 0
  let scripts = 0
  let input = 0
  for (const node of nodes) {
    const info = yield* Effect.promise(() => node.info("all"))
    sets += Number(/cmdstat_set:calls=(\d+)/.exec(info)?.[1] ?? 0)
    scripts += Number(/cmdstat_evalsha:calls=(\d+)/.exec(info)?.[1] ?? 0) + Number(/cmdstat_eval:calls=(\d+)/.exec(info)?.[1] ?? 0)
    input += Number(/total_net_input_bytes:(\d+)/.exec(info)?.[1] ?? 0)
  }
  return { sets, scripts, input }
})

/** The bytes and PTTL of `key`. */
const storedAt = (key: string) =>
  Effect.gen(function*() {
    const redis = yield* RedisClient.RedisClient
    const value = yield* redis.use("get", (c) => c.getBuffer(key))
    const pttl = yield* redis.use("pttl", (c) => c.pttl(key))
    return { value: value === null ? new Uint8Array() : new Uint8Array(value), pttl }
  })

/**
 * A 100 KB document cached, then renewed after its expiration by a "not modified" answer, with other
 * large replies read while the source is asked (a Redis parser may reuse its buffer for them). What
 * the renewal sent is measured around it alone: SETs, scripts, bytes in.
 */
const renewal = Effect.gen(function*() {
  let encodes = 0
  const codec = { ...Codec.json, name: "counting", encode: (v: unknown) => Effect.suspend(() => (encodes++, Codec.json.encode(v))) }
  const r = yield* Region.make({ name: "cr", schema: Schema.String, expiration: "1 minute" }).pipe(Effect.provideService(Codec, codec))
  const body = "y".repeat(100_000)
  const noise = yield* Region.make({ name: "noise", schema: Schema.String, namespace: false }).pipe(Effect.provideService(Codec, Codec.json))
  const creator = Conditional.make((previous: Option.Option<Conditional.Previous<string>>) =>
    Option.isSome(previous)
      ? Effect.as(Effect.forEach([1, 2, 3], (i) => noise.get(`noise${i}`)), Conditional.notModified)
      : Effect.succeed(Conditional.fresh(body, { validator: "\"v1\"" })))
  yield* r.getOrCreate("doc", creator)
  yield* noise.setMany([1, 2, 3].map((i) => [`noise${i}`, String(i).repeat(120_000)] as const))
  const before = yield* storedAt("cr:doc")
  // Nearly expired in the store: the renewal must bring its TTL back to the region's (2 minutes).
  const redis = yield* RedisClient.RedisClient
  yield* redis.use("pexpire", (c) => c.pexpire("cr:doc", 5_000))
  yield* TestClock.adjust("2 minutes")
  const start = yield* counters
  assert.strictEqual(yield* r.getOrCreate("doc", creator), body)
  const end = yield* counters
  const after = yield* storedAt("cr:doc")
  assert.strictEqual(encodes, 1)
  const payload = (yield* Codec.json.encode(body)).length
  const tail = (b: Uint8Array) => Buffer.from(b.subarray(b.length - payload))
  assert.strictEqual(after.value.length, before.value.length)
  assert.strictEqual(Buffer.compare(tail(after.value), tail(before.value)), 0)
  assert.notStrictEqual(Buffer.compare(Buffer.from(after.value), Buffer.from(before.value)), 0)
  assert.isAbove(after.pttl, 60_000)
  return { sets: end.sets - start.sets, scripts: end.scripts - start.scripts, input: end.input - start.input, size: before.value.length }
})

describe("conditional refresh: what a renewal sends to Redis", () => {
  it.effect("one server: no SET, one script, under 2% of the value's bytes in; payload unchanged, TTL renewed", () =>
    Effect.gen(function*() {
      const server = yield* Effect.acquireRelease(Effect.promise(() => startRedisServer()), (s) => Effect.promise(() => s.dispose()))
      const sent = yield* renewal.pipe(
        Effect.provide(Layer.mergeAll(RedisBackend.layer(), Lock.layerLocal).pipe(Layer.provideMerge(RedisClient.layer({ url: server.url }))))
      )
      // The renewal's round trips: the re-read of the key that found it stale, then one script. The old code sent
      // one SET of the whole entry (100,024 bytes) after a re-read.
      assert.strictEqual(sent.sets, 0)
      assert.strictEqual(sent.scripts, 1)
      assert.isBelow(sent.input, sent.size / 50)
      console.log(`renewal in place: ${sent.scripts} script, ${sent.sets} SET, ${sent.input} bytes in (value ${sent.size} bytes)`)
    }).pipe(Effect.scoped))

  it.effect("cluster: no SET, one script, under 2% of the value's bytes in; payload unchanged, TTL renewed", () =>
    Effect.gen(function*() {
      const sent = yield* renewal.pipe(
        Effect.provide(Layer.mergeAll(RedisBackend.layer(), Lock.layerLocal).pipe(Layer.provideMerge(clusterClient())))
      )
      assert.strictEqual(sent.sets, 0)
      assert.strictEqual(sent.scripts, 1)
      assert.isBelow(sent.input, sent.size / 50)
    }))
})
