import { assert, describe, it } from "@effect/vitest"
import { Backend, Conditional, Lock, MemoryBackend, Region } from "@dogpile-effect/core"
import { Effect, Layer, Option, Schema } from "effect"
import { TestClock } from "effect/testing"
import { conditionalRefresh } from "./conditionalRefresh.ts"

conditionalRefresh({ name: "memory", layer: () => Layer.mergeAll(MemoryBackend.layer(), Lock.layerLocal) })

/** The in-memory backend without `restampMany`: renewals re-read and write whole entries. */
const rewriting = Layer.effect(
  Backend,
  Effect.map(MemoryBackend.make(), ({ restampMany: _, ...rest }) => Backend.of(rest))
)

conditionalRefresh({ name: "memory, renewals rewritten", layer: () => Layer.mergeAll(rewriting, Lock.layerLocal) })

describe("conditional refresh in place: memory", () => {
  it.effect("a renewal in place resets the store TTL: the entry outlives the TTL it was created with", () =>
    Effect.gen(function*() {
      const r = yield* Region.make({ name: "ttl", schema: Schema.String, expiration: "1 second" })
      const backend = yield* Backend
      const creator = Conditional.make((previous: Option.Option<Conditional.Previous<string>>) =>
        Effect.succeed(Option.isSome(previous) ? Conditional.notModified : Conditional.fresh("v", { validator: "1" })))
      yield* r.getOrCreate("k", creator)
      // The store TTL is 61 s (the expiration and a minute's stale window): renewed at 40 s, it ends at 101 s.
      yield* TestClock.adjust("40 seconds")
      assert.strictEqual(yield* r.getOrCreate("k", creator), "v")
      yield* TestClock.adjust("50 seconds")
      assert.isTrue(Option.isSome(yield* backend.get("ttl:k")))
      yield* TestClock.adjust("15 seconds")
      assert.isTrue(Option.isNone(yield* backend.get("ttl:k")))
    }).pipe(Effect.provide(Layer.mergeAll(MemoryBackend.layer(), Lock.layerLocal))))
})
