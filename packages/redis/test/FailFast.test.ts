/**
 * Per-call fail-fast (#11 item 1) against a silent server, made silent for
 * real with `CLIENT PAUSE` and with SIGSTOP: every call answers within the
 * client's `commandTimeout`, auto-pipelining included (ioredis runs one
 * auto-pipeline at a time, so a command issued while an earlier one waits
 * used to be sent only when that one timed out: about twice the bound), and
 * the lock's commands respect the caller's deadline.
 */
import { assert, describe, it } from "@effect/vitest"
import { Lock } from "@dogpile-effect/core"
import { RedisClient, RedisLock } from "@dogpile-effect/redis"
import { Context, Effect, Layer, Logger } from "effect"
import type { RedisServer } from "../../../test-support/redis-server.ts"
import { privateServer, timed } from "./silentServer.ts"


type Silence = "CLIENT PAUSE" | "SIGSTOP"

/** Makes the server silent; returns how to make it answer again. */
const silence = (how: Silence, server: RedisServer, control: RedisClient.RedisClient["Service"]) =>
  how === "CLIENT PAUSE"
    // The pause ends by itself (CLIENT UNPAUSE would wait behind it too).
    ? Effect.as(control.use("pause", (c) => c.call("CLIENT", "PAUSE", "1500", "ALL")), Effect.void)
    : Effect.sync(() => {
      server.signal("SIGSTOP")
      return Effect.sync(() => server.signal("SIGCONT"))
    })

const clientOn = (server: RedisServer, options: RedisClient.RedisClientOptions = {}) =>
  Effect.map(Layer.build(RedisClient.layer({ url: server.url, ...options })), (ctx) => Context.get(ctx, RedisClient.RedisClient))

describe("fail-fast against a silent server", () => {
  for (const how of ["CLIENT PAUSE", "SIGSTOP"] as const) {
    it.live(`${how}: a call issued while another waits answers within commandTimeout too (auto-pipelining on)`, () =>
      Effect.gen(function*() {
        const server = yield* privateServer
        const redis = yield* clientOn(server)
        const control = yield* clientOn(server)
        const resume = yield* silence(how, server, control)
        const [first, second] = yield* Effect.all([
          timed(redis.use("get", (c) => c.get("a"))),
          Effect.andThen(Effect.sleep("100 millis"), timed(redis.use("get", (c) => c.get("b"))))
        ], { concurrency: 2 })
        yield* resume
        console.log(`${how}: first call answered in ${Math.round(first.ms)} ms, the one 100 ms later in ${Math.round(second.ms)} ms`)
        assert.strictEqual(first.exit._tag, "Failure")
        assert.strictEqual(second.exit._tag, "Failure")
        assert.isAtLeast(first.ms, 950)
        // Both wait about one commandTimeout; before, the second waited ~1.9 s (its own timer began when the first gave up).
        assert.isBelow(second.ms, first.ms + 400, `second ${second.ms} ms vs first ${first.ms} ms`)
        // The same Layer serves again once the server answers.
        let pong = ""
        for (let i = 0; i < 60 && pong !== "PONG"; i++) {
          pong = yield* redis.use("ping", (c) => c.ping()).pipe(Effect.orElseSucceed(() => ""))
          if (pong !== "PONG") yield* Effect.sleep("50 millis")
        }
        assert.strictEqual(pong, "PONG")
      }).pipe(Effect.scoped, Effect.provide(Logger.layer([]))))
  }

  it.live("the lock's commands respect the caller's deadline, not only commandTimeout", () =>
    Effect.gen(function*() {
      const server = yield* privateServer
      const ctx = yield* Layer.build(
        Layer.provideMerge(
          RedisLock.layer({ releaseWait: 0 }),
          RedisClient.layer({ url: server.url, commandTimeout: "2 seconds" })
        )
      )
      const lock = Context.get(ctx, Lock)
      const control = yield* clientOn(server)
      const resume = yield* silence("CLIENT PAUSE", server, control)
      const acquire = yield* timed(Effect.scoped(lock.acquire("deadline", "300 millis")))
      const wait = yield* timed(lock.awaitRelease("deadline", "300 millis"))
      yield* resume
      console.log(`lock on a paused server, 300 ms deadline, 2 s commandTimeout: acquire answered in ${Math.round(acquire.ms)} ms, awaitRelease in ${Math.round(wait.ms)} ms`)
      assert.strictEqual(acquire.exit._tag, "Failure")
      assert.strictEqual(wait.exit._tag, "Failure")
      // Bounded by the 300 ms deadline, far from the 2 s command timeout.
      assert.isBelow(acquire.ms, 1_500)
      assert.isBelow(wait.ms, 1_500)
    }).pipe(Effect.scoped, Effect.provide(Logger.layer([]))))
})
