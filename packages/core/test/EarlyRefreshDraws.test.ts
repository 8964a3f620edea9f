/**
 * XFetch's chance per read is p, from one draw per read. Over a backend that
 * answers in process (`MemoryBackend`: the fast path, then the full read it
 * falls back to) a read must not draw twice: with two draws a refresh starts
 * only when both pass, p² instead of p.
 *
 * 400 keys, each created by a 1 s creator (TestClock), expiration 10 s,
 * β = 1, read 9 s after creation: 1 s before expiry, so a read refreshes early
 * iff −ln(u)·1000 ≥ 1000, i.e. u ≤ e^−1 ≈ 0.368 (p² ≈ 0.135). Each key is read
 * once while fresh first, so the measured reads take the fast path.
 */
import { assert, describe, it } from "@effect/vitest"
import { Codec, Lock, MemoryBackend, Region } from "@dogpile-effect/core"
import { Effect, Fiber, Layer, Random } from "effect"
import { TestClock } from "effect/testing"

const KEYS = 400
const P = Math.exp(-1)
const keys = Array.from({ length: KEYS }, (_, i) => `k${i}`)

/** A `Random` that counts its draws and hands out `next(i)` for the i-th. */
const counting = (next: (i: number) => number) => {
  const state = { draws: 0 }
  const random: Random.Random = {
    nextDoubleUnsafe: () => next(state.draws++),
    nextIntUnsafe: () => 0
  }
  return { state, random }
}

const fixed = (u: number): Random.Random => ({ nextDoubleUnsafe: () => u, nextIntUnsafe: () => 0 })

/**
 * Creates every key (1 s creators, clock at 1 s), reads each once, moves the clock to 9 s after creation, reads every
 * key once through `read` (inside `reading`, which provides the Random), lets the background refreshes
 * finish, and returns how many reads started one.
 */
const refreshesAfterOneRead = (
  read: (region: Region.Region<number>, creator: Effect.Effect<number>) => Effect.Effect<unknown, unknown>,
  reading: <X, E>(self: Effect.Effect<X, E>) => Effect.Effect<X, E>
): Effect.Effect<number, unknown> =>
  Effect.gen(function*() {
    const region = yield* Region.make<number>({ name: "xfetch-draws", expiration: "10 seconds", earlyRefresh: { beta: 1 } })
    let runs = 0
    const creator = Effect.andThen(Effect.sleep("1 second"), Effect.sync(() => ++runs))
    const created = yield* Effect.forkChild(
      Effect.forEach(keys, (key) => region.getOrCreate(key, creator), { concurrency: "unbounded", discard: true })
    )
    yield* TestClock.adjust("1 second")
    yield* Fiber.join(created)
    assert.strictEqual(runs, KEYS)
    // One read each while fresh (a draw of 0.5 refreshes nothing): the in-process store now hands back
    // bytes already decoded, so the next reads take the fast path.
    yield* eachGetOrCreate(region, creator).pipe(Effect.provideService(Random.Random, fixed(0.5)))
    yield* TestClock.adjust("9 seconds")
    yield* reading(read(region, creator))
    yield* TestClock.adjust("1 second")
    yield* region.awaitBackground
    return runs - KEYS
  }).pipe(Effect.scoped, Effect.provide(Layer.mergeAll(MemoryBackend.layer(), Codec.layerJson, Lock.layerLocal)))

const eachGetOrCreate = (region: Region.Region<number>, creator: Effect.Effect<number>) =>
  Effect.forEach(keys, (key) => region.getOrCreate(key, creator), { discard: true })

/** Every key in one batch, whose creator runs `creator` once per key it is given. */
const oneBatch = (region: Region.Region<number>, creator: Effect.Effect<number>) =>
  region.getOrCreateMany(keys, (chosen) => Effect.forEach(chosen, () => creator, { concurrency: "unbounded" }))

/** A spread of draws over [0, 1) in no particular order: i·φ mod 1. */
const golden = (i: number) => (i * 0.6180339887498949 + 0.5 / KEYS) % 1

describe("early refresh draws once per read", () => {
  it.effect("seeded Random, 400 keys at p = e^-1: the fraction refreshed is p (not p²), within 4 standard deviations", () =>
    Effect.gen(function*() {
      const refreshed = yield* refreshesAfterOneRead(eachGetOrCreate, Random.withSeed("xfetch-400"))
      const fraction = refreshed / KEYS
      const tolerance = 4 * Math.sqrt((P * (1 - P)) / KEYS)
      assert.isTrue(
        Math.abs(fraction - P) <= tolerance,
        `${refreshed} of ${KEYS} reads refreshed early (${fraction.toFixed(3)}); expected ${P.toFixed(3)} ± ${tolerance.toFixed(3)} (p² = ${(P * P).toFixed(3)})`
      )
    }))

  it.effect("getOrCreate of each key: exactly one draw per read, and a read refreshes iff its own draw passes", () =>
    Effect.gen(function*() {
      const { random, state } = counting(golden)
      const refreshed = yield* refreshesAfterOneRead(eachGetOrCreate, Effect.provideService(Random.Random, random))
      const expected = keys.filter((_, i) => golden(i) <= P).length
      assert.strictEqual(state.draws, KEYS)
      assert.strictEqual(refreshed, expected)
    }))

  it.effect("getOrCreateMany of every key: exactly one draw per key read, and the keys whose draw passes are refreshed", () =>
    Effect.gen(function*() {
      const { random, state } = counting(golden)
      const refreshed = yield* refreshesAfterOneRead(oneBatch, Effect.provideService(Random.Random, random))
      assert.strictEqual(state.draws, KEYS)
      assert.strictEqual(refreshed, keys.filter((_, i) => golden(i) <= P).length)
    }))
})
