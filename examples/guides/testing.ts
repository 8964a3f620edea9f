/**
 * docs/guides/testing.md: testing code that uses a region without Redis and
 * without waiting, with `MemoryBackend`, the in-process lock and `TestClock`.
 * The `describe` below is what a test file of yours would contain;
 * `packages/cli/test/guides.test.ts` imports this file so vitest runs it.
 */
import { Lock, MemoryBackend, Region } from "@dogpile-effect/core"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer, Ref, Schema } from "effect"
import { TestClock } from "effect/testing"

const User = Schema.Struct({ id: Schema.Number, name: Schema.String })

// The region exactly as the application declares it.
class Users extends Region.Service<Users>()("app/Users", {
  name: "users",
  schema: User,
  expiration: "10 minutes"
}) {}

// Its storage in tests: an in-memory backend and the in-process lock, fresh for every test.
const UsersTest = Users.layer.pipe(Layer.provide(Layer.mergeAll(MemoryBackend.layer(), Lock.layerLocal)))

/** A creator that counts its runs and names each value after the run that made it. */
const counting = (runs: Ref.Ref<number>, id: number) =>
  Effect.map(Ref.updateAndGet(runs, (n) => n + 1), (n) => ({ id, name: `version ${n}` }))

describe("guide: testing a region", () => {
  it.effect("100 concurrent callers of a missing key: one creator run, one value", () =>
    Effect.gen(function*() {
      const users = yield* Users
      const runs = yield* Ref.make(0)
      const all = yield* Effect.forEach(
        Array.from({ length: 100 }, (_, i) => i),
        () => users.getOrCreate("user:1", counting(runs, 1)),
        { concurrency: "unbounded" }
      )
      assert.strictEqual(yield* Ref.get(runs), 1)
      assert.isTrue(all.every((user) => user.name === "version 1"))
    }).pipe(Effect.provide(UsersTest)))

  it.effect("fresh for 10 minutes of TestClock time, then created again", () =>
    Effect.gen(function*() {
      const users = yield* Users
      const runs = yield* Ref.make(0)
      yield* users.getOrCreate("user:2", counting(runs, 2))
      yield* TestClock.adjust("9 minutes")
      assert.strictEqual((yield* users.getOrCreate("user:2", counting(runs, 2))).name, "version 1")
      yield* TestClock.adjust("2 minutes") // 11 minutes after creation: expired
      assert.strictEqual((yield* users.getOrCreate("user:2", counting(runs, 2))).name, "version 2")
      assert.strictEqual(yield* Ref.get(runs), 2)
    }).pipe(Effect.provide(UsersTest)))

  it.effect("a failing creator fails the call and stores nothing", () =>
    Effect.gen(function*() {
      const users = yield* Users
      const failed = yield* Effect.flip(users.getOrCreate("user:3", Effect.fail("database down")))
      assert.strictEqual(failed, "database down")
      assert.isFalse(yield* users.has("user:3"))
    }).pipe(Effect.provide(UsersTest)))
})
