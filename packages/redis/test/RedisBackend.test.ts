import { assert, describe, it } from "@effect/vitest"
import { Backend, CacheKey, Lock, Region } from "@dogpile-effect/core"
import { RedisBackend, RedisClient } from "@dogpile-effect/redis"
import { Duration, Effect, Layer, Option } from "effect"
import { inject } from "vitest"
import { startRedisServer } from "../../../test-support/redis-server.ts"

const url = inject("redisUrl")
const prefix = `backend-test:${process.pid}:${Date.now().toString(36)}`
const k = (name: string) => `${prefix}:${name}`
const bytes = (text: string) => new TextEncoder().encode(text)
const text = (value: Option.Option<Uint8Array>) => Option.map(value, (b) => new TextDecoder().decode(b))

const backendLayer = (options?: RedisBackend.RedisBackendOptions) =>
  Layer.provideMerge(RedisBackend.layer(options), RedisClient.layer({ url }))

describe("RedisBackend", () => {
  it.live("get / set / delete, binary-safe, no TTL by default", () =>
    Effect.gen(function*() {
      const backend = yield* Backend
      const redis = yield* RedisClient.RedisClient
      assert.deepStrictEqual(backend.capabilities, { hashKeys: false, ttl: true })
      assert.isTrue(Option.isNone(yield* backend.get(k("a"))))
      const all = new Uint8Array(Array.from({ length: 256 }, (_, i) => 255 - i))
      yield* backend.set(k("a"), all)
      const back = yield* backend.get(k("a"))
      assert.isTrue(Option.isSome(back) && Buffer.compare(Buffer.from(back.value), Buffer.from(all)) === 0)
      assert.strictEqual(yield* redis.use("pttl", (c) => c.pttl(k("a"))), -1)
      yield* backend.delete(k("a"))
      assert.isTrue(Option.isNone(yield* backend.get(k("a"))))
    }).pipe(Effect.provide(backendLayer())))

  it.live("the per-entry ttl hint becomes PX; no hint, no TTL", () =>
    Effect.gen(function*() {
      const backend = yield* Backend
      const redis = yield* RedisClient.RedisClient
      yield* backend.set(k("ttl"), bytes("v"), Duration.seconds(30))
      const pttl = yield* redis.use("pttl", (c) => c.pttl(k("ttl")))
      assert.isAbove(pttl, 29_000)
      assert.isAtMost(pttl, 30_000)
      yield* backend.setMany([{ key: k("ttl2"), value: bytes("v"), ttl: Duration.seconds(10) }, { key: k("nottl"), value: bytes("v") }])
      assert.isAbove(yield* redis.use("pttl", (c) => c.pttl(k("ttl2"))), 9_000)
      assert.strictEqual(yield* redis.use("pttl", (c) => c.pttl(k("nottl"))), -1)
    }).pipe(Effect.provide(backendLayer())))

  it.live("the store TTL has one knob, the region's storeTtl: every write of the region carries it as PX", () =>
    Effect.gen(function*() {
      const redis = yield* RedisClient.RedisClient
      const name = `${prefix.replace(/[^A-Za-z0-9.-]/g, "-")}-re`
      const region = yield* Region.make<string>({ name, expiration: "1 minute", storeTtl: "2 minutes" })
      yield* region.set("re1", "v")
      yield* region.setMany([["re2", "v"], ["re3", "v"]])
      yield* region.getOrCreate("re4", Effect.succeed("v"))
      for (const key of ["re1", "re2", "re3", "re4"]) {
        const pttl = yield* redis.use("pttl", (c) => c.pttl(`${name}:${key}`))
        assert.isAbove(pttl, 119_000, key)
        assert.isAtMost(pttl, 120_000, key)
      }
    }).pipe(Effect.scoped, Effect.provide(Layer.mergeAll(backendLayer(), Lock.layerLocal))))

  it.effect("options are validated when the Layer is built: InvalidOptionError, not a defect", () =>
    Effect.gen(function*() {
      for (const batchSize of [0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY]) {
        const error = yield* Effect.flip(Effect.provide(Effect.asVoid(Backend), backendLayer({ batchSize })))
        assert.strictEqual(error._tag, "InvalidOptionError", String(batchSize))
      }
    }))

  it.live("getMany keeps order and duplicates; setMany and deleteMany cover every key", () =>
    Effect.gen(function*() {
      const backend = yield* Backend
      const keys = Array.from({ length: 1234 }, (_, i) => k(`many:${i}`))
      yield* backend.setMany(keys.filter((_, i) => i % 2 === 0).map((key) => ({ key, value: bytes(key) })))
      const asked = [...keys, keys[0] as string, keys[1] as string]
      const got = yield* backend.getMany(asked)
      assert.strictEqual(got.length, asked.length)
      asked.forEach((key, i) => {
        const index = Number(key.split(":").pop())
        assert.deepStrictEqual(text(got[i] as Option.Option<Uint8Array>), index % 2 === 0 ? Option.some(key) : Option.none(), key)
      })
      yield* backend.deleteMany(keys)
      const after = yield* backend.getMany(keys)
      assert.isTrue(after.every(Option.isNone))
      assert.deepStrictEqual(yield* backend.getMany([]), [])
    }).pipe(Effect.provide(backendLayer({ batchSize: 100 }))))

  it.live("batches are chunked to batchSize: MGET / DEL / pipelines of at most that many keys", () =>
    Effect.gen(function*() {
      const server = yield* Effect.acquireRelease(Effect.promise(() => startRedisServer()), (s) => Effect.promise(() => s.dispose()))
      yield* Effect.gen(function*() {
        const backend = yield* Backend
        const redis = yield* RedisClient.RedisClient
        const stat = (command: string) =>
          Effect.map(redis.use("info", (c) => c.info("commandstats")), (info) => {
            const match = new RegExp(`cmdstat_${command}:calls=(\\d+)`).exec(info)
            return match === null ? 0 : Number(match[1])
          })
        const keys = Array.from({ length: 250 }, (_, i) => `chunk:${i}`)
        yield* backend.setMany(keys.map((key) => ({ key, value: bytes(key) })))
        yield* backend.getMany(keys)
        yield* backend.deleteMany(keys)
        assert.strictEqual(yield* stat("set"), 250)
        assert.strictEqual(yield* stat("mget"), 3, "250 keys in batches of 100")
        assert.strictEqual(yield* stat("del"), 3)
      }).pipe(Effect.provide(Layer.provideMerge(RedisBackend.layer({ batchSize: 100 }), RedisClient.layer({ url: server.url }))))
    }).pipe(Effect.scoped))

  it.live("concurrent gets of one tick are coalesced into MGETs of at most batchSize keys, in order", () =>
    Effect.gen(function*() {
      const server = yield* Effect.acquireRelease(Effect.promise(() => startRedisServer()), (s) => Effect.promise(() => s.dispose()))
      const run = (coalesceGets: boolean) =>
        Effect.gen(function*() {
          const backend = yield* Backend
          const redis = yield* RedisClient.RedisClient
          yield* redis.use("resetstat", (c) => c.call("CONFIG", "RESETSTAT"))
          const keys = Array.from({ length: 200 }, (_, i) => `co:${i}`)
          yield* backend.setMany(keys.filter((_, i) => i % 3 !== 0).map((key) => ({ key, value: bytes(key) })))
          const got = yield* Effect.forEach(keys, (key) => backend.get(key), { concurrency: "unbounded" })
          got.forEach((value, i) => assert.deepStrictEqual(text(value), i % 3 === 0 ? Option.none() : Option.some(`co:${i}`)))
          const info = yield* redis.use("info", (c) => c.info("commandstats"))
          const calls = (command: string) => Number(new RegExp(`cmdstat_${command}:calls=(\\d+)`).exec(info)?.[1] ?? 0)
          return { get: calls("get"), mget: calls("mget") }
        }).pipe(Effect.provide(Layer.provideMerge(RedisBackend.layer({ batchSize: 64, coalesceGets }), RedisClient.layer({ url: server.url }))))
      assert.deepStrictEqual(yield* run(true), { get: 0, mget: 4 })
      assert.deepStrictEqual(yield* run(false), { get: 200, mget: 0 })
    }).pipe(Effect.scoped))

  it.live("hash keys fail with UnsupportedKeyError naming the key, before any I/O", () =>
    Effect.gen(function*() {
      const backend = yield* Backend
      const key = CacheKey.hash("bucket", "field-1")
      for (const attempt of [
        backend.get(key),
        backend.getMany(["plain", key]),
        backend.set(key, bytes("v")),
        backend.setMany([{ key, value: bytes("v") }]),
        backend.delete(key),
        backend.deleteMany([key])
      ]) {
        const error = yield* Effect.flip(attempt)
        assert.strictEqual(error._tag, "UnsupportedKeyError")
        assert.include(error.message, "bucket[field-1]")
      }
    }).pipe(Effect.provide(backendLayer())))

  it.live("with Redis down every operation fails fast with BackendError", () =>
    Effect.gen(function*() {
      const server = yield* Effect.acquireRelease(Effect.promise(() => startRedisServer()), (s) => Effect.promise(() => s.dispose()))
      yield* Effect.gen(function*() {
        const backend = yield* Backend
        yield* backend.set("x", bytes("1"))
        yield* Effect.promise(() => server.stop())
        for (const attempt of [
          backend.get("x"),
          backend.getMany(["x", "y"]),
          backend.set("x", bytes("v")),
          backend.setMany([{ key: "x", value: bytes("v") }]),
          backend.delete("x"),
          backend.deleteMany(["x"])
        ]) {
          const start = performance.now()
          const error = yield* Effect.flip(attempt)
          assert.strictEqual(error._tag, "BackendError")
          assert.isBelow(performance.now() - start, 1_100)
        }
      }).pipe(Effect.provide(Layer.provideMerge(RedisBackend.layer(), RedisClient.layer({ url: server.url }))))
    }).pipe(Effect.scoped))
})
