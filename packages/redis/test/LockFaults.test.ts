/**
 * Ghost locks and interrupted callers (#11 items 2 and 3), against a private
 * redis-server made silent with a real `CLIENT PAUSE`: a `SET NX` whose
 * answer never came is released once Redis answers again, and an interrupted
 * acquisition or holder leaves no lock key behind.
 */
import { assert, describe, it } from "@effect/vitest"
import { Lock } from "@dogpile-effect/core"
import { RedisClient, RedisLock } from "@dogpile-effect/redis"
import { Context, Effect, Exit, Fiber, Layer, Logger } from "effect"
import { type RedisServer, startRedisServer } from "../../../test-support/redis-server.ts"

const privateServer = Effect.acquireRelease(
  Effect.promise(() => startRedisServer()),
  (server) => Effect.promise(() => server.dispose())
)

/** A lock instance (as one process would have) on its own connection. */
const buildLock = (
  server: RedisServer,
  options: RedisLock.RedisLockOptions = {},
  client: RedisClient.RedisClientOptions = {}
) =>
  Effect.map(
    Layer.build(Layer.provideMerge(RedisLock.layer(options), RedisClient.layer({ url: server.url, ...client }))),
    (ctx) => ({ lock: Context.get(ctx, Lock), redis: Context.get(ctx, RedisClient.RedisClient) })
  )

/** `CLIENT PAUSE ms ALL` from a connection of its own: every client's commands wait that long. */
const pause = (redis: RedisClient.RedisClient["Service"], ms: number) =>
  redis.use("pause", (c) => c.call("CLIENT", "PAUSE", String(ms), "ALL"))

const quiet = Logger.layer([])

describe("RedisLock under faults", () => {
  it.live("ghost lock: a SET NX that timed out on the client runs later; it is released, the next caller does not wait for the lease", () =>
    Effect.gen(function*() {
      const server = yield* privateServer
      const a = yield* buildLock(server, {}, { commandTimeout: "300 millis" })
      const b = yield* buildLock(server)
      const control = yield* buildLock(server)
      const k = "ghost"
      yield* pause(control.redis, 1_000)
      const failed = yield* Effect.flip(Effect.scoped(a.lock.acquire(k, "5 seconds")))
      assert.strictEqual(failed._tag, "BackendError")
      const start = performance.now()
      const exit = yield* Effect.exit(Effect.scoped(b.lock.acquire(k, "8 seconds")))
      const waited = performance.now() - start
      console.log(`ghost lock: the next caller waited ${Math.round(waited)} ms (lease 10 s)`)
      assert.isTrue(Exit.isSuccess(exit), "the next caller got the lock")
      assert.isBelow(waited, 5_000, "well before the 10 s lease ran out")
      assert.strictEqual(yield* control.redis.use("exists", (c) => c.exists(`_lock:${k}`)), 0)
    }).pipe(Effect.scoped, Effect.provide(quiet)))

  for (const releaseWait of ["1 second", "200 millis"] as const) {
    it.live(`an acquisition interrupted while Redis is paused leaves no lock key (releaseWait ${releaseWait})`, () =>
      Effect.gen(function*() {
        const server = yield* privateServer
        const a = yield* buildLock(server, { releaseWait })
        const control = yield* buildLock(server)
        const k = "interrupted"
        yield* pause(control.redis, 400)
        const pausedAt = performance.now()
        const outcome = yield* Effect.exit(Effect.timeout(Effect.scoped(a.lock.acquire(k, "5 seconds")), "50 millis"))
        assert.isTrue(Exit.isFailure(outcome), "interrupted by the timeout")
        const returnedAfter = performance.now() - pausedAt
        // Wait until the pause is over and Redis has run what was queued.
        yield* Effect.sleep(Math.max(0, 800 - (performance.now() - pausedAt)))
        assert.strictEqual(yield* control.redis.use("exists", (c) => c.exists(`_lock:${k}`)), 0, "no ghost lock")
        if (releaseWait === "1 second") {
          // It waited for Redis to confirm the release, so the key was gone when the call returned.
          assert.isAtLeast(returnedAfter, 350)
        }
      }).pipe(Effect.scoped, Effect.provide(quiet)))
  }

  it.live("a holder interrupted (Effect.timeout around its scope) while Redis is paused leaves no lock key", () =>
    Effect.gen(function*() {
      const server = yield* privateServer
      const a = yield* buildLock(server)
      const control = yield* buildLock(server)
      const k = "holder"
      const holder = Effect.scoped(Effect.andThen(a.lock.acquire(k, "1 second"), Effect.never))
      const fiber = yield* Effect.forkChild(Effect.timeout(holder, "200 millis"))
      yield* Effect.sleep("100 millis")
      assert.strictEqual(yield* control.redis.use("exists", (c) => c.exists(`_lock:${k}`)), 1)
      yield* pause(control.redis, 400)
      yield* Fiber.await(fiber)
      yield* Effect.sleep("500 millis")
      assert.strictEqual(yield* control.redis.use("exists", (c) => c.exists(`_lock:${k}`)), 0)
    }).pipe(Effect.scoped, Effect.provide(quiet)))

  it.live("200 acquisitions interrupted at random moments on a healthy server: no key is left when each call returns", () =>
    Effect.gen(function*() {
      const server = yield* privateServer
      const a = yield* buildLock(server)
      const control = yield* buildLock(server)
      let interrupted = 0
      let left = 0
      for (let i = 0; i < 200; i++) {
        const k = `random:${i}`
        // Interrupted before, during or after the SET NX round trip.
        const micros = (i * 37) % 1_500
        const exit = yield* Effect.exit(
          Effect.timeout(Effect.scoped(a.lock.acquire(k, "1 second")), `${micros} micros`)
        )
        if (Exit.isFailure(exit)) interrupted++
        left += yield* control.redis.use("exists", (c) => c.exists(`_lock:${k}`))
      }
      console.log(`random interruption: ${interrupted} of 200 interrupted, ${left} keys left`)
      assert.isAbove(interrupted, 0)
      assert.strictEqual(left, 0)
    }).pipe(Effect.scoped, Effect.provide(quiet)))
})
