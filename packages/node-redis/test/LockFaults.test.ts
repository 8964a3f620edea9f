/**
 * NodeRedisLock under real faults, each on a private redis-server: a holder
 * that crashed (no release announced), the release subscription killed
 * (`CLIENT KILL TYPE pubsub`), and a `SET NX` whose reply never came (server
 * stopped with SIGSTOP) must leave no waiter hanging and no lock behind.
 */
import { assert, describe, it } from "@effect/vitest"
import { Lock } from "@dogpile-effect/core"
import { NodeRedisLock } from "@dogpile-effect/node-redis"
import { NodeRedis } from "@effect/platform-node"
import { Context, Effect, Exit, Fiber, Layer, Option, Scope } from "effect"
import { createClient } from "redis"
import { type RedisServer, startRedisServer } from "../../../test-support/redis-server.ts"
import { nodeRedis } from "./clients.ts"

const privateServer = Effect.acquireRelease(Effect.promise(() => startRedisServer()), (s) => Effect.promise(() => s.dispose()))

/** A plain node-redis client for checks and set-up, closed with the scope. */
const adminOf = (server: RedisServer) =>
  Effect.acquireRelease(
    Effect.promise(async () => {
      const client = createClient({ url: server.url })
      await client.connect()
      return client
    }),
    (client) => Effect.promise(() => client.close())
  )

const buildLock = (redisUrl: string, options?: NodeRedisLock.NodeRedisLockOptions) =>
  Effect.map(Layer.build(NodeRedisLock.layer(options).pipe(Layer.provideMerge(nodeRedis(redisUrl)))), (context) => ({
    lock: Context.get(context, Lock),
    client: Context.get(context, NodeRedis.NodeRedis)
  }))

/** Retries `check` every 20 ms until it holds, at most `times` times; the caller asserts the result. */
const eventually = <E>(check: Effect.Effect<boolean, E>, times: number) =>
  Effect.gen(function*() {
    for (let i = 0; i < times; i++) {
      if (yield* check) return true
      yield* Effect.sleep("20 millis")
    }
    return false
  })

describe("NodeRedisLock faults", () => {
  it.live("a holder that crashed announces nothing: the waiter takes the lock when its lease runs out", () =>
    Effect.gen(function*() {
      const server = yield* privateServer
      const admin = yield* adminOf(server)
      const { lock } = yield* buildLock(server.url)
      // As left by a process killed while holding the lock: a token nobody will release.
      yield* Effect.promise(() => admin.set("_lock:crashed", "dead-token", { expiration: { type: "PX", value: 400 } }))
      const lease = yield* Effect.exit(lock.acquire("crashed", "20 seconds"))
      assert.isTrue(Exit.isSuccess(lease), "taken, not timed out")
      const holder = yield* Effect.promise(() => admin.get("_lock:crashed"))
      assert.isTrue(holder !== null && holder !== "dead-token", `the key holds the new token: ${holder}`)
    }).pipe(Effect.scoped), 60_000)

  it.live("the release subscription killed: node-redis re-subscribes, and releases wake waiters again", () =>
    Effect.gen(function*() {
      const server = yield* privateServer
      const admin = yield* adminOf(server)
      const a = yield* buildLock(server.url, { pollMin: "60 seconds", pollMax: "60 seconds" })
      const b = yield* buildLock(server.url, { pollMin: "60 seconds", pollMax: "60 seconds" })
      const subscribers = Effect.promise(() => admin.pubSubNumSub("_lock:released")).pipe(
        Effect.map((counts) => Number(counts["_lock:released"] ?? 0))
      )
      assert.strictEqual(yield* subscribers, 2)
      const killed = yield* Effect.promise(() => admin.sendCommand<number>(["CLIENT", "KILL", "TYPE", "pubsub"]))
      assert.strictEqual(killed, 2)
      assert.isTrue(yield* eventually(Effect.map(subscribers, (n) => n === 2), 500), "both re-subscribed")
      const held = yield* Scope.make()
      yield* Scope.provide(a.lock.acquire("after-kill", "1 second"), held)
      // Without the announcement this waiter would re-check only at its 20 s deadline.
      const waiter = yield* Effect.forkChild(Effect.scoped(Effect.as(b.lock.acquire("after-kill", "20 seconds"), "taken")))
      yield* Effect.sleep("50 millis")
      yield* Scope.close(held, Exit.void)
      const taken = yield* Fiber.join(waiter).pipe(Effect.timeoutOption("10 seconds"))
      assert.deepStrictEqual(taken, Option.some("taken"))
    }).pipe(Effect.scoped), 60_000)

  it.live("a SET NX whose reply never came is released once Redis answers: no lock is left for its 60 s lease", () =>
    Effect.gen(function*() {
      const server = yield* privateServer
      const admin = yield* adminOf(server)
      const options = { leaseTtl: "60 seconds", commandTimeout: "200 millis", releaseWait: "100 millis" } as const
      const a = yield* buildLock(server.url, options)
      const b = yield* buildLock(server.url)
      yield* Effect.scoped(a.lock.tryAcquire("warm-up")) // the release script is loaded
      server.signal("SIGSTOP")
      const attempt = yield* Effect.exit(Effect.scoped(a.lock.tryAcquire("ghost"))).pipe(
        Effect.ensuring(Effect.sync(() => server.signal("SIGCONT")))
      )
      assert.isTrue(Exit.isFailure(attempt), "no reply within commandTimeout: a BackendError")
      // Redis now runs the queued SET NX, then the token-checked release sent after it.
      const free = Effect.map(Effect.scoped(b.lock.tryAcquire("ghost")), Option.isSome)
      assert.isTrue(yield* eventually(free, 250), "another instance takes the lock well before the lease would end")
      const sets = yield* Effect.promise(() => admin.info("commandstats"))
      assert.match(sets, /cmdstat_set:calls=[2-9]/, "the stopped SET NX did run")
    }).pipe(Effect.scoped), 60_000)
})
