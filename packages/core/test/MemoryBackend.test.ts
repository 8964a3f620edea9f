import { assert, describe, it } from "@effect/vitest"
import { Duration, Effect, Option } from "effect"
import { TestClock } from "effect/testing"
import { Backend, CacheKey, MemoryBackend } from "@dogpile-effect/core"

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
