/**
 * One whole region call, not each command, answers within its deadline
 * against a silent server (#11 item 1): the client's `commandTimeout` (here
 * 500 ms). A call may issue several commands (invalidation marks, the value,
 * tag marks, the lock); they are issued together or bounded as one, so the call
 * fails with a typed BackendError after about one timeout, not one per command.
 */
import { assert, describe, it } from "@effect/vitest"
import { Region } from "@dogpile-effect/core"
import { RedisBackend, RedisClient, RedisLock } from "@dogpile-effect/redis"
import { Cause, Context, Effect, Exit, Layer, Logger, Option, Schedule, Schema } from "effect"
import { privateServer, timed } from "./silentServer.ts"

const TIMEOUT_MS = 500


describe("a whole region call against a silent server", () => {
  it.live("getOrCreate, get, getOrCreateMany and set each fail with BackendError after about one commandTimeout", () =>
    Effect.gen(function*() {
      const server = yield* privateServer
      const layer = Layer.mergeAll(RedisBackend.layer(), RedisLock.layer({ releaseWait: 0 })).pipe(
        Layer.provideMerge(RedisClient.layer({ url: server.url, commandTimeout: TIMEOUT_MS }))
      )
      const ctx = yield* Layer.build(layer)
      const redis = Context.get(ctx, RedisClient.RedisClient)
      const control = Context.get(yield* Layer.build(RedisClient.layer({ url: server.url })), RedisClient.RedisClient)
      const calls: ReadonlyArray<readonly [string, (r: Region.Region<number>) => Effect.Effect<unknown, unknown>]> = [
        ["getOrCreate", (r) => r.getOrCreate("k", Effect.succeed(1), { tags: ["t"] })],
        ["get", (r) => r.get("k")],
        ["getOrCreateMany", (r) => r.getOrCreateMany(["a", "b"], (keys) => Effect.succeed(keys.map(() => 1)))],
        ["set", (r) => r.set("k", 1)]
      ]
      // The yardstick: one single command against the paused server (one commandTimeout, on this machine now).
      yield* control.use("pause", (c) => c.call("CLIENT", "PAUSE", "3000", "ALL"))
      const single = yield* timed(redis.use("get", (c) => c.get("yardstick")))
      yield* control.use("unpause", (c) => c.call("CLIENT", "UNPAUSE")).pipe(Effect.ignore)
      yield* Effect.retry(redis.use("ping", (c) => c.ping()), { times: 80, schedule: Schedule.spaced("25 millis") })
      for (const [name, call] of calls) {
        // A fresh region each time: its first call must also load the invalidation marks.
        const region = yield* Region.make({ name: `deadline-${name}`, schema: Schema.Number, expiration: "1 minute" }).pipe(
          Effect.provide(Layer.succeedContext(ctx))
        )
        yield* control.use("pause", (c) => c.call("CLIENT", "PAUSE", "3000", "ALL"))
        const { exit, ms } = yield* timed(call(region))
        console.log(`${name}: answered in ${Math.round(ms)} ms (commandTimeout ${TIMEOUT_MS} ms)`)
        assert.isTrue(Exit.isFailure(exit), name)
        const error = Exit.isFailure(exit) ? Option.getOrUndefined(Cause.findErrorOption(exit.cause)) : undefined
        assert.strictEqual((error as { _tag?: string } | undefined)?._tag, "BackendError", name)
        // One timeout, not one per command: two sequential commands would take twice the single one.
        assert.isBelow(ms / single.ms, 1.6, `${name} took ${Math.round(ms)} ms, one command ${Math.round(single.ms)} ms`)
        yield* control.use("unpause", (c) => c.call("CLIENT", "UNPAUSE")).pipe(Effect.ignore)
        yield* Effect.retry(redis.use("ping", (c) => c.ping()), { times: 80, schedule: Schedule.spaced("25 millis") })
      }
    }).pipe(Effect.scoped, Effect.provide(Logger.layer([]))), { timeout: 60_000 })
})
