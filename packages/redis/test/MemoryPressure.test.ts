/**
 * Memory pressure on a real server with `maxmemory` (issue 24):
 * - `noeviction`, full: writes fail with a BackendError naming OOM, reads keep serving;
 * - `allkeys-lru`: an evicted invalidation mark (region or tag) never brings an
 *   invalidated value back, for the process that saw the mark and for one that did not.
 */
import { assert, describe, it } from "@effect/vitest"
import { Region } from "@dogpile-effect/core"
import { RedisBackend, RedisClient, RedisLock } from "@dogpile-effect/redis"
import { Cause, Effect, Exit, Layer, Logger, Option, Ref } from "effect"
import { Redis } from "ioredis"
import { startRedisServer } from "../../../test-support/redis-server.ts"

const serverWith = (policy: string, maxmemory = "4mb") =>
  Effect.acquireRelease(
    Effect.promise(() => startRedisServer({ args: ["--maxmemory", maxmemory, "--maxmemory-policy", policy] })),
    (server) => Effect.promise(() => server.dispose())
  )

const rawClient = (url: string) =>
  Effect.acquireRelease(Effect.sync(() => new Redis(url)), (client) => Effect.promise(() => client.quit().catch(() => "")))

const regionLayer = (url: string) =>
  Layer.mergeAll(RedisBackend.layer(), RedisLock.layer({ releaseWait: 0 })).pipe(
    Layer.provideMerge(RedisClient.layer({ url }))
  )

const filler = "x".repeat(50_000)

const failureOf = <A, E>(exit: Exit.Exit<A, E>) =>
  Exit.isFailure(exit) ? Option.getOrUndefined(Cause.findErrorOption(exit.cause)) as { _tag?: string; message?: string } | undefined : undefined

describe("memory pressure (maxmemory)", () => {
  it.live("noeviction, full: writes fail with a BackendError naming OOM; reads (and hits of getOrCreate) keep serving", () =>
    Effect.gen(function*() {
      const server = yield* serverWith("noeviction")
      const raw = yield* rawClient(server.url)
      const ctx = yield* Layer.build(regionLayer(server.url))
      const region = yield* Region.make<number>({ name: "oom", expiration: "1 hour" }).pipe(Effect.provide(Layer.succeedContext(ctx)))
      yield* region.set("kept", 1)
      // Fill the server until it refuses even small writes (large ones first, then smaller).
      let full = false
      for (const size of [50_000, 1000, 20]) {
        full = false
        for (let i = 0; i < 20_000 && !full; i++) {
          full = yield* Effect.promise(() =>
            raw.set(`fill:${size}:${i}`, filler.slice(0, size)).then(() => false, (e: Error) => /^OOM/.test(e.message))
          )
        }
      }
      assert.isTrue(full, "the server reached maxmemory")
      const creations = yield* Ref.make(0)
      const creator = Effect.as(Ref.update(creations, (n) => n + 1), 2)
      const writes = [
        ["set", region.set("x", 2)],
        ["setMany", region.setMany([["y", 2], ["z", 3]])],
        ["getOrCreate of a missing key", region.getOrCreate("missing", creator)]
      ] as const
      for (const [name, write] of writes) {
        const error = failureOf(yield* Effect.exit(write as Effect.Effect<unknown, unknown>))
        assert.strictEqual(error?._tag, "BackendError", name)
        assert.include(error?.message ?? "", "out of memory (OOM)", name)
      }
      assert.deepStrictEqual(yield* region.get("kept"), Option.some(1), "reads keep serving")
      assert.strictEqual(yield* region.getOrCreate("kept", creator), 1, "a hit needs no write")
      assert.deepStrictEqual(yield* region.getMany(["kept", "x"]), [Option.some(1), Option.none()])
    }).pipe(Effect.scoped, Effect.provide(Logger.layer([]))), { timeout: 60_000 })

  for (const kind of ["region mark", "tag mark"] as const) {
    it.live(`allkeys-lru: an evicted ${kind} never brings an invalidated value back`, () =>
      Effect.gen(function*() {
        const server = yield* serverWith("allkeys-lru")
        const raw = yield* rawClient(server.url)
        const ctx = yield* Layer.build(regionLayer(server.url))
        const name = kind === "region mark" ? "evict-region" : "evict-tags"
        const make = Region.make<number>({ name, expiration: "1 hour" }).pipe(Effect.provide(Layer.succeedContext(ctx)))
        const seen = yield* make
        const keys = Array.from({ length: 20 }, (_, i) => `v${i}`)
        for (const key of keys) yield* seen.set(key, 1, { tags: ["t"] })
        yield* Effect.sleep("5 millis")
        if (kind === "region mark") yield* seen.invalidate({ hard: true })
        else yield* seen.invalidateTags(["t"], { hard: true })
        const markKey = kind === "region mark" ? `__dogpile__:{${name}}:invalidated:hard` : `__dogpile__:{${name}}:invalidated:tag:hard:t`
        assert.deepStrictEqual(yield* seen.get("v0"), Option.none(), "invalidated")
        // Redis' LRU clock ticks once a second: let the mark's last access fall a tick behind the
        // values' (touched below), and sample widely, so the mark, not the values, is evicted first.
        yield* Effect.promise(() => raw.config("SET", "maxmemory-samples", "64"))
        yield* Effect.sleep("1100 millis")
        // Fill the server, keeping the values hot (GET touches them), until the mark is evicted (EXISTS does not touch).
        const fullKeys = keys.map((key) => `${name}:${key}`)
        let evicted = false
        for (let i = 0; i < 2000 && !evicted; i++) {
          yield* Effect.promise(() => raw.set(`fill:${i}`, filler))
          yield* Effect.promise(() => raw.mget(...fullKeys))
          evicted = (yield* Effect.promise(() => raw.exists(markKey))) === 0
        }
        assert.isTrue(evicted, "the mark was evicted")
        const alive = (yield* Effect.promise(() => raw.mget(...fullKeys))).flatMap((v, i) => (v === null ? [] : [keys[i]!]))
        assert.isAbove(alive.length, 0, "some invalidated values outlived the mark")
        // The process that saw the mark re-reads it after its refresh window.
        yield* Effect.sleep("1100 millis")
        for (const key of alive) assert.deepStrictEqual(yield* seen.get(key), Option.none(), `${key}: the process that saw the mark`)
        const later = yield* make
        for (const key of alive) assert.deepStrictEqual(yield* later.get(key), Option.none(), `${key}: a process that never saw the mark`)
      }).pipe(Effect.scoped, Effect.provide(Logger.layer([]))), { timeout: 60_000 })
  }
})
