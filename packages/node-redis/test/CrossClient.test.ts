/**
 * node-redis and ioredis on one server: a region over NodeRedisBackend +
 * NodeRedisLock and a region over RedisBackend + RedisLock (two processes'
 * worth of clients and locks) read each other's values, exclude each other
 * from creating the same key, and wake each other's waiters on release.
 */
import { assert, describe, it } from "@effect/vitest"
import { Backend, CacheKey, Lock, Region } from "@dogpile-effect/core"
import { NodeRedisBackend, NodeRedisLock } from "@dogpile-effect/node-redis"
import { RedisBackend, RedisClient, RedisLock } from "@dogpile-effect/redis"
import { Context, Duration, Effect, Exit, Fiber, Layer, Option, Scope } from "effect"
import { Redis } from "ioredis"
import { inject } from "vitest"
import { startRedisServer } from "../../../test-support/redis-server.ts"
import { nodeRedis } from "./clients.ts"

const url = inject("redisUrl")
const unique = `cross-${process.pid}-${Date.now().toString(36)}`

/** One "process" on each client: its Backend and Lock, built in the test's scope. */
const sides = (redisUrl: string, lock: { readonly pollMin?: Duration.Input; readonly pollMax?: Duration.Input } = {}) =>
  Effect.gen(function*() {
    const viaNodeRedis = yield* Layer.build(
      Layer.mergeAll(NodeRedisBackend.layer(), NodeRedisLock.layer(lock)).pipe(Layer.provide(nodeRedis(redisUrl)))
    )
    const viaIoredis = yield* Layer.build(
      Layer.mergeAll(RedisBackend.layer(), RedisLock.layer(lock)).pipe(Layer.provideMerge(RedisClient.layer({ url: redisUrl })))
    )
    return { viaIoredis, viaNodeRedis }
  })

