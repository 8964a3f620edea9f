/**
 * HashBackend on a local 3-master Redis Cluster: cross-bucket and plain-key
 * batches are grouped by slot (an ungrouped MGET/pipeline would fail with
 * CROSSSLOT or MOVED), overflow keys and lock keys share their bucket's slot,
 * and the hash expiry script is single-slot.
 */
import { assert, describe, it } from "@effect/vitest"
import { Backend, CacheKey, Lock } from "@dogpile-effect/core"
import { HashBackend, HashExpiry } from "@dogpile-effect/hstore"
import * as Slot from "../src/Slot.ts"
import { KeySlot, RedisClient, RedisLock } from "@dogpile-effect/redis"
import { Effect, Layer, Option } from "effect"
import { perFile } from "../../../test-support/perFile.ts"
import { startRedisCluster } from "../../../test-support/redis-server.ts"
import { show, text } from "./bytes.ts"

const cluster = perFile(() => startRedisCluster())

const layer = () =>
  Layer.mergeAll(HashBackend.layer({ hashExpiry: HashExpiry.onCreate("1 minute") }), RedisLock.layer()).pipe(
    // beforeAll has started the cluster before any test builds a Layer.
    Layer.provideMerge(RedisClient.layer({ nodes: cluster().nodes }))
  )

