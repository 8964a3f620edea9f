/**
 * One release subscriber per node-redis client, counted with CLIENT LIST
 * against a real redis-server: 1, 3 and 10 regions, each with its own
 * NodeRedisLock (its own prefix, lock name and so channel) over one
 * `NodeRedis` layer, hold the same number of connections (the client and one
 * subscriber); each lock's waiters are woken by its releases (20 s polling,
 * 15 s deadline: only a release message wakes them in time); and after the
 * subscriber is killed (CLIENT KILL TYPE pubsub) it comes back subscribed to
 * every lock's channel.
 */
import { assert, describe, it } from "@effect/vitest"
import { NodeRedisLock } from "@dogpile-effect/node-redis"
import { NodeRedis } from "@effect/platform-node"
import { Context, Effect, Exit, Layer, Schedule, Scope } from "effect"
import { Redis } from "effect/persistence/Redis"
import { inject } from "vitest"
import { startRedisServer } from "../../../test-support/redis-server.ts"
import { releasesWake } from "../../../test-support/releaseWaking.ts"
import * as ReleaseSubscriber from "../src/ReleaseSubscriber.ts"

const sharedUrl = inject("redisUrl")
const fresh = (label: string) => `nrsub${label}${Math.random().toString(36).slice(2, 8)}`

/** A node-redis client whose connections (and their duplicates) carry `name` in CLIENT LIST. */
const named = (url: string, name: string) => NodeRedis.layer({ url, name, idleTimeout: "Infinity" })

/** Builds a `NodeRedis` layer in `scope`, with its services. */
const client = (url: string, name: string, scope: Scope.Scope) =>
  Effect.map(Layer.buildWithScope(named(url, name), scope), (context) => ({
    redis: Context.get(context, Redis),
    node: Context.get(context, NodeRedis.NodeRedis)
  }))

type Client = Effect.Success<ReturnType<typeof client>>

const countNamed = (admin: Client, name: string) =>
  admin.node.use((c) => c.sendCommand(["CLIENT", "LIST"])).pipe(
    Effect.orDie,
    Effect.map((list) => String(list).split("\n").filter((line) => line.includes(` name=${name} `)).length)
  )

/** The count once it is `expected` (subscribers connect and close in the background), then re-read. */
const settled = (admin: Client, name: string, expected: number) =>
  countNamed(admin, name).pipe(
    Effect.repeat({ until: (n) => n === expected, schedule: Schedule.spaced("50 millis"), times: 100 }),
    Effect.andThen(Effect.sleep("200 millis")),
    Effect.andThen(countNamed(admin, name))
  )

/** Region `i`'s lock options: its own prefix (so its own channel) and name; polling too slow to matter. */
const regionLock = (tag: string, i: number): NodeRedisLock.NodeRedisLockOptions => ({
  name: `${tag}-region-${i}`,
  prefix: `_l${tag}${i}:`,
  leaseTtl: "60 seconds",
  pollMin: "20 seconds",
  pollMax: "20 seconds"
})

const locksOver = (over: Client, tag: string, regions: number, scope: Scope.Scope) =>
  Effect.forEach(Array.from({ length: regions }, (_, i) => i), (i) =>
    NodeRedisLock.make(regionLock(tag, i)).pipe(
      Effect.provideService(Redis, over.redis),
      Effect.provideService(NodeRedis.NodeRedis, over.node),
      Scope.provide(scope)
    ))

/** Connections named `name` while `regions` locks are open over one client of that name. */
const connectionsFor = (admin: Client, url: string, regions: number) =>
  Effect.gen(function*() {
    const name = fresh(`r${regions}`)
    const scope = yield* Scope.make()
    const over = yield* client(url, name, scope)
    yield* locksOver(over, fresh("t"), regions, scope)
    const open = yield* settled(admin, name, 2)
    const usage = yield* ReleaseSubscriber.usage.pipe(Effect.provideService(Redis, over.redis))
    yield* Scope.close(scope, Exit.void)
    const closed = yield* settled(admin, name, 0)
    return { open, usage, closed }
  })

