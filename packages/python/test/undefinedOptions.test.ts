/**
 * Options given as `undefined` (which `?: T | undefined` lets a caller with
 * exactOptionalPropertyTypes write, e.g. from a missing configuration value)
 * mean the default, exactly as a left-out option does: each preset built with
 * every optional option `undefined` gives the same region options, writes the
 * same envelope (dogpile's value_version 2) and names its locks as with none.
 * A preset that spread the options over its defaults would fail these.
 */
import { assert, describe, it } from "@effect/vitest"
import { Codec, Envelope, Lock, Region } from "@dogpile-effect/core"
import { LockNaming, Presets, Purge } from "@dogpile-effect/python"
import { RedisClient } from "@dogpile-effect/redis"
import { Context, Effect, Layer, Option } from "effect"
import { inject } from "vitest"

const url = inject("redisUrl")
const unique = `python-undefined:${process.pid}:${Date.now().toString(36)}`

const common = { version: undefined, lock: undefined, redisExpirationTime: undefined, lockPrefix: undefined } as const
const lockUndefined = { name: undefined, leaseTtl: undefined, ttl: undefined, renewEvery: undefined, onLost: undefined } as const

/** What a built preset writes for `value` at `createdAt`, and whether it locks `key` in Redis key `lockKey`. */
const observe = (preset: Presets.Preset, key: string, lockKey: string) =>
  Effect.gen(function*() {
    const ctx = yield* Layer.build(Layer.provideMerge(preset.layer, RedisClient.layer({ url })))
    const codec = Context.get(ctx, Codec)
    const envelope = Context.get(ctx, Envelope.CurrentEnvelope)
    const redis = Context.get(ctx, RedisClient.RedisClient)
    const bytes = yield* envelope.encode({ id: 1, name: "a" }, 1_700_000_000_000, codec)
    const locked = yield* Effect.scoped(Effect.gen(function*() {
      const lease = yield* Context.get(ctx, Lock).tryAcquire(key)
      assert.isTrue(Option.isSome(lease))
      return yield* redis.use("exists", (c) => c.exists(lockKey))
    }))
    return { text: new TextDecoder().decode(bytes), locked }
  }).pipe(Effect.scoped)

describe("undefined options are the defaults (python)", () => {
  it("Presets: region options with redisExpirationTime undefined store without a TTL", () => {
    for (
      const preset of [
        Presets.dogpileRedis({ format: "json", ...common }),
        Presets.redisAdvanced({ format: "json", ...common })
      ]
    ) {
      assert.deepStrictEqual(preset.region, { namespace: false, storeTtl: "never" })
    }
  })

  it.live("dogpileRedis with every option undefined writes and locks like the defaults", () =>
    Effect.gen(function*() {
      const key = `${unique}:dogpile`
      const given = yield* observe(
        Presets.dogpileRedis({ format: "json", ...common, lock: lockUndefined }),
        key,
        LockNaming.dogpileRedis(key)
      )
      const absent = yield* observe(Presets.dogpileRedis({ format: "json" }), key, LockNaming.dogpileRedis(key))
      assert.deepStrictEqual(given, absent)
      assert.deepStrictEqual(given.locked, 1)
      assert.match(given.text, /"v": 2/)
    }))

  it.live("redisAdvanced and redisAdvancedHstore with every option undefined lock on _lok.<key> like the defaults", () =>
    Effect.gen(function*() {
      const key = `${unique}:advanced`
      const lockKey = LockNaming.redisAdvanced()(key)
      const given = yield* observe(Presets.redisAdvanced({ format: "msgpack", ...common }), key, lockKey)
      const absent = yield* observe(Presets.redisAdvanced({ format: "msgpack" }), key, lockKey)
      assert.deepStrictEqual(given, absent)
      assert.strictEqual(given.locked, 1)
      const hstore = { format: "json", redisExpirationTime: "1 hour" } as const
      const hstoreGiven = yield* observe(
        Presets.redisAdvancedHstore({
          ...hstore,
          version: undefined,
          lock: undefined,
          lockPrefix: undefined,
          redisExpirationTimeHash: undefined,
          hashExpiry: undefined
        }),
        key,
        lockKey
      )
      assert.deepStrictEqual(hstoreGiven, yield* observe(Presets.redisAdvancedHstore(hstore), key, lockKey))
    }))

  it.live("redisAdvancedHstore refuses redisExpirationTime undefined as it refuses it absent", () =>
    Effect.gen(function*() {
      const build = (preset: Presets.Preset) =>
        Effect.flip(Effect.scoped(Layer.build(preset.layer.pipe(Layer.provide(RedisClient.layer({ url }))))))
      const given = yield* build(Presets.redisAdvancedHstore({ format: "json", redisExpirationTime: undefined }))
      const absent = yield* build(Presets.redisAdvancedHstore({ format: "json" }))
      assert.deepStrictEqual(
        [given._tag, (given as { option?: string }).option],
        [absent._tag, (absent as { option?: string }).option]
      )
    }))

  it.live("Purge.hardInvalidate with batch and maxKeys undefined removes every matched key like the defaults", () =>
    Effect.gen(function*() {
      const preset = Presets.dogpileRedis({ format: "json" })
      const ctx = yield* Layer.build(Layer.provideMerge(preset.layer, RedisClient.layer({ url })))
      const redis = Context.get(ctx, RedisClient.RedisClient)
      const region = yield* Region.make<string>({ ...preset.region, name: "purge" }).pipe(Effect.provideContext(ctx))
      for (let i = 0; i < 30; i++) yield* redis.use("set", (c) => c.set(`${unique}:purge:${i}`, "x"))
      const result = yield* Purge.hardInvalidate(region, { match: [`${unique}:purge:*`], batch: undefined, maxKeys: undefined })
        .pipe(Effect.provideContext(ctx))
      assert.strictEqual(result.removed, 30)
      assert.isTrue(result.complete)
      assert.strictEqual((yield* redis.use("keys", (c) => c.keys(`${unique}:purge:*`))).length, 0)
    }).pipe(Effect.scoped))
})
