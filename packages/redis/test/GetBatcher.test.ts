import { assert, describe, it } from "@effect/vitest"
import { GetBatcher } from "@dogpile-effect/redis/toolkit"
import { Context, Deferred, Effect, Exit, Fiber } from "effect"

describe("GetBatcher", () => {
  it.effect("150 concurrent gets of one tick: one read of all of them, each answered with its own value", () =>
    Effect.gen(function*() {
      const reads: Array<ReadonlyArray<string>> = []
      const get = GetBatcher.make((keys: ReadonlyArray<string>) =>
        Effect.sync(() => {
          reads.push(keys)
          return keys.map((key) => `value of ${key}`)
        })
      )
      const keys = Array.from({ length: 150 }, (_, i) => `k${i % 100}`) // duplicates included
      const values = yield* Effect.forEach(keys, get, { concurrency: "unbounded" })
      assert.deepStrictEqual(values, keys.map((key) => `value of ${key}`))
      assert.strictEqual(reads.length, 1)
      assert.strictEqual(reads[0]!.length, 150)
      // The next tick is a new batch.
      assert.strictEqual(yield* get("again"), "value of again")
      assert.strictEqual(reads.length, 2)
    }))

  it.effect("a batch of one key is read by its caller's own fiber: its context, its failure, a wrong answer as a defect", () =>
    Effect.gen(function*() {
      const Caller = Context.Reference<string>("test/GetBatcher/Caller", { defaultValue: () => "nobody" })
      let readBy: ReadonlyArray<unknown> = []
      const get = GetBatcher.make((keys: ReadonlyArray<string>) =>
        Effect.withFiber((fiber) => {
          readBy = [fiber, Context.get(fiber.context, Caller)]
          if (keys[0] === "bad") return Effect.fail("refused")
          return Effect.succeed(keys[0] === "short" ? [] : keys.map((key) => `value of ${key}`))
        })
      )
      const caller = yield* Effect.forkChild(Effect.provideService(get("k"), Caller, "the caller"))
      assert.strictEqual(yield* Fiber.join(caller), "value of k")
      assert.strictEqual(readBy[0], caller)
      assert.strictEqual(readBy[1], "the caller")
      assert.deepStrictEqual(yield* Effect.exit(get("bad")), Exit.fail("refused"))
      assert.isTrue(Exit.hasDies(yield* Effect.exit(get("short"))))
    }))

  it.effect("split into groups: a failed group fails only its callers", () =>
    Effect.gen(function*() {
      const get = GetBatcher.make(
        (keys: ReadonlyArray<number>) => (keys.some((k) => k % 2 === 1) ? Effect.fail(`odd group ${keys.join(",")}`) : Effect.succeed(keys.map((k) => k * 10))),
        (keys) => [keys.flatMap((k, i) => (k % 2 === 0 ? [i] : [])), keys.flatMap((k, i) => (k % 2 === 1 ? [i] : []))]
      )
      const exits = yield* Effect.forEach([0, 1, 2, 3, 4], (k) => Effect.exit(get(k)), { concurrency: "unbounded" })
      assert.deepStrictEqual(exits.map((exit) => (Exit.isSuccess(exit) ? exit.value : "failed")), [0, "failed", 20, "failed", 40])
    }))

  it.effect("a caller interrupted while its read is in flight stops waiting; the others still get their answer", () =>
    Effect.gen(function*() {
      const started = yield* Deferred.make<void>()
      const release = yield* Deferred.make<void>()
      const get = GetBatcher.make((keys: ReadonlyArray<string>) =>
        Effect.andThen(Deferred.succeed(started, undefined), Effect.as(Deferred.await(release), keys))
      )
      const first = yield* Effect.forkChild(get("a"))
      const second = yield* Effect.forkChild(get("b"))
      yield* Deferred.await(started)
      yield* Fiber.interrupt(first) // returns while the read is still in flight
      assert.isTrue(Exit.hasInterrupts(yield* Fiber.await(first)))
      yield* Deferred.succeed(release, undefined)
      assert.strictEqual(yield* Fiber.join(second), "b")
    }))

  it.effect("a read answering the wrong number of values fails every caller with a defect, not a wrong value", () =>
    Effect.gen(function*() {
      const get = GetBatcher.make((_keys: ReadonlyArray<string>) => Effect.succeed(["only one"]))
      const exits = yield* Effect.forEach(["a", "b"], (k) => Effect.exit(get(k)), { concurrency: "unbounded" })
      assert.isTrue(exits.every((exit) => Exit.isFailure(exit) && exit.cause.reasons.some((r) => r._tag === "Die")))
    }))
})
