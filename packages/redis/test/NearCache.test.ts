/**
 * The near cache against real redis-servers: hits without a round trip,
 * writes by other clients, FLUSHALL, killed connections, the read/invalidation
 * race (forced), hash buckets, bounds, and region rules on top of it.
 */
import { assert, describe, it } from "@effect/vitest"
import { execFile } from "node:child_process"
import { promisify } from "node:util"
import { Backend, CacheKey, InvalidOptionError, Lock, Region } from "@dogpile-effect/core"
import { NearCache, NearCacheMetrics, RedisBackend, RedisClient } from "@dogpile-effect/redis"
import { Tracking } from "@dogpile-effect/redis/toolkit"
import { Context, Duration, Effect, Layer, Metric, Option, type Scope } from "effect"
import { TestClock } from "effect/testing"
import { Redis } from "ioredis"
import { inject } from "vitest"
import { startRedisServer } from "../../../test-support/redis-server.ts"

const sharedUrl = inject("redisUrl")
const redisCli = (port: number, ...args: ReadonlyArray<string>) =>
  promisify(execFile)(process.env["REDIS_CLI_BIN"] ?? "redis-cli", ["-p", String(port), ...args])
const encode = (text: string) => new TextEncoder().encode(text)
const text = (value: Option.Option<Uint8Array>) => Option.getOrUndefined(Option.map(value, (b) => new TextDecoder().decode(b)))

const privateServer = Effect.acquireRelease(
  Effect.promise(() => startRedisServer()),
  (server) => Effect.promise(() => server.dispose())
)

/** Another process's view: a plain ioredis client of its own. */
const rawClient = (url: string) =>
  Effect.acquireRelease(
    Effect.promise(async () => {
      const client = new Redis(url, { lazyConnect: true })
      await client.connect()
      return client
    }),
    (client) => Effect.promise(() => client.quit().then(() => undefined, () => client.disconnect()))
  )

interface Near {
  readonly backend: Backend["Service"]
  readonly near: NearCache.NearCache["Service"]
  readonly redis: RedisClient.RedisClient["Service"]
}

/** A near cache over `backend` (RedisBackend by default), on its own RedisClient: one "process". */
const nearOn = (
  url: string,
  options: NearCache.NearCacheOptions = {},
  backend: Layer.Layer<Backend, never, RedisClient.RedisClient> = Layer.orDie(RedisBackend.layer())
): Effect.Effect<Near, unknown, Scope.Scope> =>
  Effect.map(
    Layer.build(
      NearCache.layer({ maxAge: "never", ...options }).pipe(
        Layer.provide(backend),
        Layer.provideMerge(RedisClient.layer({ url }))
      )
    ),
    (context) => ({
      backend: Context.get(context, Backend),
      near: Context.get(context, NearCache.NearCache),
      redis: Context.get(context, RedisClient.RedisClient)
    })
  )

/** GET and MGET calls the server has answered so far. */
const readCalls = (raw: Redis) =>
  Effect.promise(async () => {
    const info = await raw.info("commandstats")
    const calls = (command: string) => Number(new RegExp(`cmdstat_${command}:calls=(\\d+)`).exec(info)?.[1] ?? 0)
    return calls("get") + calls("mget") + calls("hget") + calls("hmget")
  })

/** Polls until `check` holds (every 5 ms, up to 5 s of real time). */
const eventually = <E, R>(what: string, check: Effect.Effect<boolean, E, R>) =>
  Effect.gen(function*() {
    const deadline = Date.now() + 5_000
    while (!(yield* check)) {
      if (Date.now() > deadline) return yield* Effect.die(new Error(`timed out waiting for: ${what}`))
      yield* Effect.sleep("5 millis")
    }
  })

/** The id the data connection's tracking redirects to (its subscriber). */
/** {@link eventually} for tests on the TestClock: waits in real time. */
const realPoll = <E, R>(what: string, check: Effect.Effect<boolean, E, R>) =>
  Effect.gen(function*() {
    const deadline = Date.now() + 5_000
    while (!(yield* check)) {
      if (Date.now() > deadline) return yield* Effect.die(new Error(`timed out waiting for: ${what}`))
      yield* Effect.promise(() => new Promise((resolve) => setTimeout(resolve, 5)))
    }
  })

