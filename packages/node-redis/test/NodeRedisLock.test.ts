/**
 * NodeRedisLock on its own: exclusion between instances, the lease's PX and
 * renewal, the token-checked release, lost locks by policy, timeouts,
 * release on failure, options validated when built, and mutual exclusion of
 * 2 instances × 100 fibers.
 */
import { assert, describe, it } from "@effect/vitest"
import { Backend, Lock } from "@dogpile-effect/core"
import { NodeRedisBackend, NodeRedisLock } from "@dogpile-effect/node-redis"
import { NodeRedis } from "@effect/platform-node"
import { Context, Duration, Effect, Exit, Fiber, Layer, Logger, Metric, Option, Scope } from "effect"
import { Redis } from "effect/persistence/Redis"
import { inject } from "vitest"
import { nodeRedis } from "./clients.ts"

const url = inject("redisUrl")
const unique = `nrl-${process.pid}-${Date.now().toString(36)}`
let n = 0
const key = (name: string) => `${unique}:${name}:${n++}`

/** One lock instance on its own client, as another process would have. */
const buildLock = (options?: NodeRedisLock.NodeRedisLockOptions) =>
  Effect.map(Layer.build(NodeRedisLock.layer(options).pipe(Layer.provideMerge(nodeRedis(url)))), (context) => ({
    lock: Context.get(context, Lock),
    client: Context.get(context, NodeRedis.NodeRedis)
  }))

const free = (lock: Lock["Service"], k: string) => Effect.scoped(Effect.map(lock.tryAcquire(k), Option.isSome))