describe("node-redis and ioredis on one server", () => {
  it("lock keys: NodeRedisLock names every lock as RedisLock does", () => {
    const keys: ReadonlyArray<CacheKey.CacheKey> = [
      "a",
      "user:{42}:x",
      "",
      CacheKey.hash("users", "42"),
      CacheKey.hash("ns:{users}", "f}{1"),
      CacheKey.hash("a{b", "1"),
      CacheKey.hash("a}b", "1"),
      CacheKey.hash("{}x", "1"),
      CacheKey.hash("{t}rest", "\u0000")
    ]
    for (const key of keys) {
      for (const prefix of [undefined, "L:", ""]) {
        assert.strictEqual(NodeRedisLock.lockKey(key, prefix), RedisLock.lockKey(key, prefix), CacheKey.display(key))
      }
    }
  })

  it.live("values: bytes written by either client read back the same on the other, TTLs included", () =>
    Effect.gen(function*() {
      const { viaIoredis, viaNodeRedis } = yield* sides(url)
      const ioredis = Context.get(viaIoredis, Backend)
      const node = Context.get(viaNodeRedis, Backend)
      // Every byte value, and sequences that are not UTF-8.
      const bytes = new Uint8Array([...Array.from({ length: 256 }, (_, i) => i), 0xc3, 0x28, 0xff, 0xfe, 0])
      yield* ioredis.set(`${unique}:a`, bytes, Duration.minutes(1))
      yield* node.set(`${unique}:b`, bytes.slice().reverse(), Duration.minutes(2))
      const [fromIoredis, fromNode] = [yield* node.get(`${unique}:a`), yield* ioredis.get(`${unique}:b`)]
      assert.deepStrictEqual(Option.map(fromIoredis, (b) => Array.from(b)), Option.some(Array.from(bytes)))
      assert.deepStrictEqual(Option.map(fromNode, (b) => Array.from(b)), Option.some(Array.from(bytes).reverse()))
      const many = yield* node.getMany([`${unique}:b`, `${unique}:missing`, `${unique}:a`])
      assert.deepStrictEqual(many.map(Option.isSome), [true, false, true])
      const redis = Context.get(viaIoredis, RedisClient.RedisClient)
      const pttlA = yield* redis.use("pttl", (c) => c.pttl(`${unique}:a`))
      const pttlB = yield* redis.use("pttl", (c) => c.pttl(`${unique}:b`))
      assert.isTrue(pttlA > 50_000 && pttlA <= 60_000, `ioredis' PX: ${pttlA}`)
      assert.isTrue(pttlB > 110_000 && pttlB <= 120_000, `node-redis' PX: ${pttlB}`)
    }).pipe(Effect.scoped))

  it.live("100 concurrent callers split across an ioredis region and a node-redis region: one creator run per key", () =>
    Effect.gen(function*() {
      const { viaIoredis, viaNodeRedis } = yield* sides(url)
      const name = `${unique}-region`
      const options = { name, namespace: name, expiration: "1 minute" } as const
      const a = yield* Effect.provide(Region.make<string>(options), viaIoredis)
      const b = yield* Effect.provide(Region.make<string>(options), viaNodeRedis)
      const keys = ["k1", "k2", "k3", "k4", "k5"]
      const runs = new Map<string, number>()
      const creator = (key: string) =>
        Effect.andThen(
          Effect.sync(() => runs.set(key, (runs.get(key) ?? 0) + 1)),
          Effect.as(Effect.sleep("200 millis"), `value of ${key}`)
        )
      // 100 callers per key, every other one on the other client, all at once.
      const calls = keys.flatMap((key) =>
        Array.from({ length: 100 }, (_, i) => (i % 2 === 0 ? a : b).getOrCreate(key, creator(key)).pipe(Effect.map((v) => [key, v] as const)))
      )
      const results = yield* Effect.all(calls, { concurrency: "unbounded" })
      assert.deepStrictEqual([...runs.entries()].sort(), keys.map((key) => [key, 1] as [string, number]))
      for (const [key, value] of results) assert.strictEqual(value, `value of ${key}`)
      assert.strictEqual(results.length, 500)
    }).pipe(Effect.scoped))

  it.live("a release on either client wakes the other's waiter by pub/sub: one lock check each, not a re-check", () =>
    Effect.gen(function*() {
      // A private server: its lock checks are this test's alone. A check is an EXISTS (node-redis) or a
      // PTTL (ioredis' RedisLock, which learns the holder's lease with it).
      const server = yield* Effect.acquireRelease(Effect.promise(() => startRedisServer()), (s) => Effect.promise(() => s.dispose()))
      const admin = yield* Effect.acquireRelease(Effect.sync(() => new Redis(server.url)), (c) => Effect.promise(() => c.quit()))
      const existsCalls = Effect.map(Effect.promise(() => admin.info("commandstats")), (info) =>
        Number(/cmdstat_exists:calls=(\d+)/.exec(info)?.[1] ?? 0) + Number(/cmdstat_pttl:calls=(\d+)/.exec(info)?.[1] ?? 0))
      // Waiters that heard nothing would re-check only after 60 s (past the 20 s timeout: one late check).
      const { viaIoredis, viaNodeRedis } = yield* sides(server.url, { pollMin: "60 seconds", pollMax: "60 seconds" })
      const pairs = [
        ["ioredis holds, node-redis waits", viaIoredis, viaNodeRedis],
        ["node-redis holds, ioredis waits", viaNodeRedis, viaIoredis]
      ] as const
      for (const [label, holderSide, waiterSide] of pairs) {
        const holder = Context.get(holderSide, Lock)
        const waiter = Context.get(waiterSide, Lock)
        const key = `wake:${label}`
        const held = yield* Scope.make()
        yield* Scope.provide(holder.acquire(key, "1 second"), held)
        const before = yield* existsCalls
        const waiting = yield* Effect.forkChild(waiter.awaitRelease(key, "20 seconds"))
        // The waiter's first check (held) has been made before the release.
        for (let i = 0; i < 2000 && (yield* existsCalls) === before; i++) yield* Effect.sleep("5 millis")
        assert.strictEqual((yield* existsCalls) - before, 1, `${label}: the first check`)
        yield* Effect.sleep("50 millis")
        assert.isUndefined(waiting.pollUnsafe(), `${label}: the waiter saw the lock held`)
        yield* Scope.close(held, Exit.void)
        yield* Fiber.join(waiting)
        assert.strictEqual((yield* existsCalls) - before, 1, `${label}: woken by the release, no second check`)
      }
    }).pipe(Effect.scoped), 60_000)
})
