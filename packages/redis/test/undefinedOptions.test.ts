/**
 * Options given as `undefined` (which `?: T | undefined` lets a caller with
 * exactOptionalPropertyTypes write, e.g. from a missing configuration value)
 * mean the default, exactly as a left-out option does: each case below builds
 * with every optional option `undefined` and with none, and compares what was
 * resolved or what can be observed. A resolver that spread the options over
 * its defaults (`{ ...defaults, ...options }`) would fail these.
 */
import { assert, describe, it } from "@effect/vitest"
import { Backend, CacheKey, Lock } from "@dogpile-effect/core"
import { NearCache, RedisBackend, RedisClient, RedisLock } from "@dogpile-effect/redis"
import { Context, Effect, Layer, Option } from "effect"
import type { Redis } from "ioredis"
import { inject } from "vitest"
import * as ClientSettings from "../src/ClientSettings.ts"
import * as LockSettings from "../src/LockSettings.ts"

const url = inject("redisUrl")
const unique = `undefined-options:${process.pid}:${Date.now().toString(36)}`

const clientUndefined = {
  sentinel: undefined,
  cluster: undefined,
  nodes: undefined,
  username: undefined,
  password: undefined,
  db: undefined,
  tls: undefined,
  commandTimeout: undefined,
  connectTimeout: undefined,
  maxReconnectDelay: undefined,
  autoPipelining: undefined,
  connectionName: undefined
} satisfies RedisClient.RedisClientOptions

const lockUndefined = {
  name: undefined,
  prefix: undefined,
  leaseTtl: undefined,
  ttl: undefined,
  renewEvery: undefined,
  onLost: undefined,
  pollMin: undefined,
  pollMax: undefined,
  channel: undefined,
  lockKey: undefined,
  releaseWait: undefined
} satisfies RedisLock.RedisLockOptions

const nearUndefined = {
  maxEntries: undefined,
  maxBytes: undefined,
  maxAge: undefined,
  heartbeat: undefined,
  maxLoopLag: undefined,
  bucketing: undefined
} satisfies NearCache.NearCacheOptions

/** The parts of resolved client settings that are data (not the connection factory). */
const dataOf = ({ create: _create, ...data }: ClientSettings.Settings) => data

/** What an ioredis client was configured with, for the options RedisClient sets. */
const configured = (client: Redis) => {
  const o = client.options
  return {
    host: o.host,
    port: o.port,
    db: o.db,
    username: o.username,
    password: o.password,
    tls: o.tls,
    connectionName: o.connectionName,
    connectTimeout: o.connectTimeout,
    commandTimeout: o.commandTimeout,
    enableAutoPipelining: o.enableAutoPipelining,
    reconnectAfter: [1, 5, 20].map((times) => o.retryStrategy?.(times))
  }
}

const clientOf = (options: RedisClient.RedisClientOptions) =>
  Effect.map(Layer.build(RedisClient.layer(options)), (ctx) => Context.get(ctx, RedisClient.RedisClient))

describe("undefined options are the defaults (redis)", () => {
  it.effect("RedisClient settings: every option undefined resolves like none given", () =>
    Effect.gen(function*() {
      const given = yield* ClientSettings.resolve({ url: undefined, ...clientUndefined })
      const absent = yield* ClientSettings.resolve({})
      assert.deepStrictEqual(dataOf(given), dataOf(absent))
      assert.strictEqual(given.commandTimeoutMs, 1_000)
      assert.strictEqual(given.label, "redis://127.0.0.1:6379")
    }))

  it.effect("RedisClient.layer: every option but url undefined connects like none given", () =>
    Effect.gen(function*() {
      const given = yield* clientOf({ url, ...clientUndefined })
      const absent = yield* clientOf({ url })
      assert.deepStrictEqual(configured(given.client as Redis), configured(absent.client as Redis))
      assert.strictEqual((given.client as Redis).options.enableAutoPipelining, true)
      assert.strictEqual(given.commandTimeoutMillis, absent.commandTimeoutMillis)
      assert.strictEqual(given.label, absent.label)
      assert.strictEqual(yield* given.use("ping", (c) => c.ping(), { timeoutMillis: undefined }), "PONG")
    }).pipe(Effect.scoped))

  it.effect("RedisClient.fromClient: commandTimeout undefined takes the client's own", () =>
    Effect.gen(function*() {
      const owner = yield* clientOf({ url, commandTimeout: "750 millis" })
      const given = yield* RedisClient.fromClient(owner.client, { commandTimeout: undefined })
      const absent = yield* RedisClient.fromClient(owner.client)
      assert.strictEqual(given.commandTimeoutMillis, absent.commandTimeoutMillis)
    }).pipe(Effect.scoped))

  it.effect("RedisLock settings: every option undefined resolves like none given", () =>
    Effect.gen(function*() {
      const keyOf = (key: CacheKey.CacheKey, prefix: string) => `${prefix}${typeof key === "string" ? key : key.hash}`
      const { keyOf: givenKey, ...given } = yield* LockSettings.resolve(lockUndefined, keyOf)
      const { keyOf: absentKey, ...absent } = yield* LockSettings.resolve({}, keyOf)
      assert.deepStrictEqual(given, absent)
      assert.deepStrictEqual(
        { name: given.name, prefix: given.prefix, leaseMs: given.leaseMs, onLost: given.onLost },
        { name: "redis", prefix: "_lock:", leaseMs: 10_000, onLost: "log" }
      )
      assert.strictEqual(givenKey("k"), absentKey("k"))
    }))

  it.effect("RedisLock.layer with every option undefined takes and releases a lock on _lock:<key>", () =>
    Effect.gen(function*() {
      const ctx = yield* Layer.build(Layer.provideMerge(RedisLock.layer(lockUndefined), RedisClient.layer({ url })))
      const lock = Context.get(ctx, Lock)
      const redis = Context.get(ctx, RedisClient.RedisClient)
      const key = `${unique}:lock`
      yield* Effect.scoped(Effect.gen(function*() {
        assert.isTrue(Option.isSome(yield* lock.tryAcquire(key)))
        assert.strictEqual(yield* redis.use("exists", (c) => c.exists(`_lock:${key}`)), 1)
      }))
      assert.strictEqual(yield* redis.use("exists", (c) => c.exists(`_lock:${key}`)), 0)
    }).pipe(Effect.scoped))

  it.effect("RedisBackend and NearCache layers with every option undefined read through like the defaults", () =>
    Effect.gen(function*() {
      const backend = RedisBackend.layer({ batchSize: undefined, coalesceGets: undefined })
      const ctx = yield* Layer.build(
        Layer.provideMerge(NearCache.layer(nearUndefined), Layer.provideMerge(backend, RedisClient.layer({ url })))
      )
      const store = Context.get(ctx, Backend)
      const near = Context.get(ctx, NearCache.NearCache)
      const keys = Array.from({ length: 20 }, (_, i) => `${unique}:near:${i}`)
      for (const key of keys) yield* store.set(key, new Uint8Array([1, 2, 3]))
      const read = yield* store.getMany(keys)
      assert.strictEqual(read.filter(Option.isSome).length, keys.length)
      yield* Effect.forEach(keys, (key) => store.get(key))
      assert.strictEqual(yield* near.entries, keys.length)
      assert.isTrue(yield* near.isActive)
    }).pipe(Effect.scoped))
})
