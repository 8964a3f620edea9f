import { assert, describe, it } from "@effect/vitest"
import { Duration, Effect, Option } from "effect"
import { TestClock } from "effect/testing"
import { Backend, CacheKey, Codec, MemoryBackend } from "@dogpile-effect/core"

const bytes = (s: string) => new TextEncoder().encode(s)
const text = (o: Option.Option<Uint8Array>) => Option.map(o, (b) => new TextDecoder().decode(b))

describe("MemoryBackend", () => {
  it.effect("get/set/delete and many-key forms keep order and duplicates", () =>
    Effect.gen(function*() {
      const backend = yield* Backend
      yield* backend.setMany([{ key: "a", value: bytes("1") }, { key: CacheKey.hash("h", "f"), value: bytes("2") }])
      const got = yield* backend.getMany(["a", "missing", CacheKey.hash("h", "f"), "a"])
      assert.deepStrictEqual(got.map(text), [Option.some("1"), Option.none(), Option.some("2"), Option.some("1")])
      yield* backend.deleteMany(["a"])
      assert.isTrue(Option.isNone(yield* backend.get("a")))
    }).pipe(Effect.provide(MemoryBackend.layer())))

  it.effect("honours the TTL hint through Clock", () =>
    Effect.gen(function*() {
      const backend = yield* Backend
      yield* backend.set("k", bytes("v"), Duration.seconds(10))
      yield* TestClock.adjust("9999 millis")
      assert.isTrue(Option.isSome(yield* backend.get("k")))
      yield* TestClock.adjust("1 millis")
      assert.isTrue(Option.isNone(yield* backend.get("k")))
    }).pipe(Effect.provide(MemoryBackend.layer())))

  it.effect("evicts the least recently used entry past capacity", () =>
    Effect.gen(function*() {
      const backend = yield* Backend
      yield* backend.set("a", bytes("a"))
      yield* backend.set("b", bytes("b"))
      yield* backend.get("a")
      yield* backend.set("c", bytes("c"))
      assert.deepStrictEqual((yield* backend.getMany(["a", "b", "c"])).map(Option.isSome), [true, false, true])
    }).pipe(Effect.provide(MemoryBackend.layer({ capacity: 2 }))))

  it.effect("keeps exactly the most recently used entries through many evictions (reads and rewrites touch)", () =>
    Effect.gen(function*() {
      const backend = yield* Backend
      const capacity = 100
      // The model: an array in recency order, oldest first.
      const model: Array<string> = []
      const touch = (key: string) => {
        const at = model.indexOf(key)
        if (at >= 0) model.splice(at, 1)
        model.push(key)
      }
      for (let i = 0; i < 5_000; i++) {
        const key = `k${(i * 7919) % 400}`
        if (i % 3 === 0) {
          const found = yield* backend.get(key)
          assert.strictEqual(Option.isSome(found), model.includes(key), `read ${i} of ${key}`)
          if (Option.isSome(found)) touch(key)
        } else {
          yield* backend.set(key, bytes(key))
          touch(key)
          if (model.length > capacity) model.shift()
        }
      }
      const all = Array.from({ length: 400 }, (_, i) => `k${i}`)
      const present = (yield* backend.getMany(all)).flatMap((found, i) => (Option.isSome(found) ? [all[i]] : []))
      assert.deepStrictEqual(present.sort(), [...model].sort())
    }).pipe(Effect.provide(MemoryBackend.layer({ capacity: 100 }))))

  it.effect("evictions from a full store step one kept iterator: none opened afresh per eviction", () =>
    Effect.gen(function*() {
      // V8 leaves a hole per Map delete; finding the oldest entry with a fresh `keys()` on each eviction walked
      // every hole from the front (a full store of 20,000 wrote ~9× slower than an unbounded one). Counted here:
      // the iterators opened over the full store while 40,000 writes each evict one entry.
      const full = yield* MemoryBackend.make({ capacity: 20_000 })
      const value = bytes("v")
      for (let i = 0; i < 20_000; i++) yield* full.set(`fill:${i}`, value)
      const keys = Map.prototype.keys
      let opened = 0
      Map.prototype.keys = function(this: Map<unknown, unknown>) {
        if (this.size >= 20_000) opened++
        return keys.call(this)
      } as typeof keys
      try {
        for (let i = 0; i < 40_000; i++) yield* full.set(`k:${i}`, value)
      } finally {
        Map.prototype.keys = keys
      }
      assert.isAtMost(opened, 1)
      assert.strictEqual(Option.isSome(yield* full.get("k:39999")), true)
      assert.strictEqual(Option.isSome(yield* full.get("k:19999")), false)
    }))

  it.effect("keeps its own copy of bytes that are a view into a larger buffer (a codec's pooled bytes)", () =>
    Effect.gen(function*() {
      const backend = yield* Backend
      const pool = new Uint8Array(8192).fill(7)
      yield* backend.set("view", pool.subarray(100, 103))
      const own = new Uint8Array([1, 2, 3])
      yield* backend.set("own", own)
      const view = Option.getOrThrow(yield* backend.get("view"))
      assert.deepStrictEqual([...view], [7, 7, 7])
      assert.strictEqual(view.buffer.byteLength, 3)
      // Bytes that are already their own are kept as they are (no copy).
      assert.strictEqual(Option.getOrThrow(yield* backend.get("own")), own)
      // The JSON codec's bytes come from Node's pool; stored through a region, they are copied too.
      const encoded = yield* Codec.json.encode({ a: 1 })
      yield* backend.set("encoded", encoded)
      const stored = Option.getOrThrow(yield* backend.get("encoded"))
      assert.strictEqual(stored.buffer.byteLength, stored.byteLength)
      assert.deepStrictEqual(new TextDecoder().decode(stored), "{\"a\":1}")
    }).pipe(Effect.provide(MemoryBackend.layer())))

  it.effect("rejects hash keys when hash support is off, naming the key", () =>
    Effect.gen(function*() {
      const backend = yield* Backend
      const error = yield* Effect.flip(backend.get(CacheKey.hash("users", "42")))
      assert.strictEqual(error._tag, "UnsupportedKeyError")
      assert.include(error.message, "users[42]")
    }).pipe(Effect.provide(MemoryBackend.layer({ hashKeys: false }))))

  it.effect("a capacity that is not a positive integer fails the Layer with InvalidOptionError", () =>
    Effect.gen(function*() {
      for (const capacity of [0, -1, 2.5, Number.NaN]) {
        const error = yield* Effect.flip(Effect.provide(Effect.asVoid(Backend), MemoryBackend.layer({ capacity })))
        assert.strictEqual(error._tag, "InvalidOptionError", String(capacity))
      }
    }))
})
