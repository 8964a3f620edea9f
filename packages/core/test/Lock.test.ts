import { assert, describe, it } from "@effect/vitest"
import { Codec, Lock, MemoryBackend, Region } from "@dogpile-effect/core"
import { Deferred, Effect, Exit, Fiber, Layer, Option, Ref, Scope } from "effect"
import { TestClock } from "effect/testing"

describe("Lock.layerLocal", () => {
  it.effect("tryAcquire does not wait and release happens when the scope closes", () =>
    Effect.gen(function*() {
      const lock = yield* Lock
      const scope = yield* Scope.make()
      assert.isTrue(Option.isSome(yield* Scope.provide(lock.tryAcquire("k"), scope)))
      assert.isTrue(Option.isNone(yield* Effect.scoped(lock.tryAcquire("k"))))
      assert.isTrue(Option.isSome(yield* Effect.scoped(lock.tryAcquire("other"))), "locks are per key")
      yield* Scope.close(scope, Exit.void)
      assert.isTrue(Option.isSome(yield* Effect.scoped(lock.tryAcquire("k"))))
    }).pipe(Effect.provide(Lock.layerLocal)))

  it.effect("acquire times out with LockTimeoutError (TestClock)", () =>
    Effect.gen(function*() {
      const lock = yield* Lock
      const holder = yield* Scope.make()
      yield* Scope.provide(lock.acquire("k", "1 second"), holder)
      const waiter = yield* Effect.forkChild(Effect.flip(Effect.scoped(lock.acquire("k", "5 seconds"))))
      yield* TestClock.adjust("5 seconds")
      const error = yield* Fiber.join(waiter)
      assert.strictEqual(error._tag === "LockTimeoutError" ? error.timeoutMillis : -1, 5000)
      // The timed-out waiter left nothing behind: after release the lock is free.
      yield* Scope.close(holder, Exit.void)
      assert.isTrue(Option.isSome(yield* Effect.scoped(lock.tryAcquire("k"))))
    }).pipe(Effect.provide(Lock.layerLocal)))

  it.effect("150 fibers on one key run their critical sections one at a time", () =>
    Effect.gen(function*() {
      const lock = yield* Lock
      const inside = yield* Ref.make(0)
      const maxInside = yield* Ref.make(0)
      yield* Effect.forEach(
        Array.from({ length: 150 }, (_, i) => i),
        () =>
          Effect.scoped(Effect.gen(function*() {
            yield* lock.acquire("k", "1 minute")
            const now = yield* Ref.updateAndGet(inside, (n) => n + 1)
            yield* Ref.update(maxInside, (m) => Math.max(m, now))
            yield* Effect.yieldNow
            yield* Ref.update(inside, (n) => n - 1)
          })),
        { concurrency: "unbounded" }
      )
      assert.strictEqual(yield* Ref.get(maxInside), 1)
    }).pipe(Effect.provide(Lock.layerLocal)))

  it.effect("an interrupted holder releases the lock", () =>
    Effect.gen(function*() {
      const lock = yield* Lock
      const held = yield* Deferred.make<void>()
      const holder = yield* Effect.forkChild(
        Effect.scoped(Effect.andThen(lock.acquire("k", "1 second"), Effect.andThen(Deferred.succeed(held, undefined), Effect.never)))
      )
      yield* Deferred.await(held)
      assert.isTrue(Option.isNone(yield* Effect.scoped(lock.tryAcquire("k"))))
      yield* Fiber.interrupt(holder)
      assert.isTrue(Option.isSome(yield* Effect.scoped(lock.tryAcquire("k"))))
    }).pipe(Effect.provide(Lock.layerLocal)))

  it.effect("tryTake takes without a scope: the others see it held until its release, and a waiting acquire wakes on it", () =>
    Effect.gen(function*() {
      const lock = yield* Lock
      const taken = yield* lock.tryTake!("k")
      assert.isTrue(Option.isSome(taken))
      assert.isTrue(Option.isNone(yield* lock.tryTake!("k")))
      assert.isTrue(Option.isNone(yield* Effect.scoped(lock.tryAcquire("k"))))
      assert.strictEqual((yield* lock.status!("k"))._tag, "Held")
      const waiter = yield* Effect.forkChild(Effect.scoped(Effect.as(lock.acquire("k", "5 seconds"), "woke")))
      yield* Effect.yieldNow
      yield* Option.getOrThrow(taken).release
      assert.strictEqual(yield* Fiber.join(waiter), "woke")
      assert.strictEqual((yield* lock.status!("k"))._tag, "Free")
      assert.isTrue(Option.isSome(yield* Effect.scoped(lock.tryAcquire("k"))))
    }).pipe(Effect.provide(Lock.layerLocal)))
})

describe("a region's single-key lock taken without a scope", () => {
  it.effect("an interrupted creator releases it: the next caller creates, and 100 callers after it create once", () =>
    Effect.gen(function*() {
      const region = yield* Region.make<number>({ name: "taken-lock" })
      const started = yield* Deferred.make<void>()
      const stuck = yield* Effect.forkChild(region.getOrCreate("k", Effect.andThen(Deferred.succeed(started, undefined), Effect.never)))
      yield* Deferred.await(started)
      const lock = yield* Lock
      assert.strictEqual((yield* lock.status!("taken-lock:k"))._tag, "Held")
      yield* Fiber.interrupt(stuck)
      assert.strictEqual((yield* lock.status!("taken-lock:k"))._tag, "Free")
      let created = 0
      const values = yield* Effect.forEach(
        Array.from({ length: 100 }, () => region.getOrCreate("k", Effect.sync(() => ++created))),
        (call) => call,
        { concurrency: "unbounded" }
      )
      assert.strictEqual(created, 1)
      assert.isTrue(values.every((v) => v === 1))
      assert.strictEqual((yield* lock.status!("taken-lock:k"))._tag, "Free")
    }).pipe(Effect.scoped, Effect.provide(Layer.mergeAll(MemoryBackend.layer(), Codec.layerJson, Lock.layerLocal))))
})
