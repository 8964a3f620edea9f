/**
 * Hostile key space (#11): a bucket name holding another Redis type fails only
 * its own keys; the write script receives every key it touches in KEYS.
 */
import { assert, describe, it } from "@effect/vitest"
import { Backend, BackendError, CacheKey } from "@dogpile-effect/core"
import { HashBackend, HashMetrics } from "@dogpile-effect/hstore"
import * as HashScripts from "../src/HashScripts.ts"
import * as Overflow from "../src/Overflow.ts"
import { RedisClient } from "@dogpile-effect/redis"
import { Duration, Effect, Layer, Metric, Option } from "effect"
import { inject } from "vitest"

const url = inject("redisUrl")

const withBackend = <A, E>(body: Effect.Effect<A, E, Backend | RedisClient.RedisClient>) =>
  body.pipe(Effect.provide(HashBackend.layer().pipe(Layer.provideMerge(RedisClient.layer({ url })))), Effect.scoped)

const text = (s: string) => new TextEncoder().encode(s)
const show = (values: ReadonlyArray<Option.Option<Uint8Array>>) =>
  values.map((v) => (Option.isSome(v) ? new TextDecoder().decode(v.value) : null))
let counter = 0
const unique = (label: string) => `faults-${label}-${process.pid}-${counter++}`
const raw = <A>(operation: string, f: (c: RedisClient.RedisConnection) => Promise<A>) =>
  Effect.flatMap(RedisClient.RedisClient, (redis) => redis.use(operation, f))
const wrongTypeReads = Effect.map(Metric.value(HashMetrics.wrongTypeReads), (state) => state.count)

describe("a bucket key holding another Redis type", () => {
  it.live("a batch read answers that bucket's keys as misses and every other key as usual", () =>
    withBackend(Effect.gen(function*() {
      const backend = yield* Backend
      const [bad, good, plain] = [unique("bad"), unique("good"), unique("plain")]
      yield* backend.setMany([
        { key: CacheKey.hash(good, "f"), value: text("G") },
        { key: CacheKey.hash(good, "big"), value: text("x".repeat(100)) },
        { key: plain, value: text("P") }
      ])
      yield* raw("set", (c) => c.set(bad, "someone else's string"))
      const before = yield* wrongTypeReads
      const read = yield* backend.getMany([
        CacheKey.hash(bad, "f"),
        CacheKey.hash(good, "f"),
        plain,
        CacheKey.hash(bad, "g"),
        CacheKey.hash(good, "big")
      ])
      assert.deepStrictEqual(show(read), [null, "G", "P", null, "x".repeat(100)])
      assert.strictEqual((yield* wrongTypeReads) - before, 2)
      assert.deepStrictEqual(show([yield* backend.get(CacheKey.hash(bad, "f"))]), [null])
    })))

  it.live("a write to it fails with a BackendError naming the bucket and leaves the key as it was", () =>
    withBackend(Effect.gen(function*() {
      const backend = yield* Backend
      const [bad, good] = [unique("wbad"), unique("wgood")]
      yield* raw("rpush", (c) => c.rpush(bad, "a list"))
      const error = yield* Effect.flip(backend.setMany([
        { key: CacheKey.hash(good, "f"), value: text("G") },
        { key: CacheKey.hash(bad, "f"), value: text("x".repeat(100)) }
      ]))
      assert.instanceOf(error, BackendError)
      assert.include(error.message, bad)
      assert.include(error.message, "another Redis type")
      assert.strictEqual(yield* raw("type", (c) => c.type(bad)), "list")
      assert.strictEqual(yield* raw("exists", (c) => c.exists(HashBackend.overflowKey(bad, "f"))), 0)
      assert.deepStrictEqual(show([yield* backend.get(CacheKey.hash(good, "f"))]), ["G"], "the other bucket is written")
    })))

  it.live("of 101 concurrent single writes, only the one into that bucket fails; the other 100 are written", () =>
    withBackend(Effect.gen(function*() {
      const backend = yield* Backend
      const [bad, good] = [unique("cbad"), unique("cgood")]
      yield* raw("set", (c) => c.set(bad, "someone else's string"))
      const keys = [
        ...Array.from({ length: 50 }, (_, i) => CacheKey.hash(good, `f${i}`)),
        CacheKey.hash(bad, "f"),
        ...Array.from({ length: 50 }, (_, i) => `${good}:plain:${i}`)
      ]
      const errors = yield* Effect.forEach(
        keys,
        (key) => Effect.match(backend.set(key, text("v")), { onFailure: (error) => error, onSuccess: () => undefined }),
        { concurrency: "unbounded" }
      )
      assert.deepStrictEqual(errors.flatMap((error, i) => (error === undefined ? [] : [i])), [50])
      assert.instanceOf(errors[50], BackendError)
      assert.include(errors[50]?.message, bad)
      assert.strictEqual(yield* raw("get", (c) => c.get(bad)), "someone else's string")
      const read = show(yield* backend.getMany(keys.filter((_, i) => i !== 50)))
      assert.deepStrictEqual(read, keys.filter((_, i) => i !== 50).map(() => "v"))
    })))

  it.live("a delete succeeds for the other keys (the wrong-typed key holds none of its fields)", () =>
    withBackend(Effect.gen(function*() {
      const backend = yield* Backend
      const [bad, good] = [unique("dbad"), unique("dgood")]
      yield* backend.set(CacheKey.hash(good, "f"), text("G"))
      yield* raw("set", (c) => c.set(bad, "s"))
      yield* backend.deleteMany([CacheKey.hash(bad, "f"), CacheKey.hash(good, "f")])
      assert.deepStrictEqual(show([yield* backend.get(CacheKey.hash(good, "f"))]), [null])
      assert.strictEqual(yield* raw("get", (c) => c.get(bad)), "s")
    })))
})

