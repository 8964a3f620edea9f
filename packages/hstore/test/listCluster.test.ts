/**
 * ListBackend on a local 3-master Redis Cluster: batches over lists and plain
 * keys in many slots are grouped by slot (an ungrouped MGET or pipeline would
 * fail with CROSSSLOT or MOVED), and every script call is single-key.
 */
import { assert, describe, it } from "@effect/vitest"
import { Backend } from "@dogpile-effect/core"
import { HashExpiry, ListBackend, ListLayout } from "@dogpile-effect/hstore"
import { KeySlot, RedisClient } from "@dogpile-effect/redis"
import { Effect, Layer } from "effect"
import { perFile } from "../../../test-support/perFile.ts"
import { startRedisCluster } from "../../../test-support/redis-server.ts"
import { show, text } from "./bytes.ts"

const cluster = perFile(() => startRedisCluster())

const layer = () =>
  ListBackend.layer({ size: 100, listExpiry: HashExpiry.onCreate("1 minute") }).pipe(
    // beforeAll has started the cluster before any test builds a Layer.
    Layer.provideMerge(RedisClient.layer({ nodes: cluster().nodes }))
  )

describe("ListBackend on a 3-master cluster", () => {
  it.live("many-key forms over 40 lists and 40 plain keys in many slots keep order and duplicates; single gets batch per slot", () =>
    Effect.gen(function*() {
      const backend = yield* Backend
      const redis = yield* RedisClient.RedisClient
      assert.isTrue(redis.isCluster)
      const tag = `lc-${process.pid}-${Date.now()}`
      // Per list: 3 dense positions (read with one LRANGE) and 1 far one (LINDEX).
      const listed = Array.from({ length: 40 }, (_, b) => [0, 1, 2, 90].map((i) => `${tag}:u${b}:${i}`)).flat()
      const plain = Array.from({ length: 40 }, (_, i) => `${tag}:p${i}x`)
      const lists = [...new Set(listed.map((key) => ListLayout.locate(100, key)!.list))]
      assert.strictEqual(lists.length, 40)
      const slots = new Set([...lists.map(KeySlot.slot), ...plain.map(KeySlot.slot)])
      assert.isAbove(slots.size, 60, "the keys spread over many slots")
      const all = [...listed, ...plain]
      yield* backend.setMany(all.map((key) => ({ key, value: text(`v:${key}`) })))
      const query = [...all, ...all.slice(0, 10), `${tag}:u0:50`, `${tag}:none`]
      assert.deepStrictEqual(show(yield* backend.getMany(query)), [
        ...all.map((key) => `v:${key}`),
        ...all.slice(0, 10).map((key) => `v:${key}`),
        null,
        null
      ])
      const singles = yield* Effect.forEach(all, (key) => backend.get(key), { concurrency: "unbounded" })
      assert.deepStrictEqual(show(singles), all.map((key) => `v:${key}`))
      for (const list of lists) {
        const pttl = yield* redis.use("pttl", (c) => c.pttl(list))
        assert.isTrue(pttl > 0 && pttl <= 60_000, `the single-key script set the TTL of ${list}: ${pttl}`)
      }
      yield* backend.deleteMany([...listed.filter((key) => key.endsWith(":90")), ...plain.slice(0, 20)])
      assert.deepStrictEqual(
        show(yield* backend.getMany(all)),
        all.map((key, i) => (key.endsWith(":90") || (i >= listed.length && i < listed.length + 20) ? null : `v:${key}`))
      )
      const lengths = yield* Effect.forEach(lists, (list) => redis.use("llen", (c) => c.llen(list)))
      assert.deepStrictEqual(lengths, lists.map(() => 3), "the emptied far positions were popped")
    }).pipe(Effect.provide(layer())), 60_000)
})
