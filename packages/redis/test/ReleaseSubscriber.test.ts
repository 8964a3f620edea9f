/**
 * One release subscriber per RedisClient, against the project's
 * redis-server: locks with different prefixes, channels and key namings over
 * one client hold one subscriber connection between them, each still hears
 * its own channel's releases (waiters of a long lease are woken by the
 * release, not by the lease's end), the subscriber closes with the last
 * lock's scope, and a killed subscriber comes back subscribed to every
 * lock's channel.
 */
import { assert, describe, it } from "@effect/vitest"
import { CacheKey, type Lock } from "@dogpile-effect/core"
import { RedisClient, RedisLock } from "@dogpile-effect/redis"
import { Effect, Exit, Schedule, Scope } from "effect"
import { Redis } from "ioredis"
import { inject } from "vitest"
import { startRedisServer } from "../../../test-support/redis-server.ts"
import { releasesWake as wakeAfterRelease } from "../../../test-support/releaseWaking.ts"
import * as ReleaseSubscriber from "../src/ReleaseSubscriber.ts"

const url = inject("redisUrl")
const fresh = (label: string) => `rsub${label}${Math.random().toString(36).slice(2, 8)}`

const admin = Effect.acquireRelease(
  Effect.promise(() => Promise.resolve(new Redis(url))),
  (client) => Effect.promise(() => client.quit().then(() => undefined, () => client.disconnect()))
)

const countNamed = (client: Redis, connectionName: string) =>
  Effect.promise(() => client.call("CLIENT", "LIST") as Promise<string>).pipe(
    Effect.map((list) => list.split("\n").filter((line) => line.includes(` name=${connectionName} `)).length)
  )

/** The count once it is `expected` (subscribers connect and close in the background), then re-read. */
const settled = (client: Redis, connectionName: string, expected: number) =>
  countNamed(client, connectionName).pipe(
    Effect.repeat({ until: (n) => n === expected, schedule: Schedule.spaced("50 millis"), times: 200 }),
    Effect.andThen(Effect.sleep("200 millis")),
    Effect.andThen(countNamed(client, connectionName))
  )

/** Three namings: the default prefix, a Python-style `_lok.` naming, and a custom prefix with its own channel. */
const lockOptions = (tag: string): ReadonlyArray<RedisLock.RedisLockOptions> => [
  { leaseTtl: "60 seconds", pollMin: "20 seconds", pollMax: "20 seconds" },
  {
    leaseTtl: "60 seconds",
    pollMin: "20 seconds",
    pollMax: "20 seconds",
    lockKey: (key) => `_lok.${tag}.${CacheKey.render(key)}`
  },
  { leaseTtl: "60 seconds", pollMin: "20 seconds", pollMax: "20 seconds", prefix: `_l${tag}:`, channel: `${tag}:released` }
]

/**
 * Each holder takes `key` (its own naming) with a 60 s lease; a waiter per lock on the other client waits
 * with a 15 s deadline and 20 s polling, so only a release message wakes it in time. Returns how many woke.
 */
const releasesWake = (raw: Redis, key: string, holders: ReadonlyArray<Lock["Service"]>, waiters: ReadonlyArray<Lock["Service"]>) =>
  wakeAfterRelease(
    key,
    holders,
    waiters,
    // Each naming's lock key is held (one Redis key per lock).
    Effect.map(Effect.promise(() => raw.keys(`*${key}*`)), (held) => assert.strictEqual(held.length, holders.length))
  )

