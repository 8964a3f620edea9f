/**
 * Issue 24, finding 6 (part): the near cache stops serving the moment its
 * tracking is known lost. ioredis marks a connection closed as soon as it reads
 * the socket's end, and emits `close` (which empties the near cache) only on
 * the next tick: a read in between must not be served a local copy, whose
 * invalidation may have been lost with the connection.
 */
import { assert, describe, it } from "@effect/vitest"
import { Backend } from "@dogpile-effect/core"
import { NearCache, RedisBackend, RedisClient } from "@dogpile-effect/redis"
import { Context, Effect, Layer } from "effect"
import { Redis } from "ioredis"
import { startRedisServer } from "../../../test-support/redis-server.ts"

const privateServer = Effect.acquireRelease(
  Effect.promise(() => startRedisServer()),
  (server) => Effect.promise(() => server.dispose())
)

const eventually = (what: string, check: Effect.Effect<boolean>) =>
  Effect.gen(function*() {
    const deadline = Date.now() + 5_000
    while (!(yield* check)) {
      if (Date.now() > deadline) return yield* Effect.die(new Error(`timed out waiting for: ${what}`))
      yield* Effect.sleep("5 millis")
    }
  })

describe("NearCache after its tracking is lost", () => {
  it.live("no local copy is served between the connection's end and its close event", () =>
    Effect.gen(function*() {
      const server = yield* privateServer
      const context = yield* Layer.build(
        NearCache.layer({ maxAge: "never" }).pipe(
          Layer.provide(Layer.orDie(RedisBackend.layer())),
          Layer.provideMerge(RedisClient.layer({ url: server.url }))
        )
      )
      const backend = Context.get(context, Backend)
      const near = Context.get(context, NearCache.NearCache)
      const redis = Context.get(context, RedisClient.RedisClient)
      yield* backend.set("k", new TextEncoder().encode("v1"))
      yield* eventually("tracking", near.isActive)
      yield* eventually("a kept copy", Effect.andThen(Effect.ignore(backend.get("k")), Effect.map(near.entries, (n) => n === 1)))
      assert.isDefined(backend.peek!("k", Date.now()), "served locally while tracked")
      const client = redis.client as Redis
      const seen = yield* Effect.callback<{ readonly status: string; readonly peeked: Uint8Array | undefined; readonly entries: number }>(
        (resume) => {
          // Runs after ioredis' own handler of the socket's close (registered first), before its `close` event.
          client.stream.once("close", () => {
            resume(Effect.succeed({
              status: client.status,
              peeked: backend.peek!("k", Date.now()),
              entries: Effect.runSync(near.entries)
            }))
          })
          client.stream.destroy()
        }
      )
      assert.notStrictEqual(seen.status, "ready", "ioredis already knows the connection is gone")
      assert.strictEqual(seen.entries, 1, "the copy is still in the store (the close event has not run yet)")
      assert.isUndefined(seen.peeked, "but it is not served")
      yield* eventually("an empty near cache", Effect.map(near.entries, (n) => n === 0))
    }).pipe(Effect.scoped))
})
