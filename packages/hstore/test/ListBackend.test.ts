/**
 * ListBackend against a real redis-server: numbered keys as list positions
 * (layout, padding, deletes, the empty-value escape), plain keys, option
 * validation, list TTLs, reads batched per tick (counted with INFO
 * commandstats), per-entry expiry through a region's packed envelope under
 * TestClock, an injective key mapping, and its memory against hash buckets.
 */
import { assert, describe, it } from "@effect/vitest"
import { Backend, type BackendEntry, CacheKey, Codec, Envelope, Lock, Region } from "@dogpile-effect/core"
import { IntegerAware } from "@dogpile-effect/codecs"
import { Bucketing, HashBackend, HashExpiry, ListBackend, ListLayout } from "@dogpile-effect/hstore"
import { RedisClient } from "@dogpile-effect/redis"
import { Duration, Effect, Exit, Layer, Option } from "effect"
import { TestClock } from "effect/testing"
import { perFile } from "../../../test-support/perFile.ts"
import { startRedisServer } from "../../../test-support/redis-server.ts"
import { counted, usedMemory } from "./serverInfo.ts"

const server = perFile(() => startRedisServer())

// beforeAll has started the server before any test builds a Layer.
const client = () => RedisClient.layer({ url: server().url })

const withList = <A, E>(body: Effect.Effect<A, E, Backend | RedisClient.RedisClient>, options: ListBackend.ListBackendOptions = {}) =>
  body.pipe(Effect.provide(ListBackend.layer(options).pipe(Layer.provideMerge(client()))))

const text = (value: string) => new TextEncoder().encode(value)
const decoded = (value: Option.Option<Uint8Array>) => Option.map(value, (bytes) => new TextDecoder().decode(bytes))

let counter = 0
const unique = (name: string) => `${name}${counter++}x:`

const raw = <A>(name: string, f: (c: RedisClient.RedisConnection) => Promise<A>) =>
  Effect.flatMap(RedisClient.RedisClient, (redis) => redis.use(name, f))


describe("ListLayout", () => {
  it("places a numbered key at n mod size of prefix#⌊n / size⌋; other keys stay plain", () => {
    assert.deepStrictEqual(ListLayout.locate(1000, "users:1234567"), { list: "users:#1234", index: 567 })
    assert.deepStrictEqual(ListLayout.locate(1000, "7"), { list: "#0", index: 7 })
    assert.strictEqual(ListLayout.locate(1000, "settings"), undefined)
    assert.strictEqual(ListLayout.locate(1000, "users:007"), undefined)
    assert.strictEqual(ListLayout.locate(1000, `users:${2 ** 53 + 2}`), undefined)
  })

  it("is injective, and no list name is a key that stays plain", () => {
    const keys = [
      "a1", "a01", "a#1", "a#01", "a#0", "a#", "1", "01", "0", "", "a1001", "a#1#1", "a#11", "#1", "#01",
      `a${2 ** 53}`, `a${2 ** 53 + 2}`, ...Array.from({ length: 3000 }, (_, i) => `k:${i}`),
      ...Array.from({ length: 200 }, (_, i) => `k:#${i}`)
    ]
    for (const size of [2, 7, 1000, ListLayout.MAX_SIZE]) {
      const seen = new Map<string, string>()
      const plain = new Set<string>()
      const lists = new Set<string>()
      for (const key of keys) {
        const position = ListLayout.locate(size, key)
        if (position === undefined) {
          plain.add(key)
          continue
        }
        lists.add(position.list)
        const at = `${position.list}\u0000${position.index}`
        assert.isUndefined(seen.get(at), `${key} and ${seen.get(at)} share ${at} at size ${size}`)
        seen.set(at, key)
      }
      for (const list of lists) assert.isFalse(plain.has(list), `list ${list} is also a plain key`)
    }
  })

  it("escapes empty values and values starting with 0x00; the empty string is an empty position", () => {
    for (const value of [new Uint8Array(), new Uint8Array([0]), new Uint8Array([0, 1]), text("42"), text("x")]) {
      const stored = ListLayout.toStored(value)
      assert.isAbove(stored.length, 0)
      assert.deepStrictEqual(ListLayout.fromStored(stored), value)
    }
    assert.strictEqual(ListLayout.toStored(text("42")).length, 2, "an ordinary value is stored as is")
    assert.strictEqual(ListLayout.fromStored(new Uint8Array()), undefined)
    assert.strictEqual(ListLayout.fromStored(null), undefined)
  })
})

