/**
 * NodeRedisBackend on its own: bytes both ways, TTLs, many-key order,
 * options validated when built, and failures as `BackendError`s that name
 * their cause and never the password.
 */
import { assert, describe, it } from "@effect/vitest"
import { Backend, CacheKey } from "@dogpile-effect/core"
import { NodeRedisBackend } from "@dogpile-effect/node-redis"
import { NodeRedis } from "@effect/platform-node"
import { Context, Duration, Effect, Fiber, Layer, Option } from "effect"
import { TestClock } from "effect/testing"
import { createClient } from "redis"
import { inject } from "vitest"
import { startRedisServer } from "../../../test-support/redis-server.ts"
import { nodeRedis } from "./clients.ts"
import { scrub } from "../src/ErrorMapping.ts"

const url = inject("redisUrl")
const unique = `nrb-${process.pid}-${Date.now().toString(36)}`
let n = 0
const key = (name: string) => `${unique}:${name}:${n++}`

const backendOn = (redisUrl: string, options?: NodeRedisBackend.NodeRedisBackendOptions) =>
  Effect.map(Layer.build(NodeRedisBackend.layer(options).pipe(Layer.provideMerge(nodeRedis(redisUrl)))), (context) => ({
    backend: Context.get(context, Backend),
    node: Context.get(context, NodeRedis.NodeRedis)
  }))

