import { assert, describe, it } from "@effect/vitest"
import { Backend, Codec, Region } from "@dogpile-effect/core"
import { KeySlot, RedisBackend, RedisClient, RedisLock } from "@dogpile-effect/redis"
import { Context, Effect, Exit, Layer, Option, Scope } from "effect"
import * as fc from "fast-check"
import { Cluster, Redis } from "ioredis"
import { afterAll, beforeAll } from "vitest"
import { type RedisCluster, startRedisCluster } from "../../../test-support/redis-server.ts"

let cluster: RedisCluster | undefined
beforeAll(async () => {
  cluster = await startRedisCluster()
})
afterAll(async () => {
  await cluster?.dispose()
})

const clusterLayer = () => {
  // beforeAll ran: the cluster is up.
  const nodes = (cluster as RedisCluster).nodes
  return RedisClient.layer({ nodes })
}
const bytes = (text: string) => new TextEncoder().encode(text)

describe("KeySlot", () => {
  it("batches cover every position once, never cross a slot, never exceed the size", () => {
    fc.assert(
      fc.property(
        fc.array(fc.oneof(fc.string(), fc.constantFrom("{a}x", "{a}y", "b{c}", "{}z")), { maxLength: 300 }),
        fc.integer({ min: 1, max: 50 }),
        (keys, size) => {
          const batches = KeySlot.batches(keys, { size, cluster: true })
          const seen = batches.flat().sort((a, b) => a - b)
          assert.deepStrictEqual(seen, keys.map((_, i) => i))
          for (const batch of batches) {
            assert.isAtMost(batch.length, size)
            assert.strictEqual(new Set(batch.map((i) => KeySlot.slot(keys[i] as string))).size, 1)
          }
        }
      )
    )
  })

  it.live("slot() agrees with CLUSTER KEYSLOT, {tag} rules and UTF-8 included", () =>
    Effect.gen(function*() {
      const redis = yield* RedisClient.RedisClient
      assert.isTrue(redis.isCluster)
      const keys = ["foo", "user:{42}:name", "{user1000}.following", "a{}b", "{}{x}", "x{y", "é日本🙂", "", "{a}{b}", ...Array.from({ length: 200 }, (_, i) => `k${i * 7919}`)]
      for (const key of keys) {
        const expected = yield* redis.use("keyslot", (c) => c.call("CLUSTER", "KEYSLOT", key))
        assert.strictEqual(KeySlot.slot(key), Number(expected), key)
      }
      assert.strictEqual(KeySlot.tagOf("user:{42}:name"), "{42}")
      assert.isUndefined(KeySlot.tagOf("plain"))
    }).pipe(Effect.provide(clusterLayer())))
})

describe("RedisBackend on a 3-master cluster", () => {
  it.live("a multi-slot MGET is refused by the cluster (what the grouping avoids)", () =>
    Effect.gen(function*() {
      const redis = yield* RedisClient.RedisClient
      const error = yield* Effect.flip(redis.use("mget", (c) => c.mget("a", "b", "c")))
      // Refused by the server (CROSSSLOT) or, with auto-pipelining, by ioredis itself.
      assert.match(error.reason, /CROSSSLOT|same slot/)
    }).pipe(Effect.provide(clusterLayer())))

  it.live("getMany / setMany / deleteMany over 2000 keys in many slots, in order", () =>
    Effect.gen(function*() {
      const backend = yield* Backend
      const keys = Array.from({ length: 2000 }, (_, i) => (i % 10 === 0 ? `{tagged}:${i}` : `cluster:${i}`))
      assert.isAbove(new Set(keys.map(KeySlot.slot)).size, 1000)
      yield* backend.setMany(keys.map((key, i) => ({ key, value: bytes(String(i)) })))
      const got = yield* backend.getMany([...keys].reverse())
      got.forEach((value, j) => {
        assert.deepStrictEqual(Option.map(value, (b) => new TextDecoder().decode(b)), Option.some(String(keys.length - 1 - j)))
      })
      yield* backend.set("single", bytes("one"))
      assert.isTrue(Option.isSome(yield* backend.get("single")))
      yield* backend.deleteMany(keys)
      assert.isTrue((yield* backend.getMany(keys)).every(Option.isNone))
    }).pipe(Effect.provide(Layer.provideMerge(RedisBackend.layer({ batchSize: 64 }), clusterLayer()))))
})

