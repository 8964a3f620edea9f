/**
 * Options given as `undefined` (which `?: T | undefined` lets a caller with
 * exactOptionalPropertyTypes write, e.g. from a missing configuration value)
 * mean the default, exactly as a left-out option does: HashBackend, its
 * per-entry expiry and Bucketing.byId resolve and behave the same with every
 * optional option `undefined` as with none. A resolver that spread the options
 * over its defaults (`{ ...defaults, ...options }`) would fail these.
 */
import { assert, describe, it } from "@effect/vitest"
import { Backend, CacheKey } from "@dogpile-effect/core"
import { Bucketing, EntryExpiry, HashBackend } from "@dogpile-effect/hstore"
import { RedisClient } from "@dogpile-effect/redis"
import { Context, Effect, Layer, Option } from "effect"
import { inject } from "vitest"
import * as Settings from "../src/Settings.ts"

const url = inject("redisUrl")
const unique = `hstore-undefined:${process.pid}:${Date.now().toString(36)}`

const hashUndefined = {
  hashExpiry: undefined,
  entryExpiry: undefined,
  overflowAbove: undefined,
  batchSize: undefined,
  bucketing: undefined
} satisfies HashBackend.HashBackendOptions

const expiryUndefined = {
  maxAge: undefined,
  envelope: undefined,
  batchSize: undefined,
  queueCapacity: undefined,
  sweeper: undefined
} satisfies EntryExpiry.EntryExpiryOptions

const ids = ["user:0", "user:7", "user:99", "user:100", "user:123456", "order:42", "plain", "user:"]

describe("undefined options are the defaults (hstore)", () => {
  it.effect("HashBackend settings: every option undefined resolves like none given", () =>
    Effect.gen(function*() {
      assert.deepStrictEqual(yield* Settings.resolve(hashUndefined), yield* Settings.resolve({}))
      const given = yield* Settings.resolve({ batchSize: undefined })
      assert.strictEqual(given.batchSize, 500)
    }))

  it.effect("EntryExpiry: every option undefined resolves like none given, alone and inside HashBackend options", () =>
    Effect.gen(function*() {
      const given = yield* EntryExpiry.resolve(expiryUndefined)
      const absent = yield* EntryExpiry.resolve({})
      assert.deepStrictEqual(given, absent)
      assert.deepStrictEqual(
        { batchSize: given.batchSize, queueCapacity: given.queueCapacity, sweeper: given.sweeper },
        { batchSize: 100, queueCapacity: 10_000, sweeper: "background" }
      )
      const withAge = yield* Settings.resolve({ entryExpiry: { ...expiryUndefined, maxAge: "1 hour" } })
      const withAgeOnly = yield* Settings.resolve({ entryExpiry: { maxAge: "1 hour" } })
      assert.deepStrictEqual(withAge, withAgeOnly)
    }))

  it("Bucketing.byId with size undefined buckets like the default size", () => {
    const given = Bucketing.byId({ size: undefined })
    const absent = Bucketing.byId()
    const hundred = Bucketing.byId({ size: Bucketing.DEFAULT_BUCKET_SIZE })
    for (const id of ids) {
      assert.deepStrictEqual(given(id), absent(id), id)
      assert.deepStrictEqual(given(id), hundred(id), id)
    }
  })

  it.effect("HashBackend.layer with every option undefined stores a large value in an overflow key, as the default does", () =>
    Effect.gen(function*() {
      const build = (options: HashBackend.HashBackendOptions) =>
        Effect.map(
          Layer.build(Layer.provideMerge(HashBackend.layer(options), RedisClient.layer({ url }))),
          (ctx) => ({ backend: Context.get(ctx, Backend), redis: Context.get(ctx, RedisClient.RedisClient) })
        )
      const { backend: givenBackend, redis } = yield* build(hashUndefined)
      const { backend: absentBackend } = yield* build({})
      const big = new Uint8Array(4096).fill(7)
      const small = new Uint8Array([1, 2, 3])
      const stored = (backend: Backend["Service"], prefix: string) =>
        Effect.gen(function*() {
          yield* backend.set(CacheKey.hash(`${prefix}:h`, "big"), big)
          yield* backend.set(CacheKey.hash(`${prefix}:h`, "small"), small)
          const read = yield* backend.getMany([CacheKey.hash(`${prefix}:h`, "big"), CacheKey.hash(`${prefix}:h`, "small")])
          assert.deepStrictEqual(read.map(Option.getOrUndefined), [big, small])
          const keys = yield* redis.use("keys", (c) => c.keys(`*${prefix}*`))
          return keys.length
        })
      const given = yield* stored(givenBackend, `${unique}:given`)
      const absent = yield* stored(absentBackend, `${unique}:absent`)
      assert.strictEqual(given, absent)
      assert.strictEqual(given, 2)
    }).pipe(Effect.scoped))
})

