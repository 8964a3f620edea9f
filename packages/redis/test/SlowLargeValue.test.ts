/**
 * A 50 MB value over RedisBackend + RedisLock on a real redis-server.
 *
 * - The default codec (`Codec.layerJson`) promises a 16 MiB limit
 *   (docs/codecs.md): `getOrCreate` and `set` of a 50 MB value are refused
 *   with an `EncodeError` naming the limit, nothing is written, the creator
 *   ran once and `get` finds nothing.
 * - A codec without that limit (raw bytes, here a test codec) stores the
 *   50 MB value through `getOrCreate` and `set`; `get` reads it back byte for
 *   byte; the process RSS grows by less than 10 × the value (no unbounded copies).
 *
 * Counts and byte comparisons only; the client's `commandTimeout` is raised
 * so a 50 MB round trip on a loaded machine is not cut short.
 */
import { assert, describe, it } from "@effect/vitest"
import { Codec, Region } from "@dogpile-effect/core"
import { RedisBackend, RedisClient, RedisLock } from "@dogpile-effect/redis"
import { Cause, Effect, Exit, Layer, Logger, Option } from "effect"
import { inject } from "vitest"

const url = inject("redisUrl")
const unique = `slowlarge-${process.pid}-${Date.now().toString(36)}`
const SIZE = 50 * 1024 * 1024

const clientLayer = RedisClient.layer({ url, commandTimeout: "60 seconds" })
const servicesWith = (codec: Layer.Layer<Codec>) =>
  Layer.mergeAll(RedisBackend.layer(), RedisLock.layer(), codec).pipe(Layer.provideMerge(clientLayer))

/** A codec that stores a `Uint8Array` value as its bytes (no size limit of its own). */
const bytesCodec = Codec.layer({
  name: "test-bytes",
  encode: (value) =>
    value instanceof Uint8Array ? Effect.succeed(value) : Effect.die(new Error("test-bytes takes Uint8Array values only")),
  decode: (bytes) => Effect.succeed(bytes)
})

const failureOf = (exit: Exit.Exit<unknown, unknown>) =>
  Exit.isFailure(exit) ? Option.getOrUndefined(Cause.findErrorOption(exit.cause)) as { _tag?: string; reason?: string } | undefined : undefined

/** Bytes of the region's keys in Redis (namespace `ns`), by `STRLEN`. */
const storedBytes = (ns: string) =>
  Effect.gen(function*() {
    const redis = yield* RedisClient.RedisClient
    const keys = yield* redis.use("keys", (c) => c.keys(`${ns}:*`))
    const lengths = yield* Effect.forEach(keys, (k) => redis.use("strlen", (c) => c.strlen(k)))
    return lengths.reduce((a, b) => a + b, 0)
  })

const cleanup = (ns: string) =>
  Effect.gen(function*() {
    const redis = yield* RedisClient.RedisClient
    const keys = yield* redis.use("keys", (c) => c.keys(`${ns}:*`))
    if (keys.length > 0) yield* redis.use("del", (c) => c.del(...keys))
  })

describe("a 50 MB value", () => {
  it.live("the default JSON codec refuses it with an EncodeError naming its 16 MiB limit; nothing is written", () =>
    Effect.gen(function*() {
      const ns = `${unique}-json`
      const region = yield* Region.make<string>({ name: ns, expiration: "1 minute" })
      const big = "x".repeat(SIZE)
      let creatorRuns = 0
      const created = yield* Effect.exit(region.getOrCreate("big", Effect.sync(() => {
        creatorRuns++
        return big
      })))
      const refused = failureOf(created)
      assert.strictEqual(refused?._tag, "EncodeError")
      assert.include(refused?.reason ?? "", String(16 * 1024 * 1024))
      assert.strictEqual(creatorRuns, 1)
      const set = failureOf(yield* Effect.exit(region.set("big2", big)))
      assert.strictEqual(set?._tag, "EncodeError")
      assert.include(set?.reason ?? "", String(16 * 1024 * 1024))
      assert.isTrue(Option.isNone(yield* region.get("big")))
      assert.isTrue(Option.isNone(yield* region.get("big2")))
      assert.strictEqual(yield* storedBytes(ns), 0)
      // The lock was released: a small value for the same key is created at once.
      assert.strictEqual(yield* region.getOrCreate("big", Effect.succeed("small")), "small")
      yield* cleanup(ns)
    }).pipe(Effect.scoped, Effect.provide(servicesWith(Codec.layerJson)), Effect.provide(Logger.layer([]))), 120_000)

  it.live("a codec without a size limit stores it through getOrCreate and set and reads it back intact; RSS grows < 10x", () =>
    Effect.gen(function*() {
      const ns = `${unique}-bytes`
      const region = yield* Region.make<Uint8Array>({ name: ns, expiration: "1 minute" })
      const rssBefore = process.memoryUsage().rss
      const big = new Uint8Array(SIZE)
      for (let i = 0; i < SIZE; i += 4096) big[i] = (i / 4096) % 251
      big[SIZE - 1] = 7
      let creatorRuns = 0
      const created = yield* region.getOrCreate("big", Effect.sync(() => {
        creatorRuns++
        return big
      }))
      assert.strictEqual(creatorRuns, 1)
      assert.strictEqual(created.length, SIZE)
      const read = yield* region.get("big")
      assert.isTrue(Option.isSome(read))
      const back = Option.getOrThrow(read)
      assert.strictEqual(back.length, SIZE)
      assert.isTrue(Buffer.from(back.buffer, back.byteOffset, back.byteLength).equals(Buffer.from(big.buffer)))
      // A second getOrCreate is a hit: no creator run.
      const again = yield* region.getOrCreate("big", Effect.sync(() => {
        creatorRuns++
        return new Uint8Array(1)
      }))
      assert.strictEqual(creatorRuns, 1)
      assert.strictEqual(again.length, SIZE)
      yield* region.set("big2", big)
      const setBack = Option.getOrThrow(yield* region.get("big2"))
      assert.isTrue(Buffer.from(setBack.buffer, setBack.byteOffset, setBack.byteLength).equals(Buffer.from(big.buffer)))
      // Two stored copies in Redis, each the value plus its envelope's header.
      const bytes = yield* storedBytes(ns)
      assert.isAtLeast(bytes, 2 * SIZE)
      assert.isBelow(bytes, 2 * SIZE + 4096)
      const growth = process.memoryUsage().rss - rssBefore
      assert.isBelow(growth, 10 * SIZE, `RSS grew by ${(growth / 1e6).toFixed(0)} MB`)
      yield* cleanup(ns)
    }).pipe(Effect.scoped, Effect.provide(servicesWith(bytesCodec)), Effect.provide(Logger.layer([]))), 120_000)
})
