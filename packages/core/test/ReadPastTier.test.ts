/**
 * A backend with a tier in this process (a near cache) may hold a copy whose
 * invalidation is still on its way. The dogpile's re-reads (after taking the
 * lock, after waiting for another creator) go past it with `getManyFromStore`.
 * (With a value present, stale, there is no re-read: dogpile's rule.)
 */
import { assert, describe, it } from "@effect/vitest"
import { Backend, Codec, Lock, MemoryBackend, Region } from "@dogpile-effect/core"
import { Effect, Layer, Option } from "effect"
import { TestClock } from "effect/testing"

/**
 * The store, plus a "local tier" that answers `get`/`getMany` with the bytes
 * it held when `freeze` ran: a copy whose invalidation has not arrived.
 * (No `peek`: every read goes through `get`.)
 */
const withStaleTier = Effect.gen(function*() {
  const store = yield* MemoryBackend.make()
  let frozen: Map<string, Uint8Array> | undefined
  const local = (key: string) =>
    frozen?.has(key) === true ? Effect.succeed(Option.some(frozen.get(key)!)) : store.get(key)
  const backend = Backend.of({
    name: store.name,
    capabilities: store.capabilities,
    set: store.set,
    setMany: store.setMany,
    delete: store.delete,
    deleteMany: store.deleteMany,
    get: (key) => typeof key === "string" ? local(key) : store.get(key),
    getMany: (keys) => Effect.forEach(keys, (key) => typeof key === "string" ? local(key) : store.get(key)),
    getManyFromStore: (keys) => store.getMany(keys)
  })
  const freeze = (keys: ReadonlyArray<string>) =>
    Effect.map(store.getMany(keys), (found) => {
      frozen = new Map(keys.flatMap((key, i) => (found[i]?._tag === "Some" ? [[key, found[i].value] as const] : [])))
    })
  return { backend, freeze }
})

describe("re-reads past an in-process tier", () => {
  it.effect("after a hard invalidation, a value another process created meanwhile is used, not created again", () =>
    Effect.gen(function*() {
      const { backend, freeze } = yield* withStaleTier
      const layer = Layer.mergeAll(Layer.succeed(Backend, backend), Codec.layerJson, Lock.layerLocal)
      yield* Effect.gen(function*() {
        const region = yield* Region.make<string>({ name: "tier", expiration: "1 minute" })
        const other = yield* Region.make<string>({ name: "tier", expiration: "1 minute" })
        let runs = 0
        yield* region.set("k", "old")
        yield* TestClock.adjust("1 second")
        yield* other.invalidate({ hard: true }) // "old" reads as missing now
        yield* TestClock.adjust("1 second")
        yield* freeze(["tier:k"]) // the local tier keeps the invalidated copy…
        yield* other.set("k", "new") // …while another process stores a new value
        const value = yield* region.getOrCreate("k", Effect.sync(() => `created ${++runs}`))
        assert.strictEqual(value, "new")
        assert.strictEqual(runs, 0)
      }).pipe(Effect.scoped, Effect.provide(layer))
    }))

  it.effect("without getManyFromStore the same backend re-reads its tier (the test can fail)", () =>
    Effect.gen(function*() {
      const { backend, freeze } = yield* withStaleTier
      const { getManyFromStore: _, ...tierOnly } = backend
      const layer = Layer.mergeAll(Layer.succeed(Backend, Backend.of(tierOnly)), Codec.layerJson, Lock.layerLocal)
      yield* Effect.gen(function*() {
        const region = yield* Region.make<string>({ name: "tier2", expiration: "1 minute" })
        let runs = 0
        yield* region.set("k", "old")
        yield* TestClock.adjust("1 second")
        yield* region.invalidate({ hard: true })
        yield* TestClock.adjust("1 second")
        yield* freeze(["tier2:k"])
        yield* region.set("k", "new")
        const value = yield* region.getOrCreate("k", Effect.sync(() => `created ${++runs}`))
        assert.strictEqual(value, "created 1")
        assert.strictEqual(runs, 1)
      }).pipe(Effect.scoped, Effect.provide(layer))
    }))
})
