/**
 * Cluster failover (#11 item 5): one of three masters is SIGKILLed and
 * restarted on its port with its nodes.conf; the same Layer serves again
 * within a bounded number of retries, without being rebuilt.
 */
import { assert, describe, it } from "@effect/vitest"
import { Backend } from "@dogpile-effect/core"
import { KeySlot, RedisBackend, RedisClient } from "@dogpile-effect/redis"
import { Effect, Layer, Logger, Option } from "effect"
import { Redis } from "ioredis"
import { afterAll, beforeAll } from "vitest"
import { type RedisCluster, startRedisCluster } from "../../../test-support/redis-server.ts"

let cluster: RedisCluster | undefined
beforeAll(async () => {
  cluster = await startRedisCluster()
})
afterAll(async () => {
  await cluster?.dispose()
})

const bytes = (text: string) => new TextEncoder().encode(text)
const text = (value: Option.Option<Uint8Array>) => Option.map(value, (b) => new TextDecoder().decode(b))

describe("Redis Cluster failover", () => {
  it.live("a master SIGKILLed and restarted: the same Layer serves every slot again within a bounded number of retries", () =>
    Effect.gen(function*() {
      const c = cluster as RedisCluster
      const backend = yield* Backend
      // Keys on every master.
      const keys = Array.from({ length: 300 }, (_, i) => `failover:${i}`)
      assert.isAbove(new Set(keys.map(KeySlot.slot)).size, 200)
      yield* backend.setMany(keys.map((key) => ({ key, value: bytes(key) })))
      assert.isTrue((yield* backend.getMany(keys)).every(Option.isSome))

      const victim = c.servers[1] ?? assert.fail("three masters")
      yield* Effect.promise(() => victim.kill())
      const whileDown = yield* Effect.exit(backend.getMany(keys))
      assert.strictEqual(whileDown._tag, "Failure", "a batch touching the dead master fails (typed)")
      // Down longer than cluster-node-timeout (2 s): the others mark it failed, the cluster goes down; calls keep coming.
      const downSince = performance.now()
      let slowest = 0
      while (performance.now() - downSince < 4_000) {
        const start = performance.now()
        yield* Effect.exit(backend.getMany(keys))
        slowest = Math.max(slowest, performance.now() - start)
        yield* Effect.sleep("200 millis")
      }
      console.log(`cluster failover: slowest call while a master was down ${Math.round(slowest)} ms`)
      assert.isBelow(slowest, 3_000, "no call hangs while a master is down (commandTimeout 1 s)")
      yield* Effect.promise(() => victim.start())
      yield* Effect.promise(() => c.awaitOk())

      // The restarted master is empty (no persistence); the others kept their keys. Count rounds until every key answers.
      let rounds = 0
      let served = false
      let lastError = ""
      const started = performance.now()
      while (!served && rounds < 60) {
        rounds++
        const exit = yield* Effect.exit(Effect.gen(function*() {
          yield* backend.setMany(keys.map((key) => ({ key, value: bytes(key) })))
          return yield* backend.getMany(keys)
        }))
        if (exit._tag === "Success") {
          served = exit.value.every((value, i) => Option.getOrUndefined(text(value)) === keys[i])
        } else {
          lastError = String(exit.cause).slice(0, 300)
          yield* Effect.sleep("250 millis")
        }
      }
      console.log(`cluster failover: served again after ${rounds} round(s), ${Math.round(performance.now() - started)} ms after cluster_state:ok${served ? "" : `; last error ${lastError}`}`)
      assert.isTrue(served, `the same Layer never served again: ${lastError}`)
      assert.isAtMost(rounds, 20)
    }).pipe(
      Effect.provide(Layer.provideMerge(RedisBackend.layer({ batchSize: 64 }), RedisClient.layer({ nodes: (cluster as RedisCluster).nodes }))),
      Effect.provide(Logger.layer([]))
    ), 60_000)

  it.live("a slot moved to another master under a live Layer: write pipelines (no MOVED retry in ioredis) recover within a few calls", () =>
    Effect.gen(function*() {
      const c = cluster as RedisCluster
      const backend = yield* Backend
      const keys = Array.from({ length: 20 }, (_, i) => `{moveme}:${i}`)
      const slot = KeySlot.slot(keys[0] as string)
      const write = backend.setMany(keys.map((key) => ({ key, value: bytes(key) })))
      yield* write
      yield* backend.deleteMany(keys) // the slot must be empty to be reassigned
      const nodes = c.nodes.map(({ port }) => new Redis({ port, lazyConnect: true }))
      try {
        const ids = yield* Effect.promise(() => Promise.all(nodes.map((n) => n.call("CLUSTER", "MYID") as Promise<string>)))
        const owners = (yield* Effect.promise(() => nodes[0]!.call("CLUSTER", "SLOTS"))) as Array<[number, number, [string, number, string]]>
        const owner = owners.find(([from, to]) => from <= slot && slot <= to)?.[2][2] ?? assert.fail("slot owner")
        const target = ids.find((id) => id !== owner) ?? assert.fail("another master")
        const order = [ids.indexOf(target), ids.indexOf(owner), ...ids.map((_, i) => i).filter((i) => ids[i] !== target && ids[i] !== owner)]
        for (const i of order) yield* Effect.promise(() => nodes[i]!.call("CLUSTER", "SETSLOT", String(slot), "NODE", target))
        yield* Effect.promise(() => nodes[ids.indexOf(target)]!.call("CLUSTER", "BUMPEPOCH"))
        yield* Effect.promise(() => c.awaitOk())
        let calls = 0
        let ok = false
        let lastError = ""
        while (!ok && calls < 40) {
          calls++
          const exit = yield* Effect.exit(write)
          ok = exit._tag === "Success"
          if (!ok) {
            lastError = String(exit._tag === "Failure" ? exit.cause : "").slice(0, 200)
            yield* Effect.sleep("100 millis")
          }
        }
        console.log(`slot ${slot} moved: write pipelines succeeded again at call ${calls}${ok ? "" : `; last error ${lastError}`}`)
        assert.isTrue(ok, `never recovered: ${lastError}`)
        assert.isAtMost(calls, 10)
      } finally {
        for (const n of nodes) n.disconnect()
      }
    }).pipe(
      Effect.provide(Layer.provideMerge(RedisBackend.layer({ batchSize: 64 }), RedisClient.layer({ nodes: (cluster as RedisCluster).nodes }))),
      Effect.provide(Logger.layer([]))
    ), 60_000)
})
