/**
 * Memory: 10,000 small integer entries as plain keys against the same entries
 * as fields of hash buckets (automatic bucketing, 100 per bucket), on a fresh
 * dedicated redis-server, measured as `INFO memory` used_memory deltas.
 */
import { assert, describe, it } from "@effect/vitest"
import { Backend, type BackendEntry, CacheKey } from "@dogpile-effect/core"
import { Bucketing, HashBackend } from "@dogpile-effect/hstore"
import { RedisClient } from "@dogpile-effect/redis"
import { Effect, Layer } from "effect"
import { perFile } from "../../../test-support/perFile.ts"
import { startRedisServer } from "../../../test-support/redis-server.ts"
import { usedMemory } from "./serverInfo.ts"

const server = perFile(() => startRedisServer())

const N = 10_000

// beforeAll has started the server before the test runs.
const client = () => RedisClient.layer({ url: server().url })

/** Writes `entries` in batches of 1,000. */
const writeAll = (entries: ReadonlyArray<BackendEntry>) =>
  Effect.gen(function*() {
    const backend = yield* Backend
    for (let i = 0; i < entries.length; i += 1_000) yield* backend.setMany(entries.slice(i, i + 1_000))
  })

/**
 * used_memory after writing `entries` minus before, on an emptied server. The
 * same write first (then FLUSHALL) keeps one-off costs — the scripts' cache,
 * what the server allocates on its first fill and keeps after FLUSHALL — out
 * of the delta: after a warm-up of only 100 entries, Redis 7.4.1 charged the
 * measured hash write about 8 B/entry more than a second, identical write
 * (7.0: about 1 B).
 */
const footprint = (entries: ReadonlyArray<BackendEntry>) =>
  Effect.gen(function*() {
    const redis = yield* RedisClient.RedisClient
    yield* writeAll(entries)
    yield* redis.use("flushall", (c) => c.flushall("SYNC"))
    const before = yield* usedMemory
    yield* writeAll(entries)
    const after = yield* usedMemory
    const keys = yield* redis.use("dbsize", (c) => c.dbsize())
    assert.strictEqual(keys, entries.every((e) => typeof e.key === "string") ? N : N / 100)
    return after - before
  })

describe("memory", () => {
  it.live(`hash buckets use < 25% of the plain-key memory for ${N} small integer entries`, () =>
    Effect.gen(function*() {
      const bucket = Bucketing.byId()
      const value = (i: number) => new TextEncoder().encode(String(i % 1000))
      const ids = Array.from({ length: N }, (_, i) => `user:${1_000_000 + i}`)
      const plain = yield* footprint(ids.map((id, i) => ({ key: id, value: value(i) })))
      const hashed = yield* footprint(ids.map((id, i) => ({ key: bucket(id), value: value(i) })))
      const ratio = hashed / plain
      yield* Effect.logInfo(
        `plain ${(plain / N).toFixed(1)} B/entry, hash ${(hashed / N).toFixed(1)} B/entry, ratio ${(ratio * 100).toFixed(1)}%`
      )
      assert.isTrue(ids.every((id) => CacheKey.isHashKey(bucket(id))))
      assert.isTrue(plain > N * 40, `plain keys cost ${plain} bytes: the measurement sees them`)
      assert.isBelow(ratio, 0.25)
    }).pipe(
      Effect.provide(HashBackend.layer().pipe(Layer.provideMerge(client()))),
      Effect.scoped
    ))
})
