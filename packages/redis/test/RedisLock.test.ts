import { assert, describe, it } from "@effect/vitest"
import { CacheKey, Codec, Lock, Region } from "@dogpile-effect/core"
import { KeySlot, RedisBackend, RedisClient, RedisLock } from "@dogpile-effect/redis"
import { Context, Effect, Exit, Fiber, Layer, Logger, Metric, Option, Scope, Stream } from "effect"
import { TestClock } from "effect/testing"
import { Redis } from "ioredis"
import { inject } from "vitest"
import { withFibersSeen } from "../../../test-support/fibers.ts"
import { startRedisServer } from "../../../test-support/redis-server.ts"

const url = inject("redisUrl")
const unique = `lock-test:${process.pid}:${Date.now().toString(36)}`
let n = 0
const key = (name: string) => `${unique}:${name}:${n++}`

/** Two independent lock instances (as two processes would have), on their own connections. */
const lockOn = (redisUrl: string, options: RedisLock.RedisLockOptions = {}) =>
  Layer.provideMerge(RedisLock.layer(options), RedisClient.layer({ url: redisUrl }))
const buildLock = (redisUrl: string, options?: RedisLock.RedisLockOptions) =>
  Effect.map(Layer.build(lockOn(redisUrl, options)), (ctx) => ({
    lock: Context.get(ctx, Lock),
    redis: Context.get(ctx, RedisClient.RedisClient)
  }))

/** A redis-server of the test's own (its counters and its clients are the test's only). */
const serverInScope = Effect.acquireRelease(Effect.promise(() => startRedisServer()), (s) => Effect.promise(() => s.dispose()))

const callsOf = (info: string, command: string) => Number(new RegExp(`cmdstat_${command}:calls=(\\d+)`).exec(info)?.[1] ?? 0)

/**
 * Waits until `count` lock subscribers are registered on the server, and a little more for them to read the
 * confirmation (a lock polls until its subscription is confirmed).
 */
const subscribers = (redis: RedisClient.RedisClient["Service"], count: number) =>
  Effect.gen(function*() {
    while (true) {
      const reply = yield* redis.use("numsub", (c) => c.call("PUBSUB", "NUMSUB", "_lock:released"))
      if (Number((reply as Array<unknown>)[1]) >= count) break
      yield* Effect.sleep("20 millis")
    }
    yield* Effect.sleep("100 millis")
  })

/** Lock commands the server has run: the scripts, and the reads a waiter would poll with. */
const lockCommandsOn = (redis: RedisClient.RedisClient["Service"]) =>
  Effect.map(redis.use("info", (c) => c.info("commandstats")), (info) =>
    ["evalsha", "eval", "pttl", "exists", "get", "set"].reduce((a, command) => a + callsOf(info, command), 0))

/** `times` times, every `everyMs` of real time, checks that `other` can take none of `keys` (their holder renews them). */
const stillHeld = (other: Lock["Service"], keys: ReadonlyArray<string>, times: number, everyMs: number) =>
  Effect.gen(function*() {
    for (let i = 1; i <= times; i++) {
      yield* Effect.sleep(`${everyMs} millis`)
      const taken = yield* Effect.forEach(keys, (k) => Effect.scoped(Effect.map(other.tryAcquire(k), Option.isSome)))
      assert.strictEqual(taken.filter(Boolean).length, 0, `still held after ${i * everyMs} ms`)
    }
  })

describe("RedisLock.lockKey", () => {
  it("keeps a plain key's {tag} and puts a hash key's lock in the hash's slot", () => {
    assert.strictEqual(RedisLock.lockKey("a"), "_lock:a")
    assert.strictEqual(RedisLock.lockKey("a", "L:"), "L:a")
    assert.strictEqual(KeySlot.slot(RedisLock.lockKey("user:{42}:x")), KeySlot.slot("user:{42}:x"))
    for (const hash of ["users", "ns:{users}", "a{b", "x:y:z", "{t}rest"]) {
      const lock = RedisLock.lockKey(CacheKey.hash(hash, "f}{1"))
      assert.strictEqual(KeySlot.slot(lock), KeySlot.slot(hash), hash)
    }
    assert.notStrictEqual(RedisLock.lockKey(CacheKey.hash("h", "f")), RedisLock.lockKey(CacheKey.hash("h", "g")))
    assert.notStrictEqual(RedisLock.lockKey(CacheKey.hash("h", "f")), RedisLock.lockKey("h"))
  })
})

