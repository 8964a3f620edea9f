/**
 * Lease renewal on a Cluster: one fiber renews every lock a RedisLock holds,
 * so one silent master (SIGSTOP) must not hold back the renewal of locks
 * living on the other masters (each renewal waits one tick at most).
 */
import { assert, describe, it } from "@effect/vitest"
import { Lock } from "@dogpile-effect/core"
import { KeySlot, RedisClient, RedisLock } from "@dogpile-effect/redis"
import { Context, Effect, Exit, Layer, Option, Scope } from "effect"
import { Cluster } from "ioredis"
import { afterAll, beforeAll } from "vitest"
import { type RedisCluster, startRedisCluster } from "../../../test-support/redis-server.ts"

let cluster: RedisCluster | undefined
beforeAll(async () => {
  cluster = await startRedisCluster()
})
afterAll(async () => {
  await cluster?.dispose()
})

/** The port of the master serving `key`'s slot. */
const portOf = (slots: ReadonlyArray<ReadonlyArray<string>>, key: string): number =>
  Number((slots[KeySlot.slot(key)]?.[0] ?? "").split(":")[1])

const lockOn = (nodes: RedisCluster["nodes"], options: RedisLock.RedisLockOptions) =>
  Effect.map(
    Layer.build(Layer.provideMerge(RedisLock.layer(options), RedisClient.layer({ nodes, commandTimeout: "1500 millis" }))),
    (context) => Context.get(context, Lock)
  )

describe("RedisLock renewal on a Cluster", () => {
  it.live("a silent master does not hold back the renewal of a lock on another master", () =>
    Effect.gen(function*() {
      const c = cluster as RedisCluster
      const slots = yield* Effect.promise(async () => {
        const probe = new Cluster(c.nodes.map((node) => ({ host: node.host, port: node.port })))
        await probe.ping()
        const map = probe.slots.map((owners) => [...owners])
        probe.disconnect()
        return map
      })
      // Two keys whose locks live on different masters.
      const keys = Array.from({ length: 50 }, (_, i) => `renew-cluster:${i}`)
      const silent = keys[0] as string
      const other = keys.find((key) => portOf(slots, RedisLock.lockKey(key)) !== portOf(slots, RedisLock.lockKey(silent))) as string
      const victim = c.servers.find((server) => server.port === portOf(slots, RedisLock.lockKey(silent)))
      assert.isDefined(victim)

      // Lease 900 ms, renewed every 300 ms; a command waits up to 1.5 s (longer than the lease).
      const a = yield* lockOn(c.nodes, { leaseTtl: "900 millis" })
      const b = yield* lockOn(c.nodes, { leaseTtl: "900 millis" })
      const held = yield* Scope.make()
      assert.isTrue(Option.isSome(yield* Scope.provide(a.tryAcquire(silent), held)))
      assert.isTrue(Option.isSome(yield* Scope.provide(a.tryAcquire(other), held)))

      // Silent for 1.6 s: under the cluster's 2 s node timeout, so the other masters keep serving.
      victim!.signal("SIGSTOP")
      const taken = yield* Effect.gen(function*() {
        const found: Array<number> = []
        for (let i = 1; i <= 8; i++) {
          yield* Effect.sleep("200 millis")
          if (Option.isSome(yield* Effect.scoped(b.tryAcquire(other)))) found.push(i * 200)
        }
        return found
      }).pipe(Effect.ensuring(Effect.sync(() => victim!.signal("SIGCONT"))))
      assert.deepStrictEqual(taken, [], "the lock on the other master was taken by another instance (its lease ran out)")
      yield* Scope.close(held, Exit.void)
      yield* Effect.promise(() => c.awaitOk())
    }).pipe(Effect.scoped), 30_000)
})