const subscriberIdOf = (raw: Redis, dataConnectionId: number) =>
  Effect.promise(async () => {
    const list = String(await raw.client("LIST"))
    const line = list.split("\n").find((l) => l.startsWith(`id=${dataConnectionId} `))
    return Number(/redir=(\d+)/.exec(line ?? "")?.[1])
  })

const dataIdOf = (redis: RedisClient.RedisClient["Service"]) =>
  redis.use("client id", (c) => (c as Redis).client("ID"))

describe("NearCache", () => {
  it.live("a second hit makes no Redis round trip", () =>
    Effect.gen(function*() {
      const server = yield* privateServer
      const raw = yield* rawClient(server.url)
      const { backend, near } = yield* nearOn(server.url)
      yield* Effect.promise(() => raw.set("k", "v1"))
      assert.strictEqual(text(yield* backend.get("k")), "v1")
      const before = yield* readCalls(raw)
      yield* near.publishMetrics
      const hitsBefore = (yield* Metric.value(NearCacheMetrics.hits)).count
      for (let i = 0; i < 1000; i++) assert.strictEqual(text(yield* backend.get("k")), "v1")
      assert.deepStrictEqual((yield* backend.getMany(["k", "k"])).map(text), ["v1", "v1"])
      assert.strictEqual((yield* readCalls(raw)) - before, 0)
      assert.strictEqual(yield* near.entries, 1)
      yield* near.publishMetrics
      assert.strictEqual((yield* Metric.value(NearCacheMetrics.hits)).count - hitsBefore, 1002)
    }).pipe(Effect.scoped))

  it.live("misses are not kept: each goes to Redis", () =>
    Effect.gen(function*() {
      const server = yield* privateServer
      const raw = yield* rawClient(server.url)
      const { backend, near } = yield* nearOn(server.url)
      const before = yield* readCalls(raw)
      for (let i = 0; i < 5; i++) assert.isTrue(Option.isNone(yield* backend.get("absent")))
      assert.strictEqual((yield* readCalls(raw)) - before, 5)
      assert.strictEqual(yield* near.entries, 0)
    }).pipe(Effect.scoped))

  it.live("a write by another client evicts the local copy within a bounded wait", () =>
    Effect.gen(function*() {
      const server = yield* privateServer
      const raw = yield* rawClient(server.url)
      const { backend } = yield* nearOn(server.url)
      yield* Effect.promise(() => raw.set("k", "v1"))
      yield* Effect.promise(() => raw.hset("h", "f", "x"))
      assert.strictEqual(text(yield* backend.get("k")), "v1")
      yield* Effect.promise(() => raw.set("k", "v2"))
      yield* eventually("the new value", Effect.map(backend.get("k"), (v) => text(v) === "v2"))
      // Another process: redis-cli.
      assert.strictEqual(text(yield* backend.get("k")), "v2")
      yield* Effect.promise(() => redisCli(server.port, "SET", "k", "from redis-cli"))
      yield* eventually("redis-cli's value", Effect.map(backend.get("k"), (v) => text(v) === "from redis-cli"))
      yield* Effect.promise(() => raw.del("k"))
      yield* eventually("the deletion", Effect.map(backend.get("k"), Option.isNone))
    }).pipe(Effect.scoped))

  it.live("FLUSHALL empties the near cache", () =>
    Effect.gen(function*() {
      const server = yield* privateServer
      const raw = yield* rawClient(server.url)
      const { backend, near } = yield* nearOn(server.url)
      yield* Effect.promise(() => raw.mset("a", "1", "b", "2"))
      yield* backend.getMany(["a", "b"])
      assert.strictEqual(yield* near.entries, 2)
      yield* Effect.promise(() => raw.flushall())
      yield* eventually("an empty near cache", Effect.map(near.entries, (n) => n === 0))
      assert.isTrue(Option.isNone(yield* backend.get("a")))
    }).pipe(Effect.scoped))

  it.live("CLIENT KILL of the subscriber empties the near cache; tracking comes back and evicts again", () =>
    Effect.gen(function*() {
      const server = yield* privateServer
      const raw = yield* rawClient(server.url)
      const { backend, near, redis } = yield* nearOn(server.url)
      yield* Effect.promise(() => raw.set("k", "v1"))
      yield* backend.get("k")
      assert.strictEqual(yield* near.entries, 1)
      const dataId = yield* dataIdOf(redis)
      const subscriber = yield* subscriberIdOf(raw, dataId)
      assert.isAbove(subscriber, 0)
      yield* Effect.promise(() => raw.client("KILL", "ID", String(subscriber)))
      yield* eventually("an empty near cache", Effect.map(near.entries, (n) => n === 0))
      yield* eventually("tracking again", near.isActive)
      assert.notStrictEqual(yield* subscriberIdOf(raw, dataId), subscriber)
      yield* backend.get("k")
      assert.strictEqual(yield* near.entries, 1)
      yield* Effect.promise(() => raw.set("k", "v2"))
      yield* eventually("the new value", Effect.map(backend.get("k"), (v) => text(v) === "v2"))
    }).pipe(Effect.scoped))

  it.live("CLIENT KILL of the data connection empties the near cache; tracking is turned on again", () =>
    Effect.gen(function*() {
      const server = yield* privateServer
      const raw = yield* rawClient(server.url)
      const { backend, near, redis } = yield* nearOn(server.url)
      yield* Effect.promise(() => raw.set("k", "v1"))
      yield* backend.get("k")
      const dataId = yield* dataIdOf(redis)
      yield* Effect.promise(() => raw.client("KILL", "ID", String(dataId)))
      yield* eventually("an empty near cache", Effect.map(near.entries, (n) => n === 0))
      yield* eventually("tracking again", near.isActive)
      yield* eventually("a kept read", Effect.andThen(Effect.ignore(backend.get("k")), Effect.map(near.entries, (n) => n === 1)))
      yield* Effect.promise(() => raw.set("k", "v2"))
      yield* eventually("the new value", Effect.map(backend.get("k"), (v) => text(v) === "v2"))
    }).pipe(Effect.scoped))

  it.live("a server restart empties the near cache and tracking resumes", () =>
    Effect.gen(function*() {
      const server = yield* privateServer
      const { backend, near } = yield* nearOn(server.url)
      yield* Effect.promise(async () => {
        const raw = new Redis(server.url)
        await raw.set("k", "v1")
        raw.disconnect()
      })
      yield* backend.get("k")
      assert.strictEqual(yield* near.entries, 1)
      yield* Effect.promise(() => server.kill())
      yield* eventually("an empty near cache", Effect.map(near.entries, (n) => n === 0))
      yield* Effect.promise(() => server.start())
      yield* eventually("tracking again", near.isActive)
      const raw = yield* rawClient(server.url)
      yield* Effect.promise(() => raw.set("k", "v2"))
      assert.strictEqual(text(yield* backend.get("k")), "v2")
      yield* Effect.promise(() => raw.set("k", "v3"))
      yield* eventually("the newest value", Effect.map(backend.get("k"), (v) => text(v) === "v3"))
    }).pipe(Effect.scoped))

  it.live("the heartbeat keeps a healthy subscriber, and a silent one empties the near cache", () =>
    Effect.gen(function*() {
      const server = yield* privateServer
      const raw = yield* rawClient(server.url)
      const { backend, near } = yield* nearOn(server.url, { heartbeat: "100 millis" })
      yield* Effect.promise(() => raw.set("k", "v1"))
      yield* backend.get("k")
      // Five heartbeats later, still kept (pings answered in subscriber mode).
      yield* Effect.sleep("500 millis")
      assert.strictEqual(yield* near.entries, 1)
      assert.isTrue(yield* near.isActive)
      // A silent server (SIGSTOP): no socket closes, yet the near cache empties within a few heartbeats.
      server.signal("SIGSTOP")
      yield* eventually("an empty near cache", Effect.map(near.entries, (n) => n === 0)).pipe(
        Effect.ensuring(Effect.sync(() => server.signal("SIGCONT")))
      )
      yield* eventually("tracking again", near.isActive)
    }).pipe(Effect.scoped))

  it.live("over a caller's client with a keyPrefix, invalidations still reach the keys as the backend names them", () =>
    Effect.gen(function*() {
      const server = yield* privateServer
      const raw = yield* rawClient(server.url)
      const mine = yield* Effect.acquireRelease(
        Effect.sync(() => new Redis(server.url, { keyPrefix: "app:" })),
        (client) => Effect.sync(() => client.disconnect())
      )
      const context = yield* Layer.build(
        NearCache.layer({ maxAge: "never" }).pipe(
          Layer.provide(RedisBackend.layer()),
          Layer.provideMerge(RedisClient.layerFrom(mine))
        )
      )
      const backend = Context.get(context, Backend)
      yield* Effect.promise(() => raw.set("app:k", "v1"))
      assert.strictEqual(text(yield* backend.get("k")), "v1")
      yield* Effect.promise(() => raw.set("app:k", "v2"))
      yield* eventually("the new value", Effect.map(backend.get("k"), (v) => text(v) === "v2"))
    }).pipe(Effect.scoped))

  it.live("a read that races with an invalidation of its key is not kept", () =>
    Effect.gen(function*() {
      const server = yield* privateServer
      const raw = yield* rawClient(server.url)
      yield* Effect.promise(() => raw.set("k", "old"))
      // The reply of the first read is held until another client has overwritten
      // the key and its invalidation has reached this process.
      let race = true
      const racing = Layer.effect(
        Backend,
        Effect.gen(function*() {
          const inner = yield* RedisBackend.make()
          const redis = yield* RedisClient.RedisClient
          const tracking = yield* Tracking.acquire(redis.client as Redis, { settleMs: 1_000, heartbeatMs: 1_000 })
          const heard = (key: string) =>
            Effect.callback<void>((resume) => {
              const stop = tracking.listen({
                invalidate: (keys) => keys.includes(key) && (stop(), resume(Effect.void)),
                flush: () => {}
              })
            })
          const held = (key: CacheKey.CacheKey) =>
            Effect.tap(inner.get(key), () =>
              race && typeof key === "string"
                ? Effect.andThen(
                  Effect.all([heard(key), Effect.promise(() => raw.set(key, "new"))], { concurrency: 2 }),
                  Effect.sync(() => void (race = false))
                )
                : Effect.void)
          // getMany: only "k" races; the other key read with it is kept.
          const heldMany = (keys: ReadonlyArray<CacheKey.CacheKey>) =>
            Effect.tap(inner.getMany(keys), () =>
              race
                ? Effect.andThen(
                  Effect.all([heard("k"), Effect.promise(() => raw.set("k", "new"))], { concurrency: 2 }),
                  Effect.sync(() => void (race = false))
                )
                : Effect.void)
          return Backend.of({ ...inner, get: held, getMany: heldMany })
        })
      ).pipe(Layer.orDie)
      const { backend, near } = yield* nearOn(server.url, {}, racing)
      assert.strictEqual(text(yield* backend.get("k")), "old") // the racing read answers what it read...
      assert.strictEqual(yield* near.entries, 0) // ...but is not kept
      assert.strictEqual(text(yield* backend.get("k")), "new")
      assert.strictEqual(yield* near.entries, 1)
      // The same through getMany, next to a key that did not change.
      yield* Effect.promise(() => raw.mset("k", "old", "j", "steady"))
      yield* eventually("k evicted", Effect.map(near.entries, (n) => n === 0))
      race = true
      assert.deepStrictEqual((yield* backend.getMany(["k", "j"])).map(text), ["old", "steady"])
      assert.strictEqual(yield* near.entries, 1) // j kept, k not
      assert.deepStrictEqual((yield* backend.getMany(["k", "j"])).map(text), ["new", "steady"])
    }).pipe(Effect.scoped))

  it.live("a write to a hash bucket evicts every cached field of that bucket; bucketed plain keys too", () =>
    Effect.gen(function*() {
      const server = yield* privateServer
      const raw = yield* rawClient(server.url)
      // A hash-capable backend over the same RedisClient: HGET / HSET of real Redis hashes.
      const hashes = Layer.effect(
        Backend,
        Effect.gen(function*() {
          const redis = yield* RedisClient.RedisClient
          const place = (key: CacheKey.CacheKey) => (typeof key === "string" ? bucketing(key) : key)
          const get = (key: CacheKey.CacheKey) => {
            const at = place(key)
            return typeof at === "string"
              ? redis.use("get", (c) => c.getBuffer(at)).pipe(Effect.map(Option.fromNullishOr))
              : redis.use("hget", (c) => c.hgetBuffer(at.hash, at.field)).pipe(Effect.map(Option.fromNullishOr))
          }
          return Backend.of({
            name: "redis-hash",
            capabilities: { hashKeys: true, ttl: false },
            get,
            getMany: (keys) => Effect.forEach(keys, get),
            set: () => Effect.void,
            setMany: () => Effect.void,
            delete: () => Effect.void,
            deleteMany: () => Effect.void
          })
        })
      )
      const bucketing = (key: string): CacheKey.CacheKey => {
        const match = /^(.*?)(\d\d)$/.exec(key)
        return match === null ? key : CacheKey.hash(`${match[1]}`, match[2] as string)
      }
      const { backend, near } = yield* nearOn(server.url, { bucketing }, hashes)
      yield* Effect.promise(() => raw.hset("user:123", "45", "a", "46", "b"))
      yield* Effect.promise(() => raw.hset("other", "1", "c"))
      const before = yield* backend.getMany(["user:12345", CacheKey.hash("user:123", "46"), CacheKey.hash("other", "1")])
      assert.deepStrictEqual(before.map(text), ["a", "b", "c"])
      assert.strictEqual(yield* near.entries, 3)
      yield* Effect.promise(() => raw.hset("user:123", "99", "unrelated field"))
      yield* eventually("the bucket's fields evicted", Effect.map(near.entries, (n) => n === 1))
      assert.strictEqual(text(yield* backend.get(CacheKey.hash("other", "1"))), "c")
    }).pipe(Effect.scoped))

  it.live("bounded by entries and by bytes", () =>
    Effect.gen(function*() {
      const server = yield* privateServer
      const raw = yield* rawClient(server.url)
      const { backend, near } = yield* nearOn(server.url, { maxEntries: 10, maxBytes: 4096 })
      yield* Effect.promise(() => raw.mset(...Array.from({ length: 20 }, (_, i) => [`k${i}`, "x"]).flat()))
      yield* Effect.forEach(Array.from({ length: 20 }, (_, i) => `k${i}`), backend.get)
      assert.strictEqual(yield* near.entries, 10)
      yield* Effect.promise(() => raw.set("big", "y".repeat(1500)))
      yield* Effect.promise(() => raw.set("big2", "y".repeat(1500)))
      yield* backend.get("big")
      yield* backend.get("big2")
      assert.isAtMost(yield* near.bytes, 4096)
      // Larger than the whole budget: served, never kept.
      yield* Effect.promise(() => raw.set("huge", "z".repeat(5000)))
      assert.strictEqual(text(yield* backend.get("huge"))?.length, 5000)
      assert.isAtMost(yield* near.bytes, 4096)
    }).pipe(Effect.scoped))

  it.live("a kept entry owns its bytes: the socket read its reply came in is not kept alive by it", () =>
    Effect.gen(function*() {
      const server = yield* privateServer
      const raw = yield* rawClient(server.url)
      const { backend, near } = yield* nearOn(server.url)
      const keys = Array.from({ length: 200 }, (_, i) => `own:${i}`)
      yield* Effect.promise(() => raw.mset(...keys.flatMap((key) => [key, `value of ${key}`])))
      // Concurrent reads: their replies arrive together, many to one socket read.
      yield* Effect.forEach(keys, backend.get, { concurrency: "unbounded", discard: true })
      assert.strictEqual(yield* near.entries, 200)
      const before = yield* readCalls(raw)
      const held = new Set<ArrayBufferLike>()
      let kept = 0
      for (const key of keys) {
        const bytes = Option.getOrThrow(yield* backend.get(key))
        assert.strictEqual(new TextDecoder().decode(bytes), `value of ${key}`)
        held.add(bytes.buffer)
        kept += bytes.byteLength
      }
      assert.strictEqual((yield* readCalls(raw)) - before, 0, "every read above is a near hit")
      // The memory kept alive is what the entries hold, not the reads they came in.
      const alive = [...held].reduce((sum, buffer) => sum + buffer.byteLength, 0)
      assert.strictEqual(alive, kept)
    }).pipe(Effect.scoped))

  it.live("options are validated when the Layer is built", () =>
    Effect.gen(function*() {
      const fails = (options: NearCache.NearCacheOptions) =>
        Effect.map(Effect.flip(Effect.scoped(nearOn(sharedUrl, options))), (error) => error instanceof InvalidOptionError)
      assert.isTrue(yield* fails({ maxEntries: 0 }))
      assert.isTrue(yield* fails({ maxBytes: 1.5 }))
      assert.isTrue(yield* fails({ maxAge: -1 }))
      assert.isTrue(yield* fails({ heartbeat: "never" }))
      assert.isTrue(yield* fails({ maxLoopLag: 0 }))
      assert.isTrue(yield* fails({ maxLoopLag: -3 }))
      assert.isTrue(yield* fails({ maxLoopLag: "soon" as NearCache.NearCacheOptions["maxLoopLag"] & string }))
      assert.isFalse(yield* Effect.scoped(Effect.as(nearOn(sharedUrl, { maxLoopLag: "never" }), false)))
      assert.isTrue(yield* fails({ bucketing: false })) // RedisBackend stores plain keys under their own name
    }))

  it.live("writes and deletes through the near cache evict the local copy", () =>
    Effect.gen(function*() {
      const { backend, near } = yield* nearOn(sharedUrl)
      const key = `near-write:${process.pid}:${Date.now()}`
      yield* backend.set(key, encode("v1"))
      assert.strictEqual(text(yield* backend.get(key)), "v1")
      assert.strictEqual(yield* near.entries, 1)
      yield* backend.set(key, encode("v2"))
      assert.strictEqual(text(yield* backend.get(key)), "v2")
      yield* backend.delete(key)
      assert.isTrue(Option.isNone(yield* backend.get(key)))
    }).pipe(Effect.scoped))
})