describe("ListBackend options", () => {
  const refused = (options: ListBackend.ListBackendOptions, option: string) =>
    Effect.gen(function*() {
      const exit = yield* Effect.exit(withList(Effect.void, options))
      assert.isTrue(Exit.isFailure(exit))
      const error = Exit.isFailure(exit) ? Option.getOrUndefined(Exit.findErrorOption(exit)) : undefined
      assert.strictEqual(error?._tag, "InvalidOptionError")
      assert.strictEqual(error?._tag === "InvalidOptionError" ? error.component : "", "ListBackend")
      assert.include(error?._tag === "InvalidOptionError" ? error.option : "", option)
    })

  it.effect("refuses a bad size, listExpiry or batchSize when the Layer is built", () =>
    Effect.gen(function*() {
      for (const size of [0, 1, 1.5, ListLayout.MAX_SIZE + 1, Number.NaN]) yield* refused({ size }, "size")
      yield* refused({ size: "1000" as unknown as number }, "size")
      yield* refused({ listExpiry: HashExpiry.onEveryWrite(-5) }, "listExpiry")
      yield* refused({ listExpiry: { _tag: "Sometimes" } as unknown as HashExpiry.HashExpiry }, "listExpiry")
      yield* refused({ batchSize: 0 }, "batchSize")
    }))

  it.effect("undefined options are the defaults", () =>
    withList(Effect.gen(function*() {
      const backend = yield* Backend
      const key = `${unique("def")}1234`
      yield* backend.set(key, text("v"))
      const at = ListLayout.locate(ListLayout.DEFAULT_SIZE, key)!
      assert.strictEqual(at.index, 234)
      assert.strictEqual(yield* raw("llen", (c) => c.llen(at.list)), 235)
    }), { size: undefined, listExpiry: undefined, batchSize: undefined }))
})

