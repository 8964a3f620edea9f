import { assert, describe, it } from "@effect/vitest"
import { Backend, Codec, Lock, MemoryBackend, Region } from "@dogpile-effect/core"
import { Effect, Layer, Option } from "effect"
import { TestClock } from "effect/testing"

const memory = () => Layer.mergeAll(MemoryBackend.layer(), Codec.layerJson, Lock.layerLocal)
const text = (n: number) => new TextEncoder().encode(String(n))
const now = Effect.clockWith((clock) => clock.currentTimeMillis)
const hardKey = (name: string) => `__dogpile__:{${name}}:invalidated:hard`
const tagHardKey = (name: string, tag: string) => `__dogpile__:{${name}}:invalidated:tag:hard:${tag}`

describe("a near-future mark stops counting once deleted (issue 24, finding 5)", () => {
  it.effect("region mark 30 s ahead, then deleted: values created after the deletion is read are fresh", () =>
    Effect.gen(function*() {
      const name = "skewed-region"
      const r = yield* Region.make<string>({ name, expiration: "1 hour" })
      const backend = yield* Backend
      yield* r.set("old", "v")
      yield* TestClock.adjust("1 millis")
      yield* backend.set(hardKey(name), text((yield* now) + 30_000))
      yield* TestClock.adjust("1001 millis")
      assert.deepStrictEqual(yield* r.get("old"), Option.none(), "the mark ahead counts while stored")
      yield* backend.delete(hardKey(name))
      yield* TestClock.adjust("1001 millis")
      yield* r.set("new", "v2")
      assert.deepStrictEqual(yield* r.get("new"), Option.some("v2"), "a value created after the deletion is fresh")
      assert.deepStrictEqual(yield* r.get("old"), Option.none(), "what the mark was seen to invalidate stays invalid")
    }).pipe(Effect.scoped, Effect.provide(memory())))

  it.effect("tag mark 30 s ahead, then deleted: tagged values created afterwards are fresh", () =>
    Effect.gen(function*() {
      const name = "skewed-tags"
      const r = yield* Region.make<string>({ name, expiration: "1 hour" })
      const backend = yield* Backend
      yield* r.set("old", "v", { tags: ["t"] })
      yield* TestClock.adjust("1 millis")
      yield* backend.set(tagHardKey(name, "t"), text((yield* now) + 30_000))
      yield* TestClock.adjust("1001 millis")
      assert.deepStrictEqual(yield* r.get("old"), Option.none(), "the tag mark ahead counts while stored")
      yield* backend.delete(tagHardKey(name, "t"))
      yield* TestClock.adjust("1001 millis")
      yield* r.set("new", "v2", { tags: ["t"] })
      assert.deepStrictEqual(yield* r.get("new"), Option.some("v2"), "a tagged value created after the deletion is fresh")
      assert.deepStrictEqual(yield* r.get("old"), Option.none())
    }).pipe(Effect.scoped, Effect.provide(memory())))
})

describe("an evicted mark never brings an invalidated value back (issue 24, memory pressure)", () => {
  it.effect("region mark: the process that saw it keeps it and writes it back; a process built later sees it", () =>
    Effect.gen(function*() {
      const name = "evicted-region-mark"
      const r = yield* Region.make<string>({ name, expiration: "1 hour" })
      const backend = yield* Backend
      yield* r.set("k", "v")
      yield* TestClock.adjust("1 millis")
      yield* r.invalidate({ hard: true })
      const mark = yield* now
      yield* TestClock.adjust("1001 millis")
      yield* backend.delete(hardKey(name)) // as maxmemory eviction would
      assert.deepStrictEqual(yield* r.get("k"), Option.none(), "the invalidating process still treats it as invalid")
      const stored = yield* backend.get(hardKey(name))
      assert.deepStrictEqual(Option.map(stored, (bytes) => Number(new TextDecoder().decode(bytes))), Option.some(mark), "written back")
      const later = yield* Region.make<string>({ name, expiration: "1 hour" })
      assert.deepStrictEqual(yield* later.get("k"), Option.none(), "a process that never saw the mark")
    }).pipe(Effect.scoped, Effect.provide(memory())))

  it.effect("tag mark: the reader that saw it keeps it and writes it back; a process built later sees it", () =>
    Effect.gen(function*() {
      const name = "evicted-tag-mark"
      const writer = yield* Region.make<string>({ name, expiration: "1 hour" })
      const reader = yield* Region.make<string>({ name, expiration: "1 hour" })
      const backend = yield* Backend
      yield* writer.set("k", "v", { tags: ["t"] })
      yield* TestClock.adjust("1 millis")
      yield* writer.invalidateTags(["t"], { hard: true })
      yield* TestClock.adjust("1001 millis")
      assert.deepStrictEqual(yield* reader.get("k"), Option.none(), "the reader read the mark")
      yield* backend.delete(tagHardKey(name, "t"))
      yield* TestClock.adjust("1001 millis")
      assert.deepStrictEqual(yield* reader.get("k"), Option.none(), "still invalid after the mark vanished")
      assert.isTrue(Option.isSome(yield* backend.get(tagHardKey(name, "t"))), "written back")
      const later = yield* Region.make<string>({ name, expiration: "1 hour" })
      assert.deepStrictEqual(yield* later.get("k"), Option.none(), "a process that never saw the mark")
    }).pipe(Effect.scoped, Effect.provide(memory())))
})