describe("RedisLock", () => {
  it.live("tryAcquire excludes other instances until the scope closes; the key carries PX", () =>
    Effect.gen(function*() {
      const a = yield* buildLock(url)
      const b = yield* buildLock(url)
      const k = key("try")
      const held = yield* Scope.make()
      const lease = yield* Scope.provide(a.lock.tryAcquire(k), held)
      assert.isTrue(Option.isSome(lease))
      const pttl = yield* a.redis.use("pttl", (c) => c.pttl(`_lock:${k}`))
      assert.isAbove(pttl, 9_000)
      assert.isTrue(Option.isNone(yield* Effect.scoped(b.lock.tryAcquire(k))))
      assert.isTrue(Option.isNone(yield* Effect.scoped(a.lock.tryAcquire(k))), "same process: the local stage says no")
      yield* Scope.close(held, Exit.void)
      assert.strictEqual(yield* a.redis.use("exists", (c) => c.exists(`_lock:${k}`)), 0)
      assert.isTrue(Option.isSome(yield* Effect.scoped(b.lock.tryAcquire(k))))
    }).pipe(Effect.scoped))

  it.live("lockKey option: a custom naming is used for the lock key", () =>
    Effect.gen(function*() {
      const naming = (k: CacheKey.CacheKey) => `_lok.${CacheKey.display(k)}`
      const a = yield* buildLock(url, { lockKey: naming })
      const k = key("naming")
      const held = yield* Scope.make()
      yield* Scope.provide(a.lock.acquire(k, "1 second"), held)
      assert.strictEqual(yield* a.redis.use("exists", (c) => c.exists(`_lok.${k}`)), 1)
      assert.strictEqual(yield* a.redis.use("exists", (c) => c.exists(`_lock:${k}`)), 0)
      yield* Scope.close(held, Exit.void)
      assert.strictEqual(yield* a.redis.use("exists", (c) => c.exists(`_lok.${k}`)), 0)
    }).pipe(Effect.scoped))

  it.live("a waiter is woken by the release notification, not by polling", () =>
    Effect.gen(function*() {
      // Neither polling (every 60 s) nor the end of the holder's lease (60 s) can wake the waiter before its
      // 10 s deadline: only the release message can. Counts and order, no wall-clock bound.
      const slow = { pollMin: "60 seconds", pollMax: "60 seconds", leaseTtl: "60 seconds" } as const
      const a = yield* buildLock(url, slow)
      const b = yield* buildLock(url, slow)
      const k = key("wake")
      const held = yield* Scope.make()
      yield* Scope.provide(a.lock.acquire(k, "1 second"), held)
      let released = false
      const waiter = yield* Effect.forkChild(Effect.scoped(Effect.andThen(b.lock.acquire(k, "10 seconds"), Effect.sync(() => released))))
      yield* Effect.sleep("100 millis")
      released = true
      yield* Scope.close(held, Exit.void)
      assert.isTrue(yield* Fiber.join(waiter), "the waiter took the lock after the release, within its deadline")
    }).pipe(Effect.scoped))

  it.live("awaitRelease: 100 waiters in another instance wake on the release together, none takes the lock", () =>
    Effect.gen(function*() {
      // Polling (every 60 s) and the holder's lease (60 s) cannot end a 10 s wait: the release message must.
      const slow = { pollMin: "60 seconds", pollMax: "60 seconds", leaseTtl: "60 seconds" } as const
      const a = yield* buildLock(url, slow)
      const b = yield* buildLock(url, slow)
      const k = key("await")
      yield* b.lock.awaitRelease(k, "1 second") // free: returns at once
      const held = yield* Scope.make()
      yield* Scope.provide(a.lock.acquire(k, "1 second"), held)
      const waiters = yield* Effect.forEach(
        Array.from({ length: 100 }, () => 0),
        () => Effect.forkChild(Effect.andThen(b.lock.awaitRelease(k, "10 seconds"), Effect.sync(() => performance.now())))
      )
      yield* Effect.sleep("100 millis")
      const releasedAt = performance.now()
      yield* Scope.close(held, Exit.void)
      const wokenAt = yield* Fiber.joinAll(waiters)
      assert.isTrue(wokenAt.every((at) => at >= releasedAt), "no waiter returned before the release")
      assert.strictEqual(wokenAt.length, 100, "all 100 woken by the one release, within their deadline")
      assert.strictEqual(yield* a.redis.use("exists", (c) => c.exists(`_lock:${k}`)), 0, "waiting took no lock")
      yield* a.lock.acquire(k, "1 second") // held until the test's scope closes
      const timeout = yield* Effect.flip(b.lock.awaitRelease(k, "100 millis"))
      assert.strictEqual(timeout._tag, "LockTimeoutError")
    }).pipe(Effect.scoped))

  it.live("a waiter of a live holder sends no command until the release wakes it (counted: INFO commandstats)", () =>
    Effect.gen(function*() {
      const server = yield* serverInScope
      const a = yield* buildLock(server.url)
      const b = yield* buildLock(server.url)
      const k = key("silent")
      const held = yield* Scope.make()
      yield* Scope.provide(a.lock.acquire(k, "1 second"), held)
      // The attempt that finds it held answers the lease left: the wait starts from it, with no command.
      yield* subscribers(b.redis, 2)
      assert.isTrue(Option.isNone(yield* Effect.scoped(b.lock.tryAcquire(k))))
      const before = yield* lockCommandsOn(b.redis)
      const waiter = yield* Effect.forkChild(b.lock.awaitRelease(k, "10 seconds"))
      yield* Effect.sleep("500 millis")
      assert.strictEqual((yield* lockCommandsOn(b.redis)) - before, 0, "lock commands sent while waiting")
      yield* Scope.close(held, Exit.void)
      yield* Fiber.join(waiter)
    }).pipe(Effect.scoped))

  it.live("a dead holder (no renewal, no release) is found when its lease runs out: one PTTL, then free", () =>
    Effect.gen(function*() {
      const server = yield* serverInScope
      const b = yield* buildLock(server.url)
      const k = key("dead")
      // A holder that died: its key, with what is left of its lease, and nobody to renew or release it.
      yield* subscribers(b.redis, 1)
      yield* b.redis.use("set", (c) => c.set(`_lock:${k}`, "dead-holder", "PX", 400))
      assert.isTrue(Option.isNone(yield* Effect.scoped(b.lock.tryAcquire(k))))
      const pttl = () => Effect.map(b.redis.use("info", (c) => c.info("commandstats")), (info) => callsOf(info, "pttl"))
      const before = yield* pttl()
      yield* b.lock.awaitRelease(k, "10 seconds")
      assert.strictEqual((yield* pttl()) - before, 1, "one check, at the lease's end")
      assert.isTrue(Option.isSome(yield* Effect.scoped(b.lock.tryAcquire(k))))
    }).pipe(Effect.scoped))

  it.live("a release announced while the waiter's subscriber is disconnected is not lost (lease 30 s, deadline 5 s)", () =>
    Effect.gen(function*() {
      const server = yield* serverInScope
      const a = yield* buildLock(server.url, { leaseTtl: "30 seconds" })
      const b = yield* buildLock(server.url, { leaseTtl: "30 seconds" })
      const k = key("lost-message")
      const held = yield* Scope.make()
      yield* Scope.provide(a.lock.acquire(k, "1 second"), held)
      assert.isTrue(Option.isNone(yield* Effect.scoped(b.lock.tryAcquire(k))))
      const waiter = yield* Effect.forkChild(Effect.exit(b.lock.awaitRelease(k, "5 seconds")))
      yield* Effect.sleep("100 millis")
      // Drop every subscriber connection, and release at once: the announcement reaches nobody.
      yield* a.redis.use("kill", (c) => c.call("CLIENT", "KILL", "TYPE", "pubsub"))
      yield* Scope.close(held, Exit.void)
      // Without a check on the disconnect and the re-subscription, the waiter would sleep until the lease's
      // end (30 s), past its 5 s deadline.
      const exit = yield* Fiber.join(waiter)
      assert.isTrue(Exit.isSuccess(exit), String(exit))
    }).pipe(Effect.scoped))

  it.live("acquire times out with LockTimeoutError", () =>
    Effect.gen(function*() {
      // The holder's lease (60 s) outlasts the test's own timeout: only the waiter's 150 ms deadline can end the wait.
      const a = yield* buildLock(url, { leaseTtl: "60 seconds" })
      const b = yield* buildLock(url, { leaseTtl: "60 seconds" })
      const k = key("timeout")
      yield* a.lock.acquire(k, "1 second")
      const start = performance.now()
      const error = yield* Effect.flip(Effect.scoped(b.lock.acquire(k, "150 millis")))
      assert.strictEqual(error._tag, "LockTimeoutError")
      assert.isAtLeast(performance.now() - start, 140, "not before its deadline")
    }).pipe(Effect.scoped))

  it.live("the lease is renewed while held: a holder longer than the TTL keeps the lock", () =>
    Effect.gen(function*() {
      const a = yield* buildLock(url, { leaseTtl: "200 millis" })
      const b = yield* buildLock(url, { leaseTtl: "200 millis" })
      const k = key("renew")
      const held = yield* Scope.make()
      const lease = yield* Scope.provide(a.lock.acquire(k, "1 second"), held)
      yield* stillHeld(b.lock, [k], 8, 100)
      yield* lease.confirm
      yield* Scope.close(held, Exit.void)
      assert.isTrue(Option.isSome(yield* Effect.scoped(b.lock.tryAcquire(k))))
    }).pipe(Effect.scoped))

  it.live("one fiber renews every held lock: 50 locks held past their lease stay held, and released ones are let go", () =>
    Effect.gen(function*() {
      const a = yield* buildLock(url, { leaseTtl: "1 second" })
      const b = yield* buildLock(url, { leaseTtl: "1 second" })
      const keys = Array.from({ length: 50 }, () => key("many"))
      const held = yield* Scope.make()
      const [leases, fibers] = yield* withFibersSeen(Effect.forEach(keys, (k) => Scope.provide(a.lock.tryAcquire(k), held)))
      assert.strictEqual(leases.filter(Option.isSome).length, 50)
      // Only the caller's fiber: the renewal fiber runs on the lock's own (a renewal fiber per lock before: 51).
      assert.strictEqual(fibers.size, 1)
      yield* stillHeld(b.lock, keys, 4, 400)
      yield* Scope.close(held, Exit.void)
      const taken = yield* Effect.forEach(keys, (k) => Effect.scoped(Effect.map(b.lock.tryAcquire(k), Option.isSome)))
      assert.strictEqual(taken.filter(Boolean).length, 50)
    }).pipe(Effect.scoped))

  it.live("renewal runs on the lock's own clock: a lock taken by a caller on a TestClock is still renewed", () =>
    Effect.gen(function*() {
      const a = yield* buildLock(url, { leaseTtl: "1 second" })
      const b = yield* buildLock(url, { leaseTtl: "1 second" })
      const k = key("test-clock")
      const held = yield* Scope.make()
      // The first holder starts the renewal fiber; it must not sleep on this caller's (frozen) clock.
      yield* Scope.provide(a.lock.tryAcquire(k), held).pipe(Effect.provide(TestClock.layer()))
      yield* stillHeld(b.lock, [k], 4, 400)
      yield* Scope.close(held, Exit.void)
      assert.isTrue(Option.isSome(yield* Effect.scoped(b.lock.tryAcquire(k))))
    }).pipe(Effect.scoped))

  it.live("confirmAndRelease releases the lock and reports it held; a lost lock is reported by it, and confirm agrees after", () =>
    Effect.gen(function*() {
      const a = yield* buildLock(url, { onLost: "ignore" })
      const b = yield* buildLock(url)
      const k = key("finish")
      const outcome = yield* Effect.scoped(Effect.gen(function*() {
        const lease = Option.getOrThrow(yield* a.lock.tryAcquire(k))
        const finished = yield* lease.confirmAndRelease!
        // Released before the scope closes: another instance takes it at once.
        const other = yield* Effect.scoped(Effect.map(b.lock.tryAcquire(k), Option.isSome))
        return { finished, again: yield* lease.confirm, other }
      }))
      assert.deepStrictEqual(outcome, { finished: undefined, again: undefined, other: true })
      const k2 = key("finish-lost")
      const lost = yield* Effect.scoped(Effect.gen(function*() {
        const lease = Option.getOrThrow(yield* a.lock.tryAcquire(k2))
        yield* a.redis.use("del", (c) => c.del(`_lock:${k2}`))
        return [yield* lease.confirmAndRelease!, yield* lease.confirm]
      }))
      assert.deepStrictEqual(lost, ["lost", "lost"])
    }).pipe(Effect.scoped))

  it.live("a region's locked miss: 3 round trips (read; value-absent check + lock; store + release + wake-up), counted", () =>
    Effect.gen(function*() {
      const server = yield* serverInScope
      const services = yield* Layer.build(Layer.mergeAll(RedisBackend.layer(), Codec.layerJson).pipe(
        Layer.provideMerge(RedisLock.layer()),
        Layer.provideMerge(RedisClient.layer({ url: server.url }))
      ))
      const redis = Context.get(services, RedisClient.RedisClient)
      const region = yield* Effect.provide(Region.make<number>({ name: "one-trip", expiration: "1 minute" }), services)
      const commands = ["evalsha", "eval", "get", "mget", "set", "exists", "pttl", "del", "publish"] as const
      const calls = Effect.map(redis.use("info", (c) => c.info("commandstats")), (info) =>
        Object.fromEntries(commands.map((command) => [command, callsOf(info, command)])))
      // A first miss also loads the region's invalidation marks.
      yield* region.getOrCreate("warm-up", Effect.succeed(0))
      const before = yield* calls
      assert.strictEqual(yield* region.getOrCreate("k", Effect.succeed(7)), 7)
      const after = yield* calls
      const delta = Object.fromEntries(commands.map((command) => [command, after[command]! - before[command]!]))
      // Top level: the read (GET), then two scripts. commandstats also counts what the scripts call: the
      // first checks the value is absent (EXISTS) and takes the lock (SET NX); the second stores the value
      // (SET), checks the lock is ours (GET), deletes it and announces the release (PUBLISH). No read again,
      // no separate release: before, 5 round trips (GET, SET NX, GET, SET, release script).
      assert.deepStrictEqual(delta, { evalsha: 2, eval: 0, get: 2, mget: 0, set: 2, exists: 1, pttl: 0, del: 1, publish: 1 })
      assert.strictEqual(yield* redis.use("keys", (c) => c.keys("_lock:*")).pipe(Effect.map((k) => k.length)), 0)
      assert.strictEqual(yield* region.getOrCreate("k", Effect.succeed(8)), 7)
    }).pipe(Effect.scoped))

  it.live("a custom lockKey (e.g. the Python presets' dogpile names) keeps the usual protocol: no fused scripts", () =>
    Effect.gen(function*() {
      const server = yield* serverInScope
      const services = yield* Layer.build(Layer.mergeAll(RedisBackend.layer(), Codec.layerJson).pipe(
        Layer.provideMerge(RedisLock.layer({ lockKey: (k) => `_lock${CacheKey.display(k)}` })),
        Layer.provideMerge(RedisClient.layer({ url: server.url }))
      ))
      const redis = Context.get(services, RedisClient.RedisClient)
      const region = yield* Effect.provide(Region.make<number>({ name: "custom-naming", expiration: "1 minute" }), services)
      const calls = Effect.map(redis.use("info", (c) => c.info("commandstats")), (info) => ({
        exists: callsOf(info, "exists"),
        gets: callsOf(info, "get")
      }))
      yield* region.getOrCreate("warm-up", Effect.succeed(0))
      const before = yield* calls
      assert.strictEqual(yield* region.getOrCreate("k", Effect.succeed(7)), 7)
      const after = yield* calls
      // The read, the read again under the lock, the release script's check; no EXISTS (the fused attempt's).
      assert.deepStrictEqual({ exists: after.exists - before.exists, gets: after.gets - before.gets }, { exists: 0, gets: 3 })
      assert.strictEqual(yield* redis.use("exists", (c) => c.exists("_lockcustom-naming:k")), 0)
    }).pipe(Effect.scoped))

  it.live("leaseTtl sets the lock key's PX; the deprecated ttl still works", () =>
    Effect.gen(function*() {
      const lease = yield* buildLock(url, { leaseTtl: "3 seconds" })
      const old = yield* buildLock(url, { ttl: "5 seconds" })
      const k1 = key("leaseTtl")
      const k2 = key("ttl")
      yield* lease.lock.acquire(k1, "1 second")
      yield* old.lock.acquire(k2, "1 second")
      const pttl1 = yield* lease.redis.use("pttl", (c) => c.pttl(`_lock:${k1}`))
      const pttl2 = yield* lease.redis.use("pttl", (c) => c.pttl(`_lock:${k2}`))
      assert.isTrue(pttl1 > 2_000 && pttl1 <= 3_000, `leaseTtl: PTTL ${pttl1}`)
      assert.isTrue(pttl2 > 4_000 && pttl2 <= 5_000, `ttl: PTTL ${pttl2}`)
    }).pipe(Effect.scoped))

  it.live("released on failure and on interruption", () =>
    Effect.gen(function*() {
      const a = yield* buildLock(url)
      const k = key("finalize")
      const exists = a.redis.use("exists", (c) => c.exists(`_lock:${k}`))
      yield* Effect.exit(Effect.scoped(Effect.andThen(a.lock.acquire(k, "1 second"), Effect.fail("boom"))))
      assert.strictEqual(yield* exists, 0)
      const fiber = yield* Effect.forkChild(Effect.scoped(Effect.andThen(a.lock.acquire(k, "1 second"), Effect.never)))
      yield* Effect.sleep("50 millis")
      assert.strictEqual(yield* exists, 1)
      yield* Fiber.interrupt(fiber)
      assert.strictEqual(yield* exists, 0)
    }).pipe(Effect.scoped))

  it.live("a lost lock is reported by confirm according to the policy, and counted", () =>
    Effect.gen(function*() {
      const lines: Array<string> = []
      const capture = Logger.layer([Logger.make(({ message }) => void lines.push(String(message)))])
      const name = `lost-${unique}`
      const metric = RedisLock.lostLocks(name)
      const before = (yield* Metric.value(metric)).count
      const outcome = (policy: RedisLock.LostLockPolicy) =>
        Effect.gen(function*() {
          const { lock, redis } = yield* buildLock(url, { name, onLost: policy })
          const k = key(policy)
          return yield* Effect.scoped(Effect.gen(function*() {
            const lease = yield* lock.acquire(k, "1 second")
            yield* lease.confirm
            yield* redis.use("del", (c) => c.del(`_lock:${k}`))
            return yield* Effect.exit(lease.confirm)
          }))
        }).pipe(Effect.scoped, Effect.provide(capture))
      assert.deepStrictEqual(yield* outcome("ignore"), Exit.succeed("lost"))
      assert.strictEqual(lines.length, 0)
      assert.deepStrictEqual(yield* outcome("log"), Exit.succeed("lost"))
      assert.strictEqual(lines.filter((l) => l.includes("was lost")).length, 1)
      const failed = yield* outcome("fail")
      assert.isTrue(Exit.isFailure(failed) && Exit.findErrorOption(failed).pipe(Option.map((e) => e._tag), Option.getOrUndefined) === "LockLostError")
      assert.strictEqual((yield* Metric.value(metric)).count - before, 3)
    }))

  it.live("a region emits LockLost under every policy (the creator's value is kept unless the policy fails the call)", () =>
    Effect.gen(function*() {
      for (const policy of ["ignore", "log", "fail"] as const) {
        const name = `lostlock-${process.pid}-${Date.now().toString(36)}-${policy}`
        const services = yield* Layer.build(Layer.mergeAll(RedisBackend.layer(), Codec.layerJson).pipe(
          Layer.provideMerge(RedisLock.layer({ onLost: policy })),
          Layer.provide(RedisClient.layer({ url }))
        ))
        const region = yield* Effect.provide(Region.make<number>({ name, expiration: "1 minute" }), services)
        const events = yield* region.subscribe
        const collected = yield* Effect.forkChild(Stream.runCollect(Stream.take(Stream.filter(events, (e) => e._tag === "LockLost"), 1)))
        // The creator loses its lock: another client deletes it while the creator runs.
        const creator = Effect.as(region.lockStatus("k").pipe(Effect.andThen(Effect.promise(async () => {
          const raw = new Redis(url)
          const held = await raw.keys(`_lock:${name}*`)
          assert.strictEqual(held.length, 1)
          await raw.del(...held)
          raw.disconnect()
        }))), 7)
        const outcome = yield* Effect.exit(region.getOrCreate("k", creator))
        if (policy === "fail") assert.isTrue(Exit.isFailure(outcome), policy)
        else assert.deepStrictEqual(outcome, Exit.succeed(7), policy)
        // Bounded so a missing event fails here rather than at the test timeout (it was emitted before the call returned).
        const lostEvents = Array.from(yield* Fiber.join(collected).pipe(Effect.timeoutOrElse({ duration: "10 seconds", orElse: () => Effect.succeed([]) })))
        assert.deepStrictEqual(lostEvents.map((e) => e._tag), ["LockLost"], policy)
      }
    }).pipe(Effect.scoped, Effect.provide(Logger.layer([]))))

  it.live("mutual exclusion over 2 instances × 100 fibers, and one in-flight attempt per key per process", () =>
    Effect.gen(function*() {
      const server = yield* Effect.acquireRelease(Effect.promise(() => startRedisServer()), (s) => Effect.promise(() => s.dispose()))
      const a = yield* buildLock(server.url)
      const b = yield* buildLock(server.url)
      const setCalls = Effect.map(a.redis.use("info", (c) => c.info("commandstats")), (info) => {
        const match = /cmdstat_set:calls=(\d+)/.exec(info)
        return match === null ? 0 : Number(match[1])
      })
      const k = "exclusive"
      // Held elsewhere: 100 fibers of instance b wait; only one of them talks to Redis at a time.
      const held = yield* Scope.make()
      yield* Scope.provide(a.lock.acquire(k, "1 second"), held)
      let inside = 0
      let maxInside = 0
      let done = 0
      const critical = (lock: Lock["Service"]) =>
        Effect.scoped(Effect.gen(function*() {
          yield* lock.acquire(k, "20 seconds")
          inside++
          maxInside = Math.max(maxInside, inside)
          yield* Effect.sleep("1 millis")
          inside--
          done++
        }))
      const before = yield* setCalls
      const waitersB = yield* Effect.forkChild(Effect.forEach(Array.from({ length: 100 }), () => critical(b.lock), { concurrency: "unbounded", discard: true }))
      yield* Effect.sleep("300 millis")
      const attempts = (yield* setCalls) - before
      assert.isBelow(attempts, 25, `${attempts} SET NX attempts in 300 ms from 100 waiting fibers`)
      const waitersA = yield* Effect.forkChild(Effect.forEach(Array.from({ length: 100 }), () => critical(a.lock), { concurrency: "unbounded", discard: true }))
      yield* Scope.close(held, Exit.void)
      yield* Fiber.join(waitersB)
      yield* Fiber.join(waitersA)
      assert.strictEqual(done, 200)
      assert.strictEqual(maxInside, 1)
    }).pipe(Effect.scoped))
})
