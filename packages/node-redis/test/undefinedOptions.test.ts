/**
 * Options given as `undefined` (declared `?: T | undefined` from the first
 * release) mean the default, exactly as a left-out option does: the lock's
 * settings resolve alike, and the backend and lock built with every optional
 * option `undefined` read, write and lock as the defaults do. A resolver that
 * spread the options over its defaults would fail these.
 */
import { assert, describe, it } from "@effect/vitest"
import { Backend, Lock } from "@dogpile-effect/core"
import { NodeRedisBackend, NodeRedisLock } from "@dogpile-effect/node-redis"
import { NodeRedis } from "@effect/platform-node"
import { Context, Effect, Layer, Option } from "effect"
import { inject } from "vitest"
import * as LockSettings from "../src/LockSettings.ts"
import { nodeRedis } from "./clients.ts"

const url = inject("redisUrl")
const unique = `nr-undefined-${process.pid}-${Date.now().toString(36)}`

const lockUndefined = {
  name: undefined,
  prefix: undefined,
  leaseTtl: undefined,
  renewEvery: undefined,
  onLost: undefined,
  pollMin: undefined,
  pollMax: undefined,
  channel: undefined,
  lockKey: undefined,
  releaseWait: undefined,
  commandTimeout: undefined
} satisfies NodeRedisLock.NodeRedisLockOptions

describe("undefined options are the defaults (node-redis)", () => {
  it.effect("NodeRedisLock settings: every option undefined resolves like none given", () =>
    Effect.gen(function*() {
      const { keyOf: givenKey, ...given } = yield* LockSettings.resolve(lockUndefined)
      const { keyOf: absentKey, ...absent } = yield* LockSettings.resolve({})
      assert.deepStrictEqual(given, absent)
      assert.deepStrictEqual(
        { prefix: given.prefix, leaseMs: given.leaseMs, onLost: given.onLost, commandTimeoutMs: given.commandTimeoutMs },
        { prefix: "_lock:", leaseMs: 10_000, onLost: "log", commandTimeoutMs: 1_000 }
      )
      assert.strictEqual(givenKey("k"), absentKey("k"))
    }))

  it.live("NodeRedisBackend and NodeRedisLock with every option undefined store, read and lock on _lock:<key>", () =>
    Effect.gen(function*() {
      const ctx = yield* Layer.build(
        Layer.mergeAll(
          NodeRedisBackend.layer({ batchSize: undefined, commandTimeout: undefined }),
          NodeRedisLock.layer(lockUndefined)
        ).pipe(Layer.provideMerge(nodeRedis(url)))
      )
      const backend = Context.get(ctx, Backend)
      const lock = Context.get(ctx, Lock)
      const { client } = Context.get(ctx, NodeRedis.NodeRedis)
      const keys = Array.from({ length: 10 }, (_, i) => `${unique}:k${i}`)
      for (const key of keys) yield* backend.set(key, new Uint8Array([1, 2, 3]))
      const read = yield* backend.getMany(keys)
      assert.strictEqual(read.filter(Option.isSome).length, keys.length)
      const key = `${unique}:lock`
      const pttl = yield* Effect.scoped(Effect.gen(function*() {
        assert.isTrue(Option.isSome(yield* lock.tryAcquire(key)))
        return yield* Effect.promise(() => client.pTTL(`_lock:${key}`))
      }))
      assert.isTrue(pttl > 0 && pttl <= 10_000, `PTTL ${pttl}`)
      assert.strictEqual(yield* Effect.promise(() => client.exists(`_lock:${key}`)), 0)
    }).pipe(Effect.scoped))
})