describe("ListBackend", () => {
  it.effect("numbered keys are list positions, padded with empty ones; other keys are strings", () =>
    withList(Effect.gen(function*() {
      const backend = yield* Backend
      const prefix = unique("pos")
      yield* backend.setMany([
        { key: `${prefix}5`, value: text("42") },
        { key: `${prefix}12`, value: text("twelve") },
        { key: `${prefix}settings`, value: text("plain") }
      ])
      const list = `${prefix}#0`
      assert.strictEqual(yield* raw("type", (c) => c.type(list)), "list")
      assert.strictEqual(yield* raw("llen", (c) => c.llen(list)), 13)
      assert.deepStrictEqual(yield* raw("lrange", (c) => c.lrange(list, 0, -1)), [
        "", "", "", "", "", "42", "", "", "", "", "", "", "twelve"
      ])
      assert.strictEqual(yield* raw("get", (c) => c.get(`${prefix}settings`)), "plain")
      const keys = [`${prefix}5`, `${prefix}0`, `${prefix}12`, `${prefix}5`, `${prefix}999`, `${prefix}settings`, `${prefix}nope`]
      const values = yield* backend.getMany(keys)
      assert.deepStrictEqual(values.map(decoded), [
        Option.some("42"), Option.none(), Option.some("twelve"), Option.some("42"), Option.none(), Option.some("plain"), Option.none()
      ])
      assert.deepStrictEqual(decoded(yield* backend.get(`${prefix}12`)), Option.some("twelve"))
    }), { size: 100 }))

  it.effect("empty values and values starting with 0x00 read back; a rewrite replaces in place", () =>
    withList(Effect.gen(function*() {
      const backend = yield* Backend
      const prefix = unique("esc")
      const values = [new Uint8Array(), new Uint8Array([0]), new Uint8Array([0, 0, 7]), text("0"), text("-1")]
      yield* backend.setMany(values.map((value, i): BackendEntry => ({ key: `${prefix}${i}`, value })))
      const read = yield* backend.getMany(values.map((_, i) => `${prefix}${i}`))
      assert.deepStrictEqual(read.map((value) => Option.map(value, (bytes) => [...bytes])), values.map((v) => Option.some([...v])))
      yield* backend.set(`${prefix}1`, text("again"))
      assert.deepStrictEqual(decoded(yield* backend.get(`${prefix}1`)), Option.some("again"))
      assert.strictEqual(yield* raw("llen", (c) => c.llen(`${prefix}#0`)), values.length)
    })))

  it.effect("deletes empty their positions, and trailing empty positions are popped (an emptied list is gone)", () =>
    withList(Effect.gen(function*() {
      const backend = yield* Backend
      const prefix = unique("del")
      const list = `${prefix}#0`
      yield* backend.setMany([0, 1, 2, 3].map((i) => ({ key: `${prefix}${i}`, value: text(`v${i}`) })))
      yield* backend.deleteMany([`${prefix}1`, `${prefix}3`, `${prefix}77`])
      assert.deepStrictEqual(yield* raw("lrange", (c) => c.lrange(list, 0, -1)), ["v0", "", "v2"])
      assert.deepStrictEqual((yield* backend.getMany([0, 1, 2, 3].map((i) => `${prefix}${i}`))).map(Option.isSome), [
        true, false, true, false
      ])
      yield* backend.set(`${prefix}word`, text("w"))
      yield* backend.deleteMany([`${prefix}0`, `${prefix}2`, `${prefix}word`])
      assert.strictEqual(yield* raw("exists", (c) => c.exists(list, `${prefix}word`)), 0)
    })))

  it.effect("hash keys are refused with UnsupportedKeyError", () =>
    withList(Effect.gen(function*() {
      const backend = yield* Backend
      for (const attempt of [
        backend.get(CacheKey.hash("h", "1")),
        backend.getMany(["1", CacheKey.hash("h", "1")]),
        backend.set(CacheKey.hash("h", "1"), text("v")),
        backend.deleteMany([CacheKey.hash("h", "1")])
      ]) {
        const error = yield* Effect.flip(attempt)
        assert.strictEqual(error._tag, "UnsupportedKeyError")
      }
    })))

  it.effect("listExpiry: onEveryWrite resets the list's TTL; entryTtl keeps the longest and drops it for an endless entry", () =>
    Effect.gen(function*() {
      const prefix = unique("ttl")
      yield* withList(
        Effect.gen(function*() {
          const backend = yield* Backend
          yield* backend.set(`${prefix}1`, text("a"), Duration.seconds(5))
          const pttl = yield* raw("pttl", (c) => c.pttl(`${prefix}#0`))
          assert.isTrue(pttl > 60_000 && pttl <= 120_000, `pttl ${pttl}`)
        }),
        { listExpiry: HashExpiry.onEveryWrite("2 minutes") }
      )
      yield* withList(Effect.gen(function*() {
        const backend = yield* Backend
        const list = `${prefix}#1`
        yield* backend.set(`${prefix}1000`, text("a"), Duration.seconds(50))
        yield* backend.set(`${prefix}1001`, text("b"), Duration.seconds(5))
        const pttl = yield* raw("pttl", (c) => c.pttl(list))
        assert.isTrue(pttl > 5_000 && pttl <= 50_000, `the longest entry TTL stays: ${pttl}`)
        yield* backend.set(`${prefix}1002`, text("c"))
        assert.strictEqual(yield* raw("pttl", (c) => c.pttl(list)), -1)
      }))
    }))

  it.effect("1,000 concurrent gets of one tick over one list: one LRANGE; a sparse getMany: one LINDEX per key", () =>
    withList(Effect.gen(function*() {
      const backend = yield* Backend
      const prefix = unique("batch")
      const keys = Array.from({ length: 1000 }, (_, i) => `${prefix}${i}`)
      yield* backend.setMany(keys.map((key, i) => ({ key, value: text(String(i * 10)) })))
      const dense = yield* counted(Effect.forEach(keys, (key) => backend.get(key), { concurrency: "unbounded" }))
      assert.deepStrictEqual(dense.result.map(decoded), keys.map((_, i) => Option.some(String(i * 10))))
      assert.deepStrictEqual(dense.sent, { lrange: 1 })
      const sparse = yield* counted(backend.getMany([`${prefix}3`, `${prefix}500`, `${prefix}999`]))
      assert.deepStrictEqual(sparse.result.map(decoded), [Option.some("30"), Option.some("5000"), Option.some("9990")])
      assert.deepStrictEqual(sparse.sent, { lindex: 3 })
    })))

  it.effect("a region with the packed envelope: entries expire per entry under TestClock, integers stay listpack integers", () =>
    Effect.gen(function*() {
      // The packed envelope counts seconds from 2024-01-01: the clock starts after it.
      yield* TestClock.setTime(Date.UTC(2026, 0, 1))
      const name = `listregion${counter++}`
      const region = yield* Region.make<number>({ name, expiration: "1 hour", envelope: Envelope.packed() })
      yield* region.set("user:1", 10)
      yield* TestClock.adjust("30 minutes")
      yield* region.set("user:2", 20)
      yield* TestClock.adjust("31 minutes")
      assert.deepStrictEqual(yield* region.getMany(["user:1", "user:2"]), [Option.none(), Option.some(20)])
      const stored = yield* raw("lindex", (c) => c.lindex(`${name}:user:#0`, 2))
      assert.match(stored ?? "", /^[1-9][0-9]*$/, "a packed integer, stored as decimal text")
      yield* TestClock.adjust("30 minutes")
      assert.deepStrictEqual(yield* region.get("user:2"), Option.none())
    }).pipe(
      Effect.scoped,
      Effect.provide(Layer.mergeAll(ListBackend.layer(), Codec.layer(IntegerAware.codec), Lock.layerLocal)),
      Effect.provide(client())
    ))
})