describe("NodeRedisBackend", () => {
  it.live("bytes round-trip unchanged (every byte value, invalid UTF-8), with the region's TTL as PX", () =>
    Effect.gen(function*() {
      const { backend, node } = yield* backendOn(url)
      const bytes = new Uint8Array([...Array.from({ length: 256 }, (_, i) => i), 0xc3, 0x28, 0xed, 0xa0, 0x80])
      const k = key("bytes")
      yield* backend.set(k, bytes, Duration.seconds(30))
      const read = yield* backend.get(k)
      assert.deepStrictEqual(Option.map(read, (b) => Array.from(b)), Option.some(Array.from(bytes)))
      const pttl = yield* node.use((c) => c.pTTL(k))
      assert.isTrue(pttl > 25_000 && pttl <= 30_000, `PTTL ${pttl}`)
      const forever = key("forever")
      yield* backend.set(forever, bytes, Duration.infinity)
      assert.strictEqual(yield* node.use((c) => c.pTTL(forever)), -1, "an infinite TTL sets no PX")
      // A view into a larger buffer writes only its own bytes.
      const view = new Uint8Array([9, 1, 2, 3, 9]).subarray(1, 4)
      yield* backend.set(k, view)
      assert.deepStrictEqual(Option.map(yield* backend.get(k), (b) => Array.from(b)), Option.some([1, 2, 3]))
    }).pipe(Effect.scoped))

  it.live("getMany keeps input order, duplicates and misses across batches; setMany and deleteMany", () =>
    Effect.gen(function*() {
      const { backend, node } = yield* backendOn(url, { batchSize: 2 })
      const keys = Array.from({ length: 7 }, (_, i) => key(`many${i}`))
      yield* backend.setMany(keys.map((k, i) => ({ key: k, value: new Uint8Array([i]), ttl: i % 2 === 0 ? Duration.minutes(1) : undefined })))
      const read = yield* backend.getMany([keys[3]!, key("missing"), keys[0]!, keys[3]!, ...keys])
      assert.deepStrictEqual(read.map((o) => Option.getOrUndefined(Option.map(o, (b) => b[0]))), [3, undefined, 0, 3, 0, 1, 2, 3, 4, 5, 6])
      assert.isAbove(yield* node.use((c) => c.pTTL(keys[0]!)), 0)
      assert.strictEqual(yield* node.use((c) => c.pTTL(keys[1]!)), -1)
      yield* backend.deleteMany(keys.slice(0, 5))
      yield* backend.delete(keys[5]!)
      assert.deepStrictEqual((yield* backend.getMany(keys)).map(Option.isSome), [false, false, false, false, false, false, true])
    }).pipe(Effect.scoped))

  it.live("a hash key is an UnsupportedKeyError, before any I/O", () =>
    Effect.gen(function*() {
      const { backend } = yield* backendOn(url)
      const error = yield* Effect.flip(backend.get(CacheKey.hash("users", "1")))
      assert.strictEqual(error._tag, "UnsupportedKeyError")
      const many = yield* Effect.flip(backend.setMany([{ key: "ok", value: new Uint8Array() }, { key: CacheKey.hash("h", "f"), value: new Uint8Array() }]))
      assert.strictEqual(many._tag, "UnsupportedKeyError")
    }).pipe(Effect.scoped))

  it.live("options are validated when the Layer is built: InvalidOptionError naming the option", () =>
    Effect.gen(function*() {
      const cases: ReadonlyArray<[string, NodeRedisBackend.NodeRedisBackendOptions]> = [
        ["batchSize", { batchSize: 0 }],
        ["batchSize", { batchSize: 1.5 }],
        ["commandTimeout", { commandTimeout: "soon" as Duration.Input }],
        ["commandTimeout", { commandTimeout: 0 }]
      ]
      for (const [option, options] of cases) {
        const error = yield* Effect.flip(Effect.scoped(backendOn(url, options)))
        assert.strictEqual(error._tag, "InvalidOptionError", option)
        if (error._tag === "InvalidOptionError") {
          assert.strictEqual(error.option, option)
          assert.strictEqual(error.component, "NodeRedisBackend")
        }
      }
    }))

  it.live("a failed command is a BackendError naming the operation and Redis' reply", () =>
    Effect.gen(function*() {
      const { backend, node } = yield* backendOn(url)
      const k = key("wrongtype")
      yield* node.use((c) => c.hSet(k, "f", "v"))
      const error = yield* Effect.flip(backend.get(k))
      assert.strictEqual(error._tag, "BackendError")
      if (error._tag === "BackendError") {
        assert.strictEqual(error.backend, "node-redis")
        assert.strictEqual(error.operation, "get")
        assert.match(error.reason, /WRONGTYPE/)
      }
    }).pipe(Effect.scoped))

  it.live("a silent server fails calls after commandTimeout with a BackendError; the password is in no message", () =>
    Effect.gen(function*() {
      const password = "s3cret-pw-for-test"
      const server = yield* Effect.acquireRelease(
        Effect.promise(() => startRedisServer({ args: ["--requirepass", password] })),
        (s) => Effect.promise(() => s.dispose())
      )
      const withPassword = server.url.replace("redis://", `redis://:${password}@`)
      const { backend } = yield* backendOn(withPassword, { commandTimeout: "200 millis" })
      yield* backend.set("k", new Uint8Array([1]))
      server.signal("SIGSTOP")
      const error = yield* Effect.flip(backend.get("k")).pipe(Effect.ensuring(Effect.sync(() => server.signal("SIGCONT"))))
      assert.strictEqual(error._tag, "BackendError")
      assert.include(error.message, "no reply within 200 ms")
      assert.notInclude(JSON.stringify(error) + error.message, password)
      // The connection recovers once the server answers again.
      assert.isTrue(Option.isSome(yield* backend.get("k")))
    }).pipe(Effect.scoped))

  it.effect("commandTimeout is real time: a TestClock moved an hour while a GET waits for a stopped server does not fail it", () =>
    Effect.gen(function*() {
      const server = yield* Effect.acquireRelease(Effect.promise(() => startRedisServer()), (s) => Effect.promise(() => s.dispose()))
      const { backend } = yield* backendOn(server.url, { commandTimeout: "5 seconds" })
      yield* backend.set("k", new Uint8Array([7]))
      server.signal("SIGSTOP")
      const read = yield* Effect.forkChild(backend.get("k"))
      yield* TestClock.withLive(Effect.sleep("50 millis"))
      yield* TestClock.adjust("1 hour")
      server.signal("SIGCONT")
      const value = yield* Fiber.join(read)
      assert.deepStrictEqual(Option.map(value, (b) => b[0]), Option.some(7))
    }).pipe(Effect.scoped))

  it("scrub removes the password and any URL credentials from a message", () => {
    assert.strictEqual(scrub("auth failed for redis://user:pa%40ss@db:6379 (pa@ss)", ["pa%40ss", "pa@ss"]), "auth failed for redis://***@db:6379 (***)")
  })
})

describe("NodeRedisBackend keys", () => {
  it("are plain Redis strings: another node-redis client reads what the backend wrote", async () => {
    const client = createClient({ url })
    await client.connect()
    try {
      const k = key("plain")
      await Effect.runPromise(Effect.scoped(Effect.flatMap(backendOn(url), ({ backend }) => backend.set(k, new TextEncoder().encode("hi")))))
      assert.strictEqual(await client.get(k), "hi")
    } finally {
      await client.close()
    }
  })
})