describe("RedisClient.layerFrom on the caller's ioredis Cluster", () => {
  it.live("serves the backend across slots and leaves the Cluster open when the Layer closes", () =>
    Effect.gen(function*() {
      const mine = new Cluster([...(cluster as RedisCluster).nodes], { enableAutoPipelining: true })
      yield* Effect.addFinalizer(() => Effect.sync(() => mine.disconnect()))
      const scope = yield* Scope.make()
      const ctx = yield* Scope.provide(Layer.build(Layer.provideMerge(RedisBackend.layer(), RedisClient.layerFrom(mine))), scope)
      const backend = Context.get(ctx, Backend)
      const keys = Array.from({ length: 200 }, (_, i) => `own-cluster:${i}`)
      yield* backend.setMany(keys.map((key) => ({ key, value: bytes(key) })))
      assert.isTrue((yield* backend.getMany(keys)).every(Option.isSome))
      yield* Scope.close(scope, Exit.void)
      assert.strictEqual(mine.status, "ready")
      assert.strictEqual(yield* Effect.promise(() => mine.get("own-cluster:1")), "own-cluster:1")
    }).pipe(Effect.scoped))
})

describe("RedisLock's locked miss on a 3-master cluster", () => {
  /** Calls of `command` on every master (commandstats counts the commands scripts call). */
  const callsEverywhere = (command: string) =>
    Effect.promise(async () => {
      let total = 0
      for (const node of (cluster as RedisCluster).nodes) {
        const info = await new Promise<string>((resolve, reject) => {
          const raw = new Redis(node.port, node.host)
          raw.info("commandstats").then((text) => {
            raw.disconnect()
            resolve(text)
          }, reject)
        })
        total += Number(new RegExp(`cmdstat_${command}:calls=(\\d+)`).exec(info)?.[1] ?? 0)
      }
      return total
    })

  it.live("a {tagged} key (value and lock in one slot) goes fused; an untagged one keeps the usual protocol", () =>
    Effect.gen(function*() {
      const services = yield* Layer.build(Layer.mergeAll(RedisBackend.layer(), Codec.layerJson).pipe(
        Layer.provideMerge(RedisLock.layer()),
        Layer.provideMerge(clusterLayer())
      ))
      const region = yield* Effect.provide(Region.make<number>({ name: "fused", expiration: "1 minute" }), services)
      yield* region.getOrCreate("{warm}", Effect.succeed(0))
      // EXISTS runs only inside the fused attempt's script; GET of the value again only in the usual protocol.
      const miss = (key: string, value: number) =>
        Effect.gen(function*() {
          const [exists, gets] = [yield* callsEverywhere("exists"), yield* callsEverywhere("get")]
          assert.strictEqual(yield* region.getOrCreate(key, Effect.succeed(value)), value)
          return { exists: (yield* callsEverywhere("exists")) - exists, gets: (yield* callsEverywhere("get")) - gets }
        })
      const untagged = ["plain-a", "plain-b", "plain-c"].find((k) =>
        KeySlot.slot(`fused:${k}`) !== KeySlot.slot(RedisLock.lockKey(`fused:${k}`))) as string
      // Fused: the read, then the check-and-lock script (EXISTS inside), the store-and-release (its GET of the lock).
      assert.deepStrictEqual(yield* miss("{user:1}:name", 1), { exists: 1, gets: 2 })
      // Usual: the read, SET NX, the read again, the SET, the release script (its GET of the lock).
      assert.deepStrictEqual(yield* miss(untagged, 2), { exists: 0, gets: 3 })
      assert.strictEqual(yield* region.getOrCreate("{user:1}:name", Effect.succeed(9)), 1)
      assert.strictEqual(yield* region.getOrCreate(untagged, Effect.succeed(9)), 2)
    }).pipe(Effect.scoped))
})
