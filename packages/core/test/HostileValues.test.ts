import { assert, describe, it } from "@effect/vitest"
import { Codec, Lock, MemoryBackend, Region } from "@dogpile-effect/core"
import { Cause, Effect, Exit, Layer, Option, Schema } from "effect"

const memory = () => Layer.mergeAll(MemoryBackend.layer(), Codec.layerJson, Lock.layerLocal)

/** A value that throws on any inspection: a revoked Proxy. */
const revoked = (): object => {
  const { proxy, revoke } = Proxy.revocable({}, {})
  revoke()
  return proxy
}

/** The failure's tag, or "defect: …" when the call died instead of failing with a typed error. */
const outcome = <A, E extends { readonly _tag: string }>(effect: Effect.Effect<A, E>) =>
  Effect.map(Effect.exit(effect), (exit) => {
    if (Exit.isSuccess(exit)) return "success"
    const failure = Cause.findErrorOption(exit.cause)
    return Option.isSome(failure) ? failure.value._tag : `defect: ${Cause.pretty(exit.cause).split("\n")[0]}`
  })

describe("values that throw when inspected are typed errors, never defects (issue 24, finding 4)", () => {
  it.effect("getOrCreate, getOrCreateMany, set and setMany of a revoked Proxy fail with EncodeError", () =>
    Effect.gen(function*() {
      const region = yield* Region.make<unknown>({ name: "hostile-values" })
      assert.strictEqual(yield* outcome(region.set("s", revoked())), "EncodeError", "set (already typed)")
      assert.strictEqual(yield* outcome(region.setMany([["m", revoked()]])), "EncodeError", "setMany (already typed)")
      assert.strictEqual(yield* outcome(region.getOrCreate("g", Effect.sync(revoked))), "EncodeError", "getOrCreate")
      assert.strictEqual(
        yield* outcome(region.getOrCreateMany(["a", "b"], () => Effect.sync(() => [1, revoked()]))),
        "EncodeError",
        "getOrCreateMany"
      )
      assert.strictEqual(
        yield* outcome(region.getOrCreateMany(["c", "d"], () => Effect.sync(() => revoked() as Array<unknown>))),
        "CreatorResultError",
        "a creator's list that throws when inspected"
      )
      assert.deepStrictEqual(yield* region.get("g"), Option.none(), "nothing stored")
    }).pipe(Effect.scoped, Effect.provide(memory())))

  it.effect("a Schema region and a region with tags give the same typed error", () =>
    Effect.gen(function*() {
      const schema = yield* Region.make({ name: "hostile-schema", schema: Schema.Struct({ n: Schema.Number }) })
      const tagged = yield* Region.make<unknown>({ name: "hostile-tagged" })
      assert.strictEqual(
        yield* outcome(schema.getOrCreate("g", Effect.sync(() => revoked() as { n: number }))),
        "EncodeError"
      )
      assert.strictEqual(yield* outcome(tagged.getOrCreate("t", Effect.sync(revoked), { tags: ["t"] })), "EncodeError")
    }).pipe(Effect.scoped, Effect.provide(memory())))
})
