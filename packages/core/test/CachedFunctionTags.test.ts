import { assert, describe, it } from "@effect/vitest"
import { CachedFunction, type CacheKey, Codec, Lock, MemoryBackend, Region } from "@dogpile-effect/core"
import { Effect, Layer, Option, Ref } from "effect"
import { TestClock } from "effect/testing"

const memory = () => Layer.mergeAll(MemoryBackend.layer(), Codec.layerJson, Lock.layerLocal)

const tagsOf = (region: Region.Region<number>, key: CacheKey.CacheKey) =>
  Effect.map(region.inspect(key), Option.map((info) => info.tags))

describe("CachedFunction: the wrapper's own writes carry its tags (issue 24, finding 3)", () => {
  it.effect("cached.refresh and cached.set store the wrapper's tags; invalidateTags reaches them", () =>
    Effect.gen(function*() {
      const region = yield* Region.make<number>({ name: "fn-tags-one" })
      const calls = yield* Ref.make(0)
      const one = CachedFunction.cached(region, (n: number) => Effect.as(Ref.update(calls, (c) => c + 1), n * 10), {
        namespace: "one",
        tags: ["fn"]
      })
      assert.strictEqual(yield* one.refresh(3), 30)
      assert.deepStrictEqual(yield* tagsOf(region, one.key(3)), Option.some(["fn"]), "refresh")
      yield* one.set(40, 4)
      assert.deepStrictEqual(yield* tagsOf(region, one.key(4)), Option.some(["fn"]), "set")
      yield* TestClock.adjust("1 millis")
      yield* region.invalidateTags(["fn"], { hard: true })
      const before = yield* Ref.get(calls)
      assert.strictEqual(yield* one(3), 30)
      assert.strictEqual(yield* one(4), 40, "created again by f")
      assert.strictEqual(yield* Ref.get(calls), before + 2, "both refreshed entries were invalidated: f ran for each")
    }).pipe(Effect.scoped, Effect.provide(memory())))

  it.effect("cachedMany.set and cachedMany.refresh store the wrapper's tags; invalidateTags reaches them", () =>
    Effect.gen(function*() {
      const region = yield* Region.make<number>({ name: "fn-tags-many" })
      const asked: Array<ReadonlyArray<number>> = []
      const many = CachedFunction.cachedMany(region, (ns: ReadonlyArray<number>) => {
        asked.push(ns)
        return Effect.succeed(ns.map((n) => n + 100))
      }, { namespace: "many", tags: ["fn-many"] })
      yield* many.refresh([1, 2])
      yield* many.set([[3, 7]])
      for (const n of [1, 2, 3]) {
        assert.deepStrictEqual(yield* tagsOf(region, many.key(n)), Option.some(["fn-many"]), `key ${n}`)
      }
      yield* TestClock.adjust("1 millis")
      yield* region.invalidateTags(["fn-many"], { hard: true })
      asked.length = 0
      assert.deepStrictEqual(yield* many([1, 2, 3]), [101, 102, 103])
      assert.deepStrictEqual(asked, [[1, 2, 3]], "every entry the wrapper wrote was invalidated")
    }).pipe(Effect.scoped, Effect.provide(memory())))
})