/** used_memory of writing `entries` on an emptied server (written once before, as memory.test.ts explains). */
const footprint = (entries: ReadonlyArray<BackendEntry>) =>
  Effect.gen(function*() {
    const backend = yield* Backend
    const batches = Array.from({ length: Math.ceil(entries.length / 2000) }, (_, b) => b)
    const write = Effect.forEach(batches, (b) => backend.setMany(entries.slice(b * 2000, (b + 1) * 2000)), { discard: true })
    yield* raw("flushall", (c) => c.flushall("SYNC"))
    yield* write
    yield* raw("flushall", (c) => c.flushall("SYNC"))
    const before = yield* usedMemory
    yield* write
    return (yield* usedMemory) - before
  })

describe("ListBackend memory", () => {
  // At 20,000 entries the two figures moved by up to 2 B/entry between runs; 100,000 keeps that under 0.5.
  it.live("100,000 integer entries in lists of 1,000 cost under 0.8 × hash buckets of byNumber(205)", () =>
    Effect.gen(function*() {
      const N = 100_000
      const value = (i: number) => text(String(i * 10))
      const keys = Array.from({ length: N }, (_, i) => `n:${i}`)
      const lists = yield* Effect.gen(function*() {
        const bytes = yield* footprint(keys.map((key, i) => ({ key, value: value(i) })))
        // Every entry measured is there: all N values read back, in N / 1,000 lists.
        const read = yield* Effect.flatMap(Backend, (backend) => backend.getMany(keys))
        assert.deepStrictEqual(read.map(decoded), keys.map((_, i) => Option.some(String(i * 10))))
        assert.strictEqual(yield* raw("dbsize", (c) => c.dbsize()), N / 1000)
        return bytes
      }).pipe(
        Effect.provide(ListBackend.layer({ listExpiry: HashExpiry.onEveryWrite("2 hours") }).pipe(Layer.provideMerge(client())))
      )
      const bucket = Bucketing.byNumber({ size: 205 })
      const hashes = yield* footprint(Array.from({ length: N }, (_, i) => ({ key: bucket(`n:${i}`), value: value(i) }))).pipe(
        Effect.provide(HashBackend.layer({ hashExpiry: HashExpiry.onEveryWrite("2 hours") }).pipe(Layer.provideMerge(client())))
      )
      yield* Effect.logInfo(`lists ${(lists / N).toFixed(2)} B/entry, hashes ${(hashes / N).toFixed(2)} B/entry`)
      assert.isAbove(hashes, N * 5, `the hash write is measured: ${hashes} bytes`)
      assert.isBelow(lists / hashes, 0.8)
    }))
})
