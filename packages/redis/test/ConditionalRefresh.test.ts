/**
 * Conditional refresh (issue 26, item 2) through RedisBackend + RedisLock:
 * core's suite (previous entry handed over, "not modified" renews without
 * encoding, soft invalidations hand `None`, 200 callers -> 1 renewal,
 * batches, function wrappers) against the shared test server; then, on a
 * private server whose counters no other test moves, what a renewal sends to
 * Redis: one SET of the same number of bytes, the payload byte for byte the
 * one stored before (only the header's creation time differs), a new TTL.
 */
import { assert, describe, it } from "@effect/vitest"
import { Codec, Conditional, Lock, Region } from "@dogpile-effect/core"
import { RedisBackend, RedisClient, RedisLock } from "@dogpile-effect/redis"
import { Effect, Layer, Option, Schema } from "effect"
import { TestClock } from "effect/testing"
import { inject } from "vitest"
import { startRedisServer } from "../../../test-support/redis-server.ts"
import { conditionalRefresh } from "../../core/test/conditionalRefresh.ts"

const url = inject("redisUrl")

conditionalRefresh({
  name: "redis",
  layer: () => Layer.mergeAll(RedisBackend.layer(), RedisLock.layer()).pipe(Layer.provide(RedisClient.layer({ url })))
})

/** `cmdstat_<command>` calls and the bytes of the only data key, read with `INFO` / `GET` on the private server. */
const observe = Effect.gen(function*() {
  const redis = yield* RedisClient.RedisClient
  const info = yield* redis.use("info", (c) => c.info("commandstats"))
  const sets = Number(/cmdstat_set:calls=(\d+)/.exec(info)?.[1] ?? 0)
  const keys = (yield* redis.use("keys", (c) => c.keys("*"))).filter((k) => !k.startsWith("__dogpile__") && !k.startsWith("noise"))
  assert.strictEqual(keys.length, 1)
  const value = yield* redis.use("get", (c) => c.getBuffer(keys[0]!))
  const pttl = yield* redis.use("pttl", (c) => c.pttl(keys[0]!))
  return { sets, value: value === null ? new Uint8Array() : new Uint8Array(value), pttl }
})

describe("conditional refresh: what a renewal sends to Redis", () => {
  it.effect("one SET of the same size; the payload bytes unchanged (other large replies read meanwhile); encodes 1 in all", () =>
    Effect.gen(function*() {
      const server = yield* Effect.acquireRelease(Effect.promise(() => startRedisServer()), (s) => Effect.promise(() => s.dispose()))
      yield* Effect.gen(function*() {
        let encodes = 0
        const codec = { ...Codec.json, name: "counting", encode: (v: unknown) => Effect.suspend(() => (encodes++, Codec.json.encode(v))) }
        const r = yield* Region.make({ name: "cr", schema: Schema.String, expiration: "1 minute" }).pipe(Effect.provideService(Codec, codec))
        const body = "y".repeat(100_000)
        // While the source is asked, other large replies arrive (a Redis parser may reuse its buffer for them):
        // the renewal must still write the stored payload, not whatever that buffer holds by then.
        const noise = yield* Region.make({ name: "noise", schema: Schema.String, namespace: false }).pipe(Effect.provideService(Codec, Codec.json))
        const creator = Conditional.make((previous: Option.Option<Conditional.Previous<string>>) =>
          Option.isSome(previous)
            ? Effect.as(Effect.forEach([1, 2, 3], (i) => noise.get(`noise${i}`)), Conditional.notModified)
            : Effect.succeed(Conditional.fresh(body, { validator: "\"v1\"" })))
        yield* r.getOrCreate("doc", creator)
        const before = yield* observe
        yield* noise.setMany([1, 2, 3].map((i) => [`noise${i}`, String(i).repeat(120_000)] as const))
        yield* TestClock.adjust("2 minutes")
        assert.strictEqual(yield* r.getOrCreate("doc", creator), body)
        const after = yield* observe
        assert.strictEqual(encodes, 1)
        assert.strictEqual(after.sets - before.sets, 1 + 3) // the renewal, and the noise's 3 SETs
        assert.strictEqual(after.value.length, before.value.length)
        const payload = (yield* Codec.json.encode(body)).length
        const tail = (b: Uint8Array) => Buffer.from(b.subarray(b.length - payload))
        assert.strictEqual(Buffer.compare(tail(after.value), tail(before.value)), 0)
        assert.notStrictEqual(Buffer.compare(Buffer.from(after.value), Buffer.from(before.value)), 0)
        assert.isAbove(after.pttl, 0)
        console.log(`renewal: 1 SET of ${after.value.length} bytes (header ${after.value.length - payload} B, payload ${payload} B unchanged)`)
      }).pipe(
        Effect.provide(Layer.mergeAll(RedisBackend.layer(), Lock.layerLocal).pipe(Layer.provideMerge(RedisClient.layer({ url: server.url }))))
      )
    }).pipe(Effect.scoped))
})
