import { assert, describe, it } from "@effect/vitest"
import { RedisClient } from "@dogpile-effect/redis"
import { Lock } from "@dogpile-effect/core"
import { RedisLock } from "@dogpile-effect/redis"
import { ConfigProvider, Context, Effect, Exit, Layer, Logger, Redacted, Scope } from "effect"
import { Redis } from "ioredis"
import { inject } from "vitest"
import { startRedisServer } from "../../../test-support/redis-server.ts"

const url = inject("redisUrl")

/** Collects every log line (message and annotations) of the effect. */
const capturingLogs = (lines: Array<string>) =>
  Logger.layer([Logger.make(({ message }) => void lines.push(JSON.stringify(message)))])

describe("RedisClient", () => {
  it.live("runs raw commands, binary-safe", () =>
    Effect.gen(function*() {
      const redis = yield* RedisClient.RedisClient
      assert.isFalse(redis.isCluster)
      assert.isTrue(yield* redis.isReady)
      const bytes = Buffer.from(Array.from({ length: 256 }, (_, i) => i))
      const key = `client-test:${process.pid}:bin`
      yield* redis.use("set", (c) => c.set(key, bytes))
      const back = yield* redis.use("get", (c) => c.getBuffer(key))
      assert.isTrue(back !== null && Buffer.compare(back, bytes) === 0)
    }).pipe(Effect.provide(RedisClient.layer({ url }))))

  it.live("scripts are registered once and run by name", () =>
    Effect.gen(function*() {
      const redis = yield* RedisClient.RedisClient
      const echo = redis.script("dogpileTestEcho", "return {KEYS[1], ARGV[1]}", 1)
      assert.deepStrictEqual(yield* echo.run(["k"], ["v"]), ["k", "v"])
      const again = redis.script("dogpileTestEcho", "return {KEYS[1], ARGV[1]}", 1)
      const reply = yield* again.runBuffer(["k"], ["v"])
      assert.deepStrictEqual(reply, [Buffer.from("k"), Buffer.from("v")])
    }).pipe(Effect.provide(RedisClient.layer({ url }))))

  it.live("a command error is a typed BackendError naming the operation", () =>
    Effect.gen(function*() {
      const redis = yield* RedisClient.RedisClient
      const exit = yield* Effect.exit(redis.use("bogus", (c) => c.call("NOT-A-COMMAND")))
      assert.isTrue(Exit.isFailure(exit))
      const error = yield* Effect.flip(redis.use("bogus", (c) => c.call("NOT-A-COMMAND")))
      assert.strictEqual(error._tag, "BackendError")
      assert.strictEqual(error.operation, "bogus")
      assert.strictEqual(error.backend, "redis")
    }).pipe(Effect.provide(RedisClient.layer({ url }))))

  it.live("with Redis down a call fails within the bound, and the same Layer recovers after a restart", () =>
    Effect.gen(function*() {
      const server = yield* Effect.acquireRelease(Effect.promise(() => startRedisServer()), (s) => Effect.promise(() => s.dispose()))
      yield* Effect.gen(function*() {
        const redis = yield* RedisClient.RedisClient
        assert.strictEqual(yield* redis.use("ping", (c) => c.ping()), "PONG")
        yield* Effect.promise(() => server.stop())
        // Every call answers (with a typed error) well within the 1 s command timeout.
        for (let i = 0; i < 20; i++) {
          const start = performance.now()
          const error = yield* Effect.flip(redis.use("get", (c) => c.get("k")))
          const elapsed = performance.now() - start
          assert.strictEqual(error._tag, "BackendError")
          assert.isBelow(elapsed, 1_100, `call ${i} took ${elapsed} ms`)
          yield* Effect.sleep("20 millis")
        }
        yield* Effect.promise(() => server.start())
        const start = performance.now()
        let pong = ""
        while (pong !== "PONG" && performance.now() - start < 5_000) {
          pong = yield* redis.use("ping", (c) => c.ping()).pipe(Effect.orElseSucceed(() => ""))
          if (pong !== "PONG") yield* Effect.sleep("50 millis")
        }
        assert.strictEqual(pong, "PONG", "recovered after the restart")
      }).pipe(Effect.provide(RedisClient.layer({ url: server.url })))
    }).pipe(Effect.scoped))

  it.live("a silent server fails calls after commandTimeout", () =>
    Effect.gen(function*() {
      const server = yield* Effect.acquireRelease(Effect.promise(() => startRedisServer()), (s) => Effect.promise(() => s.dispose()))
      yield* Effect.gen(function*() {
        const redis = yield* RedisClient.RedisClient
        // CLIENT PAUSE makes the server hold every client's commands: a silent server.
        yield* redis.use("pause", (c) => c.call("CLIENT", "PAUSE", "1500", "ALL"))
        const start = performance.now()
        const error = yield* Effect.flip(redis.use("get", (c) => c.get("k")))
        const elapsed = performance.now() - start
        assert.strictEqual(error._tag, "BackendError")
        assert.isAtLeast(elapsed, 250)
        assert.isBelow(elapsed, 700, `took ${elapsed} ms`)
      }).pipe(Effect.provide(RedisClient.layer({ url: server.url, commandTimeout: "300 millis" })))
    }).pipe(Effect.scoped))

  it.live("the password never appears in errors or logs", () =>
    Effect.gen(function*() {
      const secret = "s3cr3t-pa55word-xyz"
      const server = yield* Effect.acquireRelease(
        Effect.promise(() => startRedisServer({ args: ["--requirepass", secret] })),
        (s) => Effect.promise(() => s.dispose())
      )
      const lines: Array<string> = []
      const withUrl = `redis://:${secret}@127.0.0.1:${server.port}`
      // Right password, from Config: works.
      const pong = yield* Effect.gen(function*() {
        const redis = yield* RedisClient.RedisClient
        assert.notInclude(redis.label, secret)
        return yield* redis.use("ping", (c) => c.ping())
      }).pipe(
        Effect.provide(RedisClient.layerConfig().pipe(
          Layer.provide(ConfigProvider.layer(ConfigProvider.fromUnknown({ REDIS_URL: withUrl })))
        ))
      )
      assert.strictEqual(pong, "PONG")
      // Wrong password: the server refuses; the errors and logs name neither password.
      const wrong = "wr0ng-pa55word-abc"
      const error = yield* Effect.gen(function*() {
        const redis = yield* RedisClient.RedisClient
        return yield* Effect.flip(redis.use("get", (c) => c.get("k")))
      }).pipe(
        Effect.provide(RedisClient.layer({
          url: Redacted.make(`redis://:${wrong}@127.0.0.1:${server.port}`),
          connectTimeout: "200 millis"
        })),
        Effect.provide(capturingLogs(lines))
      )
      // Server down with the right password configured.
      const downError = yield* Effect.gen(function*() {
        const redis = yield* RedisClient.RedisClient
        yield* Effect.promise(() => server.stop())
        return yield* Effect.flip(redis.use("get", (c) => c.get("k")))
      }).pipe(
        Effect.provide(RedisClient.layer({ url: Redacted.make(withUrl) })),
        Effect.provide(capturingLogs(lines))
      )
      const everything = [
        error.message, String(error), JSON.stringify(error), downError.message, String(downError), JSON.stringify(downError),
        ...lines
      ].join("\n")
      assert.isTrue(lines.length > 0, "the unreachable server was logged")
      assert.notInclude(everything, wrong)
      assert.notInclude(everything, secret)
      assert.strictEqual(String(Redacted.make(withUrl)), "<redacted>")
    }).pipe(Effect.scoped))

  it.live("layerFrom: a Layer over the caller's own ioredis client, which it never closes; the lock works on it", () =>
    Effect.gen(function*() {
      const secret = "own-client-pa55"
      const server = yield* Effect.acquireRelease(
        Effect.promise(() => startRedisServer({ args: ["--requirepass", secret] })),
        (s) => Effect.promise(() => s.dispose())
      )
      const mine = new Redis({ port: server.port, password: secret, lazyConnect: true })
      yield* Effect.addFinalizer(() => Effect.sync(() => mine.disconnect()))
      yield* Effect.promise(() => mine.connect())
      const scope = yield* Scope.make()
      const ctx = yield* Scope.provide(
        Layer.build(Layer.provideMerge(RedisLock.layer(), RedisClient.layerFrom(mine, { commandTimeout: "500 millis" }))),
        scope
      )
      const redis = Context.get(ctx, RedisClient.RedisClient)
      assert.strictEqual(redis.client, mine)
      assert.isFalse(redis.isCluster)
      assert.strictEqual(redis.commandTimeoutMillis, 500)
      assert.notInclude(redis.label, secret)
      yield* redis.use("set", (c) => c.set("own:k", "v"))
      assert.strictEqual(yield* Effect.promise(() => mine.get("own:k")), "v")
      // The lock (with its subscriber duplicate) runs on it.
      yield* Effect.scoped(Context.get(ctx, Lock).acquire("own:lock", "1 second"))
      const error = yield* Effect.flip(redis.use("bogus", (c) => c.call("AUTH", "nobody", secret)))
      assert.notInclude(error.message + JSON.stringify(error), secret)
      yield* Scope.close(scope, Exit.void)
      // Closing the Layer left the caller's client open and working.
      assert.strictEqual(mine.status, "ready")
      assert.strictEqual(yield* Effect.promise(() => mine.ping()), "PONG")
      assert.strictEqual(mine.listenerCount("ready"), 0, "its listeners were removed")
    }).pipe(Effect.scoped))
})