describe("NearCache under a region", () => {
  const regionLayer = (url: string) =>
    Layer.mergeAll(
      NearCache.layer({ maxAge: "never" }).pipe(Layer.provide(RedisBackend.layer())),
      Lock.layerLocal
    ).pipe(Layer.provideMerge(RedisClient.layer({ url })))

  it.effect("expiry from the stored creation time still applies to values kept locally", () =>
    Effect.gen(function*() {
      const near = yield* NearCache.NearCache
      const name = `near-exp-${process.pid}-${Date.now().toString(36)}`
      const region = yield* Region.make<string>({ name, expiration: "1 minute" })
      let runs = 0
      const create = Effect.sync(() => `v${++runs}`)
      assert.strictEqual(yield* region.getOrCreate("k", create), "v1")
      // Kept once a read is not overtaken by the invalidation of this process's own write.
      yield* realPoll("a value kept locally", Effect.andThen(region.getOrCreate("k", create), Effect.map(near.entries, (n) => n >= 1)))
      const before = yield* near.entries
      yield* TestClock.adjust(Duration.minutes(2))
      // Expired by its stored creation time although its bytes are still kept locally: regenerated.
      assert.strictEqual(yield* near.entries, before)
      yield* realPoll("the regenerated value", Effect.map(region.getOrCreate("k", create), (v) => v === "v2"))
      assert.strictEqual(runs, 2)
      assert.strictEqual(yield* region.getOrCreate("k", create), "v2")
    }).pipe(Effect.scoped, Effect.provide(regionLayer(sharedUrl))))

  it.effect("invalidate() marks written by another process apply to values kept locally", () =>
    Effect.gen(function*() {
      const name = `near-inv-${process.pid}-${Date.now().toString(36)}`
      // Two processes: each its own RedisClient, near cache and region.
      const processA = yield* Layer.build(regionLayer(sharedUrl))
      const processB = yield* Layer.build(regionLayer(sharedUrl))
      const a = yield* Effect.provide(Region.make<string>({ name, expiration: "1 hour" }), processA)
      const b = yield* Effect.provide(Region.make<string>({ name, expiration: "1 hour" }), processB)
      const near = Context.get(processA, NearCache.NearCache)
      let runs = 0
      const create = Effect.sync(() => `v${++runs}`)
      for (const round of [1, 2]) {
        // The value (and, from round 2, the invalidation mark) kept in A's near cache.
        // A mark read that raced with B's invalidation is not kept; moving past the 1 s refresh reads it again.
        yield* realPoll(
          "a value kept locally",
          Effect.andThen(
            a.getOrCreate("k", create),
            Effect.flatMap(near.entries, (n) => n >= round ? Effect.succeed(true) : Effect.as(TestClock.adjust(Duration.seconds(1)), false))
          )
        )
        yield* TestClock.adjust(Duration.seconds(2))
        yield* b.invalidate({ hard: true })
        yield* TestClock.adjust(Duration.seconds(2))
        // A reloads the marks (shared invalidation refreshes every second) and sees B's mark. A reload that
        // raced with the invalidation of the marks key read A's local copy; the next reload is a second on.
        yield* realPoll(
          `round ${round}: B's invalidation seen by A`,
          Effect.flatMap(a.getOrCreate("k", create), (v) =>
            v === `v${round + 1}` ? Effect.succeed(true) : Effect.as(TestClock.adjust(Duration.seconds(1)), false))
        )
      }
      assert.strictEqual(runs, 3)
    }).pipe(Effect.scoped))
})
