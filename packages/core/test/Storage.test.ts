/**
 * `storage` in a region's options: each region builds its own backend from
 * its storage (none from context), a storage's defaults yield to the
 * region's options, a storage may bring its own lock, and a layout that
 * cannot be recorded never fails the region.
 */
import { assert, describe, it } from "@effect/vitest"
import { Backend, Envelope, Lock, MemoryBackend, Region, Storage } from "@dogpile-effect/core"
import { Effect, Layer, Option, Schema } from "effect"

describe("Storage", () => {
  it.effect("regions with Storage.memory() each get their own backend, none from context", () =>
    Effect.gen(function*() {
      const a = yield* Region.make({ name: "a", schema: Schema.Number, storage: Storage.memory() })
      const b = yield* Region.make({ name: "b", schema: Schema.Number, namespace: "a", storage: Storage.memory() })
      yield* a.set("k", 1)
      // same namespace, separate stores
      assert.deepStrictEqual(yield* b.get("k"), Option.none())
      assert.deepStrictEqual(yield* a.get("k"), Option.some(1))
    }).pipe(Effect.scoped, Effect.provide(Lock.layerLocal)))

  it.effect("without storage a region uses the Backend in context", () =>
    Effect.gen(function*() {
      const a = yield* Region.make({ name: "a", schema: Schema.Number })
      yield* a.set("k", 7)
      const backend = yield* Backend
      assert.isTrue(Option.isSome(yield* backend.get("a:k")))
    }).pipe(Effect.scoped, Effect.provide(Layer.mergeAll(MemoryBackend.layer(), Lock.layerLocal))))

  it.effect("a storage's defaults apply unless the region's options say otherwise; its own lock needs none in context", () =>
    Effect.gen(function*() {
      const recorded: Array<Storage.Layout> = []
      const storage = Storage.fromLayerWithLock(
        "memory",
        Layer.mergeAll(MemoryBackend.layer(), Lock.layerLocal, Layer.succeed(Envelope.CurrentEnvelope, Envelope.compact())),
        {
          defaults: { namespace: "shared" },
          record: Effect.succeed((_name: string, layout: Storage.Layout) => Effect.sync(() => void recorded.push(layout)))
        }
      )
      const a = yield* Region.make({ name: "a", schema: Schema.Number, storage })
      const b = yield* Region.make({ name: "b", schema: Schema.Number, storage, namespace: "own", envelope: Envelope.full() })
      yield* a.set("k", 1)
      yield* b.set("k", 2)
      assert.strictEqual(Option.getOrThrow(yield* a.inspect("k")).backendKey, "shared:k")
      assert.strictEqual(Option.getOrThrow(yield* b.inspect("k")).backendKey, "own:k")
      yield* Effect.yieldNow
      assert.deepStrictEqual(recorded.map((layout) => [layout["namespace"], layout["envelope"], layout["storage"]]), [
        ["shared", "compact", "memory"],
        ["own", "full", "memory"]
      ])
    }).pipe(Effect.scoped))

  it.effect("a failing layout record leaves the region working", () =>
    Effect.gen(function*() {
      const storage = Storage.fromLayer("memory", MemoryBackend.layer(), {
        record: Effect.succeed((_name: string, _layout: Storage.Layout): Effect.Effect<void, string> =>
          Effect.fail("unreachable server")
        )
      })
      const a = yield* Region.make({ name: "a", schema: Schema.Number, storage })
      assert.strictEqual(yield* a.getOrCreate("k", Effect.succeed(3)), 3)
    }).pipe(Effect.scoped, Effect.provide(Lock.layerLocal)))

  it.effect("Region.Service with a storage: its layer needs only what the storage needs", () =>
    Effect.gen(function*() {
      class Answers extends Region.Service<Answers>()("test/Answers", {
        name: "answers",
        schema: Schema.Number,
        storage: Storage.memory()
      }) {}
      const answer = yield* Effect.gen(function*() {
        const answers = yield* Answers
        return yield* answers.getOrCreate("k", Effect.succeed(42))
      }).pipe(Effect.provide(Answers.layer.pipe(Layer.provide(Lock.layerLocal))))
      assert.strictEqual(answer, 42)
    }))
})