describe("ReleaseSubscriber", () => {
  it.live("3 locks with different namings over one client: 1 subscriber; each lock's waiters are woken by its release", () =>
    Effect.gen(function*() {
      const raw = yield* admin
      const tag = fresh("t")
      const holderName = fresh("holder")
      const waiterName = fresh("waiter")
      const holderScope = yield* Scope.make()
      const holderClient = yield* RedisClient.make({ url, connectionName: holderName }).pipe(Scope.provide(holderScope))
      const waiterScope = yield* Scope.make()
      const waiterClient = yield* RedisClient.make({ url, connectionName: waiterName }).pipe(Scope.provide(waiterScope))
      const build = (client: RedisClient.RedisClient["Service"], scope: Scope.Scope) =>
        Effect.forEach(lockOptions(tag), (options) =>
          RedisLock.make(options).pipe(Effect.provideService(RedisClient.RedisClient, client), Scope.provide(scope)))
      const holders = yield* build(holderClient, holderScope)
      const waiters = yield* build(waiterClient, waiterScope)

      // client + 1 shared subscriber per client, for 3 locks each
      assert.strictEqual(yield* settled(raw, holderName, 2), 2)
      assert.strictEqual(yield* settled(raw, waiterName, 2), 2)
      const usage = yield* ReleaseSubscriber.usage.pipe(Effect.provideService(RedisClient.RedisClient, waiterClient))
      // the default lock's channel "_lock:released" and the `_lok.` lock's (same default channel), and the custom one
      assert.deepStrictEqual(usage, { channels: 2, listeners: 3 })

      assert.strictEqual(yield* releasesWake(raw, `${tag}:k`, holders, waiters), 3)

      yield* Scope.close(waiterScope, Exit.void)
      yield* Scope.close(holderScope, Exit.void)
      assert.strictEqual(yield* settled(raw, waiterName, 0), 0)
      assert.strictEqual(yield* settled(raw, holderName, 0), 0)
    }), 60_000)

  it.live("the subscriber closes with the last lock's scope, and a lock built after reopens it", () =>
    Effect.gen(function*() {
      const raw = yield* admin
      const connectionName = fresh("conn")
      const client = RedisClient.layer({ url, connectionName })
      const count = yield* Effect.gen(function*() {
        const first = yield* Scope.make()
        const second = yield* Scope.make()
        yield* RedisLock.make({ prefix: "_a:" }).pipe(Scope.provide(first))
        yield* RedisLock.make({ prefix: "_b:" }).pipe(Scope.provide(second))
        const both = yield* settled(raw, connectionName, 2)
        yield* Scope.close(first, Exit.void)
        const one = yield* settled(raw, connectionName, 2)
        const usage = yield* ReleaseSubscriber.usage
        yield* Scope.close(second, Exit.void)
        const none = yield* settled(raw, connectionName, 1)
        const closed = yield* ReleaseSubscriber.usage
        const third = yield* Scope.make()
        yield* RedisLock.make({ prefix: "_c:" }).pipe(Scope.provide(third))
        const again = yield* settled(raw, connectionName, 2)
        yield* Scope.close(third, Exit.void)
        return { both, one, usage, none, closed, again }
      }).pipe(Effect.scoped, Effect.provide(client))
      assert.deepStrictEqual(count, {
        both: 2,
        one: 2,
        usage: { channels: 1, listeners: 1 },
        none: 1,
        closed: undefined,
        again: 2
      })
    }), 60_000)

  it.live("after the shared subscriber is killed (CLIENT KILL TYPE pubsub), it re-subscribes every lock's channel", () =>
    Effect.gen(function*() {
      const server = yield* Effect.acquireRelease(Effect.promise(() => startRedisServer()), (s) => Effect.promise(() => s.dispose()))
      const raw = yield* Effect.acquireRelease(
        Effect.sync(() => new Redis(server.url)),
        (client) => Effect.promise(() => client.quit().then(() => undefined, () => client.disconnect()))
      )
      const tag = fresh("k")
      const holderClient = yield* RedisClient.make({ url: server.url, connectionName: fresh("holder") })
      const waiterName = fresh("waiter")
      const waiterClient = yield* RedisClient.make({ url: server.url, connectionName: waiterName })
      const build = (client: RedisClient.RedisClient["Service"]) =>
        Effect.forEach(lockOptions(tag), (options) => RedisLock.make(options).pipe(Effect.provideService(RedisClient.RedisClient, client)))
      const holders = yield* build(holderClient)
      const waiters = yield* build(waiterClient)
      const channels = ["_lock:released", `${tag}:released`]
      const numsub = Effect.map(
        Effect.promise(() => raw.call("PUBSUB", "NUMSUB", ...channels) as Promise<Array<unknown>>),
        (reply) => [Number(reply[1]), Number(reply[3])]
      )
      // Both clients' subscribers on both channels.
      yield* numsub.pipe(Effect.repeat({ until: (n) => n[0] === 2 && n[1] === 2, schedule: Schedule.spaced("20 millis"), times: 250 }))
      // A probe on the waiter client's subscriber: its view of one channel's subscription.
      const changes: Array<boolean> = []
      const probe = yield* ReleaseSubscriber.listen(`${tag}:released`, {
        released: () => {},
        changed: () => changes.push(probe.subscribed())
      }).pipe(Effect.provideService(RedisClient.RedisClient, waiterClient))
      assert.isTrue(probe.subscribed())
      yield* Effect.promise(() => raw.call("CLIENT", "KILL", "TYPE", "pubsub"))
      const after = yield* numsub.pipe(
        Effect.repeat({ until: (n) => n[0] === 2 && n[1] === 2, schedule: Schedule.spaced("20 millis"), times: 250 })
      )
      assert.deepStrictEqual(after, [2, 2])
      // Lost on the disconnect (every waiter checks once), confirmed again on the re-subscription.
      yield* Effect.sync(() => probe.subscribed()).pipe(
        Effect.repeat({ until: (ok) => ok, schedule: Schedule.spaced("20 millis"), times: 250 })
      )
      assert.deepStrictEqual(changes, [false, true])
      // still one subscriber per client
      assert.strictEqual(yield* settled(raw, waiterName, 2), 2)
      yield* Effect.sleep("200 millis")
      assert.strictEqual(yield* releasesWake(raw, `${tag}:k`, holders, waiters), 3)
    }).pipe(Effect.scoped), 60_000)
})
