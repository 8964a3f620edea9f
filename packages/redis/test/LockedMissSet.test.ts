/**
 * The fused locked miss (`LockedStore.ts`): the store of the created value releases the lock in the
 * same script. Only the holder's own store may do that: a plain `set` of the same key by another
 * fiber of the process, while the creator runs, must leave the lock held, or a second process can
 * start a second creator (the short chaos run found two overlapping creators this way).
 */
import { assert, describe, it } from "@effect/vitest"
import { Codec, Region } from "@dogpile-effect/core"
import { RedisBackend, RedisClient, RedisLock } from "@dogpile-effect/redis"
import { Context, Deferred, Effect, Fiber, Layer } from "effect"
import { startRedisServer } from "../../../test-support/redis-server.ts"

const serverInScope = Effect.acquireRelease(Effect.promise(() => startRedisServer()), (s) => Effect.promise(() => s.dispose()))

const servicesOn = (url: string) =>
  Layer.build(Layer.mergeAll(RedisBackend.layer(), Codec.layerJson).pipe(
    Layer.provideMerge(RedisLock.layer()),
    Layer.provideMerge(RedisClient.layer({ url }))
  ))

describe("fused locked miss and a concurrent set", () => {
  it.live("another fiber's set of the key leaves the creator's lock held; the creator's own store releases it", () =>
    Effect.gen(function*() {
      const server = yield* serverInScope
      const a = yield* servicesOn(server.url)
      const b = yield* servicesOn(server.url)
      const redis = Context.get(a, RedisClient.RedisClient)
      const regionA = yield* Effect.provide(Region.make<number>({ name: "fused-set", expiration: "1 minute" }), a)
      const regionB = yield* Effect.provide(Region.make<number>({ name: "fused-set", expiration: "1 minute" }), b)
      const lockKeys = redis.use("keys", (c) => c.keys("_lock:*")).pipe(Effect.map((keys) => keys.length))
      yield* regionA.getOrCreate("warm-up", Effect.succeed(0))

      const started = yield* Deferred.make<void>()
      const finish = yield* Deferred.make<void>()
      let creatorsA = 0
      let creatorsB = 0
      const creatorA = Effect.gen(function*() {
        creatorsA++
        yield* Deferred.succeed(started, undefined)
        yield* Deferred.await(finish)
        return 1
      })
      const holder = yield* Effect.forkChild(regionA.getOrCreate("k", creatorA))
      yield* Deferred.await(started)
      assert.strictEqual(yield* lockKeys, 1, "the creator holds the lock")

      // A plain write of the same key from another fiber of the same process, while the creator runs.
      yield* regionA.set("k", 2)
      assert.strictEqual(yield* lockKeys, 1, "a plain set does not release the creator's lock")

      // The value disappears (eviction, a delete): another process must wait for the holder, not create.
      yield* regionA.delete("k")
      const other = yield* Effect.forkChild(regionB.getOrCreate("k", Effect.sync(() => { creatorsB++; return 3 })))
      yield* Effect.sleep("300 millis")
      assert.strictEqual(creatorsB, 0, "no second creator while the first holds the lock")

      yield* Deferred.succeed(finish, undefined)
      assert.strictEqual(yield* Fiber.join(holder), 1)
      assert.strictEqual(yield* Fiber.join(other), 1, "the waiter reads the holder's value")
      assert.strictEqual(yield* lockKeys, 0, "the holder's store released the lock")
      assert.deepStrictEqual([creatorsA, creatorsB], [1, 0])
    }).pipe(Effect.scoped), { timeout: 30_000 })
})
