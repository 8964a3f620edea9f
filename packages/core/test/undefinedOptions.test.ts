/**
 * Options given as `undefined` (which `?: T | undefined` lets a caller with
 * exactOptionalPropertyTypes write, e.g. from a missing configuration value)
 * mean the default, exactly as a left-out option does.
 */
import { assert, describe, it } from "@effect/vitest"
import { Codec, Lock, MemoryBackend, Region } from "@dogpile-effect/core"
import { Effect, Layer, Option } from "effect"
import { TestClock } from "effect/testing"

const services = Layer.mergeAll(MemoryBackend.layer({ capacity: undefined, hashKeys: undefined }), Codec.layerJson, Lock.layerLocal)

const allUndefined: Omit<Region.RegionOptions<number>, "name"> = {
  namespace: undefined,
  schema: undefined,
  codec: undefined,
  expiration: undefined,
  storeTtl: undefined,
  lockTimeout: undefined,
  keyMangler: undefined,
  maxKeyLength: undefined,
  envelope: undefined,
  shouldCache: undefined,
  staleIfError: undefined,
  backgroundRefresh: undefined,
  onBackendError: undefined,
  softTimeout: undefined,
  hardTimeout: undefined,
  earlyRefresh: undefined
}

/** What a region does with its defaults: the entry it writes, its expiry, a long key's fate. */
const observe = (region: Region.Region<number>) =>
  Effect.gen(function*() {
    const created = yield* region.getOrCreate("k", Effect.succeed(1), {
      expiration: undefined,
      shouldCache: undefined,
      staleIfError: undefined,
      backgroundRefresh: undefined,
      tags: undefined,
      softTimeout: undefined,
      hardTimeout: undefined
    })
    yield* region.set("s", 2, { expiration: undefined, tags: undefined })
    const info = Option.map(yield* region.inspect("k"), ({ backendKey, expiresAt, state, tags }) => ({ backendKey, expiresAt, state, tags }))
    const longKey = yield* Effect.exit(region.get("x".repeat(Region.DEFAULT_MAX_KEY_LENGTH + 1), { expiration: undefined, ignoreExpiration: undefined }))
    return { created, info, stored: yield* region.get("s"), longKeyFails: longKey._tag === "Failure" }
  })

describe("undefined options are the defaults (core)", () => {
  it.effect("a region whose every option is undefined writes, expires and refuses like one with none", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(1_000_000)
      const plain = yield* observe(yield* Region.make<number>({ name: "plain" }).pipe(Effect.provide(services)))
      const undef = yield* observe(yield* Region.make<number>({ name: "plain", ...allUndefined }).pipe(Effect.provide(services)))
      assert.deepStrictEqual(undef, plain)
      assert.isTrue(plain.longKeyFails)
    }).pipe(Effect.scoped))

  it.effect("MemoryBackend with capacity undefined is unbounded like the default, not capacity 0", () =>
    Effect.gen(function*() {
      const region = yield* Region.make<number>({ name: "many" }).pipe(Effect.provide(services))
      for (let i = 0; i < 1000; i++) yield* region.set(`k${i}`, i)
      assert.deepStrictEqual(yield* region.get("k0"), Option.some(0))
      assert.deepStrictEqual(yield* region.get("k999"), Option.some(999))
    }).pipe(Effect.scoped))
})
