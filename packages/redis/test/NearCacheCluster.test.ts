/**
 * The near cache on a local 3-master Redis Cluster: tracking per node.
 */
import { assert, describe, it } from "@effect/vitest"
import { Backend } from "@dogpile-effect/core"
import { KeySlot, NearCache, RedisBackend, RedisClient } from "@dogpile-effect/redis"
import { Context, Effect, Layer, Option } from "effect"
import { Cluster, Redis } from "ioredis"
import { afterAll, beforeAll } from "vitest"
import { type RedisCluster, startRedisCluster } from "../../../test-support/redis-server.ts"

let cluster: RedisCluster | undefined
beforeAll(async () => {
  cluster = await startRedisCluster()
})
afterAll(async () => {
  await cluster?.dispose()
})

const text = (value: Option.Option<Uint8Array>) => Option.getOrUndefined(Option.map(value, (b) => new TextDecoder().decode(b)))

const eventually = <E, R>(what: string, check: Effect.Effect<boolean, E, R>) =>
  Effect.gen(function*() {
    const deadline = Date.now() + 10_000
    while (!(yield* check)) {
      if (Date.now() > deadline) return yield* Effect.die(new Error(`timed out waiting for: ${what}`))
      yield* Effect.sleep("5 millis")
    }
  })

/** One key per master (found by slot). */
const keysOnEveryMaster = (prefix: string) => {
  const byNode = new Map<number, string>()
  const ranges = [[0, 5460], [5461, 10922], [10923, 16383]] as const
  for (let i = 0; byNode.size < 3; i++) {
    const key = `${prefix}:${i}`
    const slot = KeySlot.slot(key)
    const node = ranges.findIndex(([from, to]) => slot >= from && slot <= to)
    if (!byNode.has(node)) byNode.set(node, key)
  }
  return [...byNode.values()]
}

const setup = Effect.gen(function*() {
  const nodes = (cluster as RedisCluster).nodes
  const context = yield* Layer.build(
    NearCache.layer({ maxAge: "never" }).pipe(
      Layer.provide(RedisBackend.layer()),
      Layer.provideMerge(RedisClient.layer({ nodes }))
    )
  )
  const raw = yield* Effect.acquireRelease(
    Effect.sync(() => new Cluster([...nodes])),
    (client) => Effect.promise(() => client.quit().then(() => undefined, () => client.disconnect()))
  )
  return { backend: Context.get(context, Backend), near: Context.get(context, NearCache.NearCache), raw }
})

describe("NearCache on a 3-master Cluster", () => {
  it.live("keys on every master are kept, and a write by another client evicts each", () =>
    Effect.gen(function*() {
      const { backend, near, raw } = yield* setup
      const keys = keysOnEveryMaster(`near-cluster-${Date.now()}`)
      for (const key of keys) yield* Effect.promise(() => raw.set(key, "v1"))
      yield* eventually("tracking on every master", near.isActive)
      yield* eventually("all kept", Effect.andThen(backend.getMany(keys), Effect.map(near.entries, (n) => n === 3)))
      for (const key of keys) {
        yield* Effect.promise(() => raw.set(key, "v2"))
        yield* eventually(`the new value of ${key}`, Effect.map(backend.get(key), (v) => text(v) === "v2"))
      }
    }).pipe(Effect.scoped))

  it.live("FLUSHALL on one master empties the near cache", () =>
    Effect.gen(function*() {
      const { backend, near, raw } = yield* setup
      const keys = keysOnEveryMaster(`near-cluster-flush-${Date.now()}`)
      for (const key of keys) yield* Effect.promise(() => raw.set(key, "v1"))
      yield* eventually("all kept", Effect.andThen(backend.getMany(keys), Effect.map(near.entries, (n) => n === 3)))
      const one = new Redis((cluster as RedisCluster).servers[0]!.url)
      yield* Effect.promise(() => one.flushall().finally(() => one.disconnect()))
      yield* eventually("an empty near cache", Effect.map(near.entries, (n) => n === 0))
    }).pipe(Effect.scoped))

  it.live("CLIENT KILL of one node's subscriber empties the near cache; tracking comes back", () =>
    Effect.gen(function*() {
      const { backend, near, raw } = yield* setup
      const keys = keysOnEveryMaster(`near-cluster-kill-${Date.now()}`)
      for (const key of keys) yield* Effect.promise(() => raw.set(key, "v1"))
      yield* eventually("all kept", Effect.andThen(backend.getMany(keys), Effect.map(near.entries, (n) => n === 3)))
      const one = new Redis((cluster as RedisCluster).servers[1]!.url)
      // The subscribers are the connections in pub/sub on __redis__:invalidate.
      const killed = yield* Effect.promise(async () => {
        const list = String(await one.client("LIST"))
        const ids = list.split("\n").filter((line) => / sub=1 /.test(line)).map((line) => /^id=(\d+)/.exec(line)?.[1])
        for (const id of ids) if (id !== undefined) await one.client("KILL", "ID", id)
        one.disconnect()
        return ids.length
      })
      assert.isAtLeast(killed, 1)
      yield* eventually("an empty near cache", Effect.map(near.entries, (n) => n === 0))
      yield* eventually("tracking again", near.isActive)
      yield* eventually("all kept again", Effect.andThen(backend.getMany(keys), Effect.map(near.entries, (n) => n === 3)))
      for (const key of keys) yield* Effect.promise(() => raw.set(key, "v3"))
      yield* eventually("the new values", Effect.map(backend.getMany(keys), (vs) => vs.every((v) => text(v) === "v3")))
    }).pipe(Effect.scoped))
  it.live("a master killed and restarted empties the near cache; tracking comes back on every master", () =>
    Effect.gen(function*() {
      const { backend, near, raw } = yield* setup
      const keys = keysOnEveryMaster(`near-cluster-restart-${Date.now()}`)
      for (const key of keys) yield* Effect.promise(() => raw.set(key, "v1"))
      yield* eventually("all kept", Effect.andThen(backend.getMany(keys), Effect.map(near.entries, (n) => n === 3)))
      const victim = (cluster as RedisCluster).servers[2]!
      yield* Effect.promise(() => victim.kill())
      yield* eventually("an empty near cache", Effect.map(near.entries, (n) => n === 0))
      yield* Effect.promise(() => victim.start())
      yield* Effect.promise(() => (cluster as RedisCluster).awaitOk())
      // The restarted master lost its data (no persistence): write again, read, keep, evict.
      yield* eventually("writes accepted again", Effect.promise(() =>
        Promise.all(keys.map((key) => raw.set(key, "v2"))).then(() => true, () => false)))
      yield* eventually("all kept again", Effect.andThen(Effect.ignore(backend.getMany(keys)), Effect.map(near.entries, (n) => n === 3)))
      for (const key of keys) yield* Effect.promise(() => raw.set(key, "v3"))
      yield* eventually("the new values", Effect.map(Effect.orElseSucceed(backend.getMany(keys), () => []), (vs) =>
        vs.length === 3 && vs.every((v) => text(v) === "v3")))
    }).pipe(Effect.scoped))
})