describe("HashBackend on a 3-master cluster", () => {
  it.live("many-key forms across 40 buckets and 40 plain keys in many slots, with overflow, keep order and duplicates", () =>
    Effect.gen(function*() {
      const backend = yield* Backend
      const redis = yield* RedisClient.RedisClient
      assert.isTrue(redis.isCluster)
      const tag = `cl-${process.pid}-${Date.now()}`
      const hashKeys = Array.from({ length: 40 }, (_, b) => CacheKey.hash(`${tag}:b${b}`, String(b % 7)))
      const plainKeys = Array.from({ length: 40 }, (_, i) => `${tag}:p${i}`)
      const slots = new Set([...hashKeys.map((k) => KeySlot.slot(k.hash)), ...plainKeys.map(KeySlot.slot)])
      assert.isAbove(slots.size, 60, "the keys spread over many slots")
      const value = (key: CacheKey.CacheKey, i: number) => (i % 10 === 0 ? "L".repeat(80) + CacheKey.display(key) : CacheKey.display(key))
      const all: Array<CacheKey.CacheKey> = hashKeys.flatMap((h, i) => [h, plainKeys[i] as string])
      yield* backend.setMany(all.map((key, i) => ({ key, value: text(value(key, i)) })))
      const query = [...all, ...all.slice(0, 10), CacheKey.hash(`${tag}:none`, "x"), `${tag}:none`]
      const expected = [...all.map(value), ...all.slice(0, 10).map(value), null, null]
      assert.deepStrictEqual(show(yield* backend.getMany(query)), expected)
      for (const key of hashKeys) {
        const pttl = yield* redis.use("pttl", (c) => c.pttl(key.hash))
        assert.isTrue(pttl > 0 && pttl <= 60_000, "expiry applied by the single-slot script")
      }
      yield* backend.deleteMany(all.slice(0, 20))
      assert.deepStrictEqual(show(yield* backend.getMany(all)), all.map((key, i) => (i < 20 ? null : value(key, i))))
      const overflowLeft = yield* Effect.forEach(
        all.slice(0, 20).filter(CacheKey.isHashKey),
        (key) => redis.use("exists", (c) => c.exists(HashBackend.overflowKey(key.hash, key.field)))
      )
      assert.deepStrictEqual(overflowLeft, overflowLeft.map(() => 0))
    }).pipe(Effect.provide(layer()), Effect.scoped))

  it.live("the lock on a hash key lives in the bucket's slot and excludes a second holder", () =>
    Effect.gen(function*() {
      const lock = yield* Lock
      const bucket = `lock-${process.pid}-${Date.now()}`
      const key = CacheKey.hash(bucket, "7")
      assert.strictEqual(KeySlot.slot(RedisLock.lockKey(key)), KeySlot.slot(bucket))
      assert.strictEqual(KeySlot.slot(HashBackend.overflowKey(bucket, "7")), KeySlot.slot(bucket))
      yield* Effect.scoped(Effect.gen(function*() {
        assert.isTrue(Option.isSome(yield* lock.tryAcquire(key)))
        const second = yield* Effect.scoped(lock.tryAcquire(key))
        assert.isTrue(Option.isNone(second))
      }))
      assert.isTrue(Option.isSome(yield* Effect.scoped(lock.tryAcquire(key))), "released with its scope")
    }).pipe(Effect.provide(layer()), Effect.scoped))

  it.live("buckets named with an empty {} tag, a stray } or nothing: overflow, shrink and delete stay in the bucket's slot", () =>
    Effect.gen(function*() {
      const backend = yield* Backend
      const redis = yield* RedisClient.RedisClient
      const id = `${process.pid}-${Date.now()}`
      // A name ioredis hashes as "{y<n>" while Redis hashes it whole, the two slots a third of the ring apart
      // (so on different masters): ioredis must be left to follow the MOVED reply.
      const third = (slot: number) => Math.floor(slot / 5462)
      let n = 0
      while (third(KeySlot.slot(`x{}{y${n}}${id}`)) === third(KeySlot.slot(`{y${n}`))) n++
      for (const bucket of [`t{}${id}`, `{}${id}`, `a}b${id}`, `x{}{y${n}}${id}`]) {
        const key = CacheKey.hash(bucket, "f")
        assert.strictEqual(KeySlot.slot(HashBackend.overflowKey(bucket, "f")), KeySlot.slot(bucket), bucket)
        yield* backend.set(key, text("L".repeat(100)))
        assert.deepStrictEqual(show([yield* backend.get(key)]), ["L".repeat(100)])
        // ioredis hashes `x{}{y}…` as "{y" where Redis hashes the whole key: such a bucket keeps values inline.
        const overflowed = yield* redis.use("exists", (c) => c.exists(HashBackend.overflowKey(bucket, "f")))
        assert.strictEqual(overflowed, Slot.clientAgrees(bucket) ? 1 : 0, bucket)
        yield* backend.set(key, text("small")) // the script deletes the overflow key (KEYS[2])
        assert.deepStrictEqual(show([yield* backend.get(key)]), ["small"])
        assert.strictEqual(yield* redis.use("exists", (c) => c.exists(HashBackend.overflowKey(bucket, "f"))), 0)
        yield* backend.set(key, text("L".repeat(100)))
        yield* backend.delete(key)
        assert.deepStrictEqual(show([yield* backend.get(key)]), [null])
      }
    }).pipe(Effect.provide(layer()), Effect.scoped))

  it.live("a bucket key of another type fails only its own keys in a batch read across slots", () =>
    Effect.gen(function*() {
      const backend = yield* Backend
      const redis = yield* RedisClient.RedisClient
      const tag = `wt-${process.pid}-${Date.now()}`
      const good = Array.from({ length: 20 }, (_, i) => CacheKey.hash(`${tag}:b${i}`, "f"))
      yield* backend.setMany(good.map((key) => ({ key, value: text(key.hash) })))
      yield* redis.use("set", (c) => c.set(`${tag}:bad`, "a string"))
      const read = yield* backend.getMany([...good, CacheKey.hash(`${tag}:bad`, "f")])
      assert.deepStrictEqual(show(read), [...good.map((key) => key.hash), null])
    }).pipe(Effect.provide(layer()), Effect.scoped))

  it.live("a master killed: batched single-key gets and sets fail only for the keys it serves; the others are answered", () =>
    Effect.gen(function*() {
      const c = cluster()
      const backend = yield* Backend
      const tag = `iso-${process.pid}-${Date.now()}`
      const keys = Array.from({ length: 120 }, (_, i) => CacheKey.hash(`${tag}:b${i}`, "f"))
      yield* backend.setMany(keys.map((key) => ({ key, value: text(key.hash) })))
      const victim = c.servers[2] ?? assert.fail("three masters")
      const redis = yield* RedisClient.RedisClient
      const ranges = (yield* redis.use("cluster", (cl) => cl.call("CLUSTER", "SLOTS"))) as ReadonlyArray<[number, number, [string, number]]>
      const onVictim = keys.map((key) => {
        const slot = KeySlot.slot(key.hash)
        return ranges.some(([from, to, [, port]]) => slot >= from && slot <= to && port === victim.port)
      })
      assert.isTrue(onVictim.some(Boolean) && !onVictim.every(Boolean), "keys on the victim and on the others")
      yield* Effect.promise(() => victim.kill())
      const exits = yield* Effect.forEach(keys, (key) => Effect.exit(backend.get(key)), { concurrency: "unbounded" })
      exits.forEach((exit, i) => {
        if (onVictim[i]) assert.strictEqual(exit._tag, "Failure", `${keys[i]!.hash} lives on the killed master`)
        else assert.deepStrictEqual(exit._tag === "Success" ? show([exit.value]) : exit, [keys[i]!.hash])
      })
      // Batched single-key sets, likewise: one batch per slot.
      const writes = yield* Effect.forEach(keys, (key) => Effect.exit(backend.set(key, text("again"))), { concurrency: "unbounded" })
      writes.forEach((exit, i) => assert.strictEqual(exit._tag, onVictim[i] ? "Failure" : "Success", keys[i]!.hash))
      yield* Effect.promise(() => victim.start())
      yield* Effect.promise(() => c.awaitOk())
    }).pipe(Effect.provide(layer()), Effect.scoped), { timeout: 60_000 })
})
