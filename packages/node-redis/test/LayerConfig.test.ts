/**
 * `layerConfig` of the backend and the lock: options read through `Config`
 * (as `NodeRedis.layerConfig` reads the client's), validated when built.
 */
import { assert, describe, it } from "@effect/vitest"
import { Backend, Lock } from "@dogpile-effect/core"
import { NodeRedisBackend, NodeRedisLock } from "@dogpile-effect/node-redis"
import { NodeRedis } from "@effect/platform-node"
import { Config, ConfigProvider, Context, Effect, Layer } from "effect"
import { inject } from "vitest"
import { nodeRedis } from "./clients.ts"

const url = inject("redisUrl")
const unique = `nrc-${process.pid}-${Date.now().toString(36)}`

const backendLayer = NodeRedisBackend.layerConfig({
  batchSize: Config.Int("CACHE_BATCH_SIZE").pipe(Config.withDefault(500)),
  commandTimeout: Config.Duration("CACHE_COMMAND_TIMEOUT").pipe(Config.withDefault("1 second"))
})
const lockLayer = NodeRedisLock.layerConfig({
  leaseTtl: Config.Duration("CACHE_LOCK_LEASE").pipe(Config.withDefault("10 seconds")),
  onLost: Config.Literals(["ignore", "log", "fail"], "CACHE_LOCK_ON_LOST").pipe(Config.withDefault("log" as const))
})

/** Both Layers over one client, their options from `env`. */
const build = (env: Record<string, string>) =>
  Layer.build(
    Layer.mergeAll(backendLayer, lockLayer).pipe(
      Layer.provideMerge(nodeRedis(url)),
      Layer.provide(ConfigProvider.layer(ConfigProvider.fromUnknown(env)))
    )
  )

describe("layerConfig", () => {
  it.live("reads the options from Config: the lease's PX is CACHE_LOCK_LEASE; defaults apply when unset", () =>
    Effect.gen(function*() {
      const context = yield* build({ CACHE_LOCK_LEASE: "30 seconds", CACHE_BATCH_SIZE: "2" })
      const node = Context.get(context, NodeRedis.NodeRedis)
      yield* Context.get(context, Lock).acquire(`${unique}:k`, "1 second")
      const pttl = yield* node.use((c) => c.pTTL(`_lock:${unique}:k`))
      assert.isTrue(pttl > 25_000 && pttl <= 30_000, `PTTL ${pttl}`)
      const backend = Context.get(context, Backend)
      yield* backend.setMany([1, 2, 3].map((i) => ({ key: `${unique}:${i}`, value: new Uint8Array([i]) })))
      assert.strictEqual((yield* backend.getMany([1, 2, 3].map((i) => `${unique}:${i}`))).length, 3)
      yield* Effect.scoped(build({}))
    }).pipe(Effect.scoped))

  it.live("a bad value is an InvalidOptionError or a ConfigError naming it, when the Layer is built", () =>
    Effect.gen(function*() {
      const invalid = yield* Effect.flip(Effect.scoped(build({ CACHE_BATCH_SIZE: "0" })))
      assert.strictEqual(invalid._tag, "InvalidOptionError")
      const unparsable = yield* Effect.flip(Effect.scoped(build({ CACHE_LOCK_ON_LOST: "panic" })))
      assert.notStrictEqual(unparsable._tag, "InvalidOptionError")
      assert.include(String(unparsable), "CACHE_LOCK_ON_LOST")
    }))
})