describe("a plain key equal to a bucket's name (manual hash keys)", () => {
  it.live("writing it fails with a BackendError and leaves the bucket intact", () =>
    withBackend(Effect.gen(function*() {
      const backend = yield* Backend
      const name = unique("clash")
      yield* backend.set(CacheKey.hash(name, "f"), text("in the bucket"))
      const error = yield* Effect.flip(backend.set(name, text("plain"), Duration.seconds(10)))
      assert.instanceOf(error, BackendError)
      assert.include(error.message, "a bucket (a Redis hash) has that name")
      assert.strictEqual(yield* raw("type", (c) => c.type(name)), "hash")
      assert.deepStrictEqual(show([yield* backend.get(CacheKey.hash(name, "f"))]), ["in the bucket"])
    })))

  it.live("deleting it leaves the bucket; reading it is a miss; other plain keys are deleted", () =>
    withBackend(Effect.gen(function*() {
      const backend = yield* Backend
      const [name, other] = [unique("clashd"), unique("other")]
      yield* backend.set(CacheKey.hash(name, "f"), text("kept"))
      yield* backend.set(other, text("gone"))
      assert.deepStrictEqual(show([yield* backend.get(name)]), [null])
      yield* backend.deleteMany([name, other])
      assert.deepStrictEqual(show([yield* backend.get(CacheKey.hash(name, "f")), yield* backend.get(other)]), ["kept", null])
    })))
})

describe("the write script takes every key it touches from KEYS", () => {
  it("with overflow on, KEYS hold the bucket and the overflow key of each field; ARGV holds no key", () => {
    const bucket = "user:{}12345"
    const fields = ["1", "2"].map((field) => ({
      field,
      value: Buffer.from("v"),
      overflow: field === "2",
      fieldTtlMs: undefined,
      keyTtlMs: 1000
    }))
    const call = HashScripts.setFields.call({
      bucket,
      ttl: { mode: "entries", ms: 1000 },
      marker: Overflow.MARKER,
      overflowKeys: fields.map((f) => Overflow.key(bucket, f.field)),
      fieldTtl: false,
      ttlField: undefined,
      longestMs: 1000,
      fields
    })
    assert.deepStrictEqual(call.keys, [bucket, Overflow.key(bucket, "1"), Overflow.key(bucket, "2")])
    for (const arg of call.args) assert.notInclude(String(arg), "\u0000o:", "no key is built from ARGV")
  })

  it.live("shrinking an overflowed value deletes the overflow key passed in KEYS, for a bucket named with {}", () =>
    withBackend(Effect.gen(function*() {
      const backend = yield* Backend
      const bucket = `${unique("tag")}{}`
      const key = CacheKey.hash(bucket, "big")
      yield* backend.set(key, text("x".repeat(100)))
      assert.strictEqual(yield* raw("exists", (c) => c.exists(HashBackend.overflowKey(bucket, "big"))), 1)
      yield* backend.set(key, text("small"))
      assert.strictEqual(yield* raw("exists", (c) => c.exists(HashBackend.overflowKey(bucket, "big"))), 0)
      assert.deepStrictEqual(show([yield* backend.get(key)]), ["small"])
    })))
})
