/**
 * A blocked event loop: while this process runs synchronous code, another
 * client's write and its invalidation wait unread in the socket buffers. The
 * first reads after the block must not be served from the near cache.
 */
import { assert, describe, it } from "@effect/vitest"
import { execFile, execFileSync } from "node:child_process"
import { promisify } from "node:util"
import { Backend, Codec, Lock, Region } from "@dogpile-effect/core"
import { NearCache, NearCacheMetrics, RedisBackend, RedisClient } from "@dogpile-effect/redis"
import { Context, Effect, Layer, Metric, Option } from "effect"
import { startRedisServer } from "../../../test-support/redis-server.ts"

const cli = process.env["REDIS_CLI_BIN"] ?? "redis-cli"
const text = (value: Option.Option<Uint8Array>) => Option.getOrUndefined(Option.map(value, (b) => new TextDecoder().decode(b)))

const privateServer = Effect.acquireRelease(
  Effect.promise(() => startRedisServer()),
  (server) => Effect.promise(() => server.dispose())
)

const nearOn = (url: string, options: NearCache.NearCacheOptions = {}) =>
  Effect.map(
    Layer.build(
      NearCache.layer({ maxAge: "never", ...options }).pipe(
        Layer.provide(Layer.orDie(RedisBackend.layer())),
        Layer.provideMerge(RedisClient.layer({ url }))
      )
    ),
    (context) => ({ context, backend: Context.get(context, Backend), near: Context.get(context, NearCache.NearCache) })
  )

/** GET calls the server has answered so far (asked without blocking the loop). */
const gets = (port: number) =>
  Effect.promise(async () => {
    const { stdout } = await promisify(execFile)(cli, ["-p", String(port), "INFO", "commandstats"])
    return Number(/cmdstat_get:calls=(\d+)/.exec(stdout)?.[1] ?? 0)
  })

/** Another client writes `args` while this process is blocked, then the block lasts at least `ms` more. */
const blockedWhile = (port: number, ms: number, ...args: ReadonlyArray<string>) =>
  Effect.sync(() => {
    execFileSync(cli, ["-p", String(port), ...args])
    const until = Date.now() + ms
    while (Date.now() < until) {
      // the event loop stays blocked: nothing is read from any socket
    }
  })

describe("NearCache and a blocked event loop", () => {
  it.live("the first read after a block does not serve a copy another client changed during it", () =>
    Effect.gen(function*() {
      const server = yield* privateServer
      const { backend, near } = yield* nearOn(server.url)
      yield* Effect.promise(() => Promise.resolve(execFileSync(cli, ["-p", String(server.port), "SET", "k", "v1"])))
      for (let i = 0; i < 3; i++) assert.strictEqual(text(yield* backend.get("k")), "v1")
      yield* Effect.sleep("20 millis")
      assert.strictEqual(yield* near.entries, 1)
      for (let round = 0; round < 5; round++) {
        const next = `v${round + 2}`
        yield* near.publishMetrics
        const lagged = (yield* Metric.value(NearCacheMetrics.lagged)).count
        yield* blockedWhile(server.port, 10, "SET", "k", next)
        // Same macrotask as the block: the invalidation has not been read yet.
        assert.strictEqual(text(yield* backend.get("k")), next)
        yield* near.publishMetrics
        assert.isAtLeast((yield* Metric.value(NearCacheMetrics.lagged)).count - lagged, 1)
        assert.strictEqual(text(yield* backend.get("k")), next)
      }
      // Once the loop has turned, the copy is served locally again: no round trip.
      yield* Effect.sleep("20 millis")
      assert.strictEqual(text(yield* backend.get("k")), "v6")
      const before = yield* gets(server.port)
      for (let i = 0; i < 50; i++) assert.strictEqual(text(yield* backend.get("k")), "v6")
      // A read that found the loop behind waited for its next turn, and was then served here too.
      assert.strictEqual((yield* gets(server.port)) - before, 0)
    }).pipe(Effect.scoped))

  it.live("through a region (its synchronous hit path) too", () =>
    Effect.gen(function*() {
      const server = yield* privateServer
      const { context } = yield* nearOn(server.url)
      const region = yield* Effect.provide(
        Region.make<string>({ name: "stall", expiration: "1 hour" }),
        Layer.mergeAll(Layer.succeedContext(context), Codec.layerJson, Lock.layerLocal)
      )
      yield* region.set("k", "v1")
      for (let i = 0; i < 3; i++) assert.deepStrictEqual(yield* region.get("k"), Option.some("v1"))
      yield* Effect.sleep("20 millis")
      for (let round = 0; round < 5; round++) {
        yield* blockedWhile(server.port, 10, "DEL", "stall:k")
        assert.deepStrictEqual(yield* region.get("k"), Option.none())
        yield* region.set("k", "v1")
        yield* Effect.sleep("20 millis")
        yield* region.get("k")
        yield* Effect.sleep("20 millis")
      }
    }).pipe(Effect.scoped))

  it.live("with the check off (maxLoopLag: never), the copy changed during the block is served", () =>
    Effect.gen(function*() {
      const server = yield* privateServer
      const { backend } = yield* nearOn(server.url, { maxLoopLag: "never" })
      execFileSync(cli, ["-p", String(server.port), "SET", "k", "v1"])
      for (let i = 0; i < 3; i++) assert.strictEqual(text(yield* backend.get("k")), "v1")
      yield* Effect.sleep("20 millis")
      yield* blockedWhile(server.port, 10, "SET", "k", "v2")
      assert.strictEqual(text(yield* backend.get("k")), "v1")
      yield* Effect.sleep("20 millis")
      assert.strictEqual(text(yield* backend.get("k")), "v2")
    }).pipe(Effect.scoped))
})
