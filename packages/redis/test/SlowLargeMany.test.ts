/**
 * 10,000 keys in one `getOrCreateMany` over RedisBackend + RedisLock, on a
 * redis-server of the test's own (so `INFO commandstats` counts only this
 * test's commands).
 *
 * Counted: creator calls and the keys each receives, values returned, and the
 * commands Redis ran per kind (`CONFIG RESETSTAT` before each step). No
 * wall-clock bound.
 */
import { assert, describe, it } from "@effect/vitest"
import { Codec, Region } from "@dogpile-effect/core"
import { RedisBackend, RedisClient, RedisLock } from "@dogpile-effect/redis"
import { Effect, Layer, Logger } from "effect"
import { startRedisServer } from "../../../test-support/redis-server.ts"

const N = 10_000

const servicesOn = (url: string) =>
  Layer.mergeAll(RedisBackend.layer(), RedisLock.layer(), Codec.layerJson).pipe(
    Layer.provideMerge(RedisClient.layer({ url, commandTimeout: "30 seconds" }))
  )

/** `cmdstat_<name>:calls=N` of `INFO commandstats`, per command (lower case). */
const commandCounts = Effect.gen(function*() {
  const redis = yield* RedisClient.RedisClient
  const info = yield* redis.use("info", (c) => c.info("commandstats"))
  const counts: Record<string, number> = {}
  for (const match of info.matchAll(/cmdstat_([a-z_|]+):calls=(\d+)/g)) counts[match[1] as string] = Number(match[2])
  delete counts["info"]
  delete counts["config|resetstat"]
  return counts
})

const resetStats = Effect.gen(function*() {
  const redis = yield* RedisClient.RedisClient
  yield* redis.use("config", (c) => c.config("RESETSTAT"))
})

const total = (counts: Record<string, number>) => Object.values(counts).reduce((a, b) => a + b, 0)

describe("10,000 keys in one getOrCreateMany", () => {
  it.live("cold: one creator call for all 10,000 keys; warm: no creator call, only MGETs of 500 keys; half warm: one call for the other half", () =>
    Effect.gen(function*() {
      const server = yield* Effect.acquireRelease(Effect.promise(() => startRedisServer()), (s) => Effect.promise(() => s.dispose()))
      yield* Effect.gen(function*() {
        const region = yield* Region.make<string>({ name: "many10k", expiration: "10 minutes", lockTimeout: "60 seconds" })
        const keys = Array.from({ length: N }, (_, i) => `k${i}`)
        const calls: Array<number> = []
        const creator = (asked: ReadonlyArray<unknown>) =>
          Effect.sync(() => {
            calls.push(asked.length)
            return asked.map((k) => `v:${String(k)}`)
          })

        // Cold: every key missing.
        yield* resetStats
        const cold = yield* region.getOrCreateMany(keys, creator)
        const coldCounts = yield* commandCounts
        assert.deepStrictEqual(calls, [N])
        assert.strictEqual(cold.length, N)
        assert.strictEqual(cold.filter((v, i) => v === `v:k${i}`).length, N)
        // Reads go in MGETs of 500 (the read, and the re-read under the locks). Per key: the lock script
        // (EVALSHA: GET, SET NX inside), the value (SET, pipelined), the release script (EVALSHA: GET, DEL,
        // PUBLISH inside); commands run inside scripts count in commandstats too: up to 8 per key,
        // 76,454 and 79,908 in two runs at load ~20. Bounded at 9 per key: a retry or poll loop per key would break it.
        assert.isAtMost(coldCounts["mget"] ?? 0, 2 * (N / 500) + 4, JSON.stringify(coldCounts))
        assert.isAtMost(total(coldCounts), 9 * N, JSON.stringify(coldCounts))

        // Warm: every key fresh.
        yield* resetStats
        const warm = yield* region.getOrCreateMany(keys, creator)
        const warmCounts = yield* commandCounts
        assert.deepStrictEqual(calls, [N])
        assert.strictEqual(warm.filter((v, i) => v === `v:k${i}`).length, N)
        // Only MGETs: 20 of 500 keys, plus at most one for the region's invalidation marks (re-read at most once a second).
        assert.deepStrictEqual(Object.keys(warmCounts), ["mget"])
        assert.isAtLeast(warmCounts["mget"] ?? 0, N / 500)
        assert.isAtMost(warmCounts["mget"] ?? 0, N / 500 + 1)

        // Half warm: the odd keys deleted (one DEL per 500), then one creator call for exactly those.
        yield* region.deleteMany(keys.filter((_, i) => i % 2 === 1))
        yield* resetStats
        const half = yield* region.getOrCreateMany(keys, creator)
        const halfCounts = yield* commandCounts
        assert.deepStrictEqual(calls, [N, N / 2])
        assert.strictEqual(half.filter((v, i) => v === `v:k${i}`).length, N)
        assert.isAtMost(halfCounts["mget"] ?? 0, 2 * (N / 500) + 4, JSON.stringify(halfCounts))
        assert.isAtMost(total(halfCounts), 9 * (N / 2) + N / 500 + 4, JSON.stringify(halfCounts))
        console.log(`10,000 keys: cold ${JSON.stringify(coldCounts)}; warm ${JSON.stringify(warmCounts)}; half ${JSON.stringify(halfCounts)}`)
      }).pipe(Effect.provide(servicesOn(server.url)))
    }).pipe(Effect.scoped, Effect.provide(Logger.layer([]))), 180_000)
})