describe("NodeRedisLock", () => {
  it.live("tryAcquire excludes other instances until the scope closes; the key carries the lease as PX", () =>
    Effect.gen(function*() {
      const a = yield* buildLock()
      const b = yield* buildLock()
      const k = key("try")
      const held = yield* Scope.make()
      assert.isTrue(Option.isSome(yield* Scope.provide(a.lock.tryAcquire(k), held)))
      const pttl = yield* a.client.use((c) => c.pTTL(`_lock:${k}`))
      assert.isTrue(pttl > 9_000 && pttl <= 10_000, `PTTL ${pttl}`)
      assert.isFalse(yield* free(b.lock, k))
      assert.isFalse(yield* free(a.lock, k), "same instance: the local stage says no")
      assert.deepStrictEqual((yield* b.lock.status!(k))._tag, "Held")
      yield* Scope.close(held, Exit.void)
      assert.strictEqual(yield* a.client.use((c) => c.exists(`_lock:${k}`)), 0)
      assert.deepStrictEqual(yield* b.lock.status!(k), { _tag: "Free" })
      assert.isTrue(yield* free(b.lock, k))
    }).pipe(Effect.scoped))

  it.live("the release is token-checked: a lock that expired and was taken by another holder is left alone", () =>
    Effect.gen(function*() {
      const a = yield* buildLock({ onLost: "ignore" })
      const k = key("token")
      const held = yield* Scope.make()
      const lease = yield* Scope.provide(a.lock.acquire(k, "1 second"), held)
      // As if the lease ran out and another process took the lock.
      yield* a.client.use((c) => c.set(`_lock:${k}`, "someone-else", { expiration: { type: "PX", value: 60_000 } }))
      assert.strictEqual(yield* lease.confirm, "lost")
      yield* Scope.close(held, Exit.void)
      assert.strictEqual(yield* a.client.use((c) => c.get(`_lock:${k}`)), "someone-else")
    }).pipe(Effect.scoped))

  it.live("a lost lock: confirmAndRelease reports it; under \"fail\" LockLostError; counted once per lease", () =>
    Effect.gen(function*() {
      const name = `${unique}-lost`
      const a = yield* buildLock({ onLost: "fail", name })
      const k = key("lost")
      const before = (yield* Metric.value(NodeRedisLock.lostLocks(name))).count
      const lease = yield* a.lock.acquire(k, "1 second")
      yield* a.client.use((c) => c.del(`_lock:${k}`))
      const error = yield* Effect.flip(lease.confirmAndRelease!)
      assert.strictEqual(error._tag, "LockLostError")
      assert.strictEqual((yield* Metric.value(NodeRedisLock.lostLocks(name))).count - before, 1)
      // A held lock confirms and releases in one go.
      const k2 = key("kept")
      const kept = yield* a.lock.acquire(k2, "1 second")
      assert.isUndefined(yield* kept.confirmAndRelease!)
      assert.strictEqual(yield* a.client.use((c) => c.exists(`_lock:${k2}`)), 0)
    }).pipe(Effect.scoped, Effect.provide(Logger.layer([]))))

  it.live("the lease is renewed while held: a holder 3× longer than leaseTtl keeps the lock", () =>
    Effect.gen(function*() {
      const a = yield* buildLock({ leaseTtl: "1500 millis", renewEvery: "300 millis" })
      const b = yield* buildLock()
      const k = key("renew")
      const lease = yield* a.lock.acquire(k, "1 second")
      for (let i = 0; i < 4; i++) {
        yield* Effect.sleep("1 second")
        assert.isFalse(yield* free(b.lock, k), `still held after ${i + 1} s`)
      }
      assert.isUndefined(yield* lease.confirm)
    }).pipe(Effect.scoped))

  it.live("acquire and awaitRelease time out with LockTimeoutError while another instance holds the lock", () =>
    Effect.gen(function*() {
      const a = yield* buildLock()
      const b = yield* buildLock()
      const k = key("timeout")
      yield* a.lock.acquire(k, "1 second")
      const error = yield* Effect.flip(Effect.scoped(b.lock.acquire(k, "150 millis")))
      assert.strictEqual(error._tag, "LockTimeoutError")
      const waited = yield* Effect.flip(b.lock.awaitRelease(k, "150 millis"))
      assert.strictEqual(waited._tag, "LockTimeoutError")
    }).pipe(Effect.scoped))

  it.live("released when the holder fails or is interrupted", () =>
    Effect.gen(function*() {
      const a = yield* buildLock()
      const b = yield* buildLock()
      const k = key("failure")
      yield* Effect.exit(Effect.scoped(Effect.andThen(a.lock.acquire(k, "1 second"), Effect.fail("boom"))))
      assert.isTrue(yield* free(b.lock, k))
      const holder = yield* Effect.forkChild(Effect.scoped(Effect.andThen(a.lock.acquire(k, "1 second"), Effect.never)))
      for (let i = 0; i < 400 && (yield* a.client.use((c) => c.exists(`_lock:${k}`))) === 0; i++) yield* Effect.sleep("5 millis")
      assert.isFalse(yield* free(b.lock, k))
      yield* Fiber.interrupt(holder)
      assert.isTrue(yield* free(b.lock, k))
    }).pipe(Effect.scoped))

  it.live("mutual exclusion over 2 instances × 100 fibers", () =>
    Effect.gen(function*() {
      const a = yield* buildLock()
      const b = yield* buildLock()
      const k = key("exclusive")
      let inside = 0
      let maxInside = 0
      let done = 0
      const critical = (lock: Lock["Service"]) =>
        Effect.scoped(Effect.gen(function*() {
          yield* lock.acquire(k, "30 seconds")
          inside++
          maxInside = Math.max(maxInside, inside)
          yield* Effect.sleep("1 millis")
          inside--
          done++
        }))
      yield* Effect.forEach(Array.from({ length: 200 }, (_, i) => (i % 2 === 0 ? a : b).lock), critical, { concurrency: "unbounded", discard: true })
      assert.strictEqual(done, 200)
      assert.strictEqual(maxInside, 1)
    }).pipe(Effect.scoped), 60_000)

  it.live("a Backend and a Lock on one NodeRedis layer hold 2 connections: the client and the release subscription", () =>
    Effect.gen(function*() {
      const name = `conn-${unique}`
      const context = yield* Layer.build(
        Layer.mergeAll(NodeRedisBackend.layer(), NodeRedisLock.layer()).pipe(
          Layer.provideMerge(NodeRedis.layer({ url, name, idleTimeout: "Infinity" }))
        )
      )
      const client = Context.get(context, NodeRedis.NodeRedis)
      yield* Context.get(context, Backend).set(key("conn"), new Uint8Array([1]))
      yield* Effect.scoped(Context.get(context, Lock).acquire(key("conn"), "1 second"))
      const list = yield* client.use((c) => c.clientList())
      assert.strictEqual(list.filter((entry) => entry.name === name).length, 2)
    }).pipe(Effect.scoped))

  it.live("needs only Effect's Redis service: a lock built without NodeRedis in context excludes a full one", () =>
    Effect.gen(function*() {
      const redisOnly = Layer.effect(Redis, Effect.gen(function*() {
        return yield* Redis
      })).pipe(Layer.provide(nodeRedis(url)))
      const bare = Context.get(yield* Layer.build(NodeRedisLock.layer().pipe(Layer.provide(redisOnly))), Lock)
      const full = yield* buildLock()
      const k = key("bare")
      const held = yield* Scope.make()
      assert.isTrue(Option.isSome(yield* Scope.provide(bare.tryAcquire(k), held)))
      assert.isFalse(yield* free(full.lock, k))
      yield* Scope.close(held, Exit.void)
      assert.isTrue(yield* free(full.lock, k))
    }).pipe(Effect.scoped))

  it.live("options are validated when the Layer is built: InvalidOptionError naming the option", () =>
    Effect.gen(function*() {
      const cases: ReadonlyArray<[string, NodeRedisLock.NodeRedisLockOptions]> = [
        ["name", { name: "" }],
        ["prefix", { prefix: "{x}" }],
        ["leaseTtl", { leaseTtl: -1 }],
        ["renewEvery", { leaseTtl: "1 second", renewEvery: "2 seconds" }],
        ["onLost", { onLost: "panic" as NodeRedisLock.LostLockPolicy }],
        ["pollMax", { pollMin: "50 millis", pollMax: "5 millis" }],
        ["channel", { channel: "" }],
        ["lockKey", { lockKey: "nope" as unknown as (key: unknown) => string }],
        ["releaseWait", { releaseWait: "later" as Duration.Input }],
        ["commandTimeout", { commandTimeout: 0 }]
      ]
      for (const [option, options] of cases) {
        const error = yield* Effect.flip(Effect.scoped(buildLock(options)))
        assert.strictEqual(error._tag, "InvalidOptionError", option)
        if (error._tag === "InvalidOptionError") assert.strictEqual(`${error.component}.${error.option}`, `NodeRedisLock.${option}`)
      }
    }))
})