const numsub = (admin: Client, channels: ReadonlyArray<string>) =>
  admin.node.use((c) => c.sendCommand(["PUBSUB", "NUMSUB", ...channels])).pipe(
    Effect.orDie,
    Effect.map((reply) => (Array.isArray(reply) ? reply : []).filter((_, i) => i % 2 === 1).map(Number))
  )

describe("ReleaseSubscriber (node-redis)", () => {
  it.live("1, 3 and 10 regions with a NodeRedisLock each over one NodeRedis layer: 2 connections each time", () =>
    Effect.gen(function*() {
      const admin = yield* client(sharedUrl, fresh("admin"), yield* Effect.scope)
      const counts = yield* Effect.forEach([1, 3, 10], (regions) => connectionsFor(admin, sharedUrl, regions))
      assert.deepStrictEqual(counts, [
        { open: 2, usage: { channels: 1, listeners: 1 }, closed: 0 },
        { open: 2, usage: { channels: 3, listeners: 3 }, closed: 0 },
        { open: 2, usage: { channels: 10, listeners: 10 }, closed: 0 }
      ])
    }).pipe(Effect.scoped), 60_000)

  it.live("3 regions: each lock's waiters are woken by its release, not by polling", () =>
    Effect.gen(function*() {
      const scope = yield* Effect.scope
      const tag = fresh("w")
      const holders = yield* locksOver(yield* client(sharedUrl, fresh("holder"), scope), tag, 3, scope)
      const waiters = yield* locksOver(yield* client(sharedUrl, fresh("waiter"), scope), tag, 3, scope)
      assert.strictEqual(yield* releasesWake(`${tag}:k`, holders, waiters), 3)
    }).pipe(Effect.scoped), 60_000)

  it.live("with only Effect's Redis service (no NodeRedis client to duplicate): one subscription per channel, shared", () =>
    Effect.gen(function*() {
      const scope = yield* Effect.scope
      const admin = yield* client(sharedUrl, fresh("admin"), scope)
      const name = fresh("bare")
      const over = yield* client(sharedUrl, name, scope)
      const tag = fresh("b")
      // 4 locks on 2 channels: the default prefix's and one custom prefix's
      const options = [{}, { name: "b" }, { prefix: `_l${tag}:` }, { prefix: `_l${tag}:`, name: "d" }]
      yield* Effect.forEach(options, (o) =>
        NodeRedisLock.make(o).pipe(Effect.provideService(Redis, over.redis), Scope.provide(scope)))
      assert.strictEqual(yield* settled(admin, name, 3), 3)
      assert.deepStrictEqual(
        yield* ReleaseSubscriber.usage.pipe(Effect.provideService(Redis, over.redis)),
        { channels: 2, listeners: 4 }
      )
    }).pipe(Effect.scoped), 60_000)

  it.live("after the shared subscriber is killed (CLIENT KILL TYPE pubsub), it re-subscribes every lock's channel", () =>
    Effect.gen(function*() {
      const server = yield* Effect.acquireRelease(Effect.promise(() => startRedisServer()), (s) => Effect.promise(() => s.dispose()))
      const scope = yield* Effect.scope
      const admin = yield* client(server.url, fresh("admin"), scope)
      const tag = fresh("k")
      const waiterName = fresh("waiter")
      const holders = yield* locksOver(yield* client(server.url, fresh("holder"), scope), tag, 3, scope)
      const waiters = yield* locksOver(yield* client(server.url, waiterName, scope), tag, 3, scope)
      const channels = [0, 1, 2].map((i) => `_l${tag}${i}:released`)
      assert.deepStrictEqual(yield* numsub(admin, channels), [2, 2, 2])

      const killed = yield* admin.node.use((c) => c.sendCommand(["CLIENT", "KILL", "TYPE", "pubsub"])).pipe(Effect.orDie)
      assert.strictEqual(Number(killed), 2)
      const back = yield* numsub(admin, channels).pipe(
        Effect.repeat({ until: (n) => n.every((x) => x === 2), schedule: Schedule.spaced("50 millis"), times: 200 })
      )
      assert.deepStrictEqual(back, [2, 2, 2])
      assert.strictEqual(yield* settled(admin, waiterName, 2), 2)
      assert.strictEqual(yield* releasesWake(`${tag}:k`, holders, waiters), 3)
    }).pipe(Effect.scoped), 60_000)
})
