/**
 * Issue 24, finding 6: a region's own re-read after taking a lock goes past
 * the near cache. Process A keeps a near copy of an expired (or early-refresh)
 * entry whose invalidation is delayed (its tracking connection's socket is
 * paused: the server's invalidation waits unread); process B regenerates the
 * key and releases its lock. A then reads its old near copy, takes the free
 * lock, and must find B's value in Redis instead of running its creator a
 * second time. Exact counts of A's creator runs on the paths that take a lock
 * for a key that has a value: stale one key, stale many keys,
 * stale-while-revalidate (background refresh; an XFetch early refresh takes
 * the same path in the background).
 */
import { assert, describe, it } from "@effect/vitest"
import { Codec, Invalidation, Region } from "@dogpile-effect/core"
import { NearCache, RedisBackend, RedisClient, RedisLock } from "@dogpile-effect/redis"
import { Effect, Layer, Logger } from "effect"
import { Redis, type RedisOptions } from "ioredis"
import type { Socket } from "node:net"
import { startRedisServer } from "../../../test-support/redis-server.ts"

const ROUNDS = 8
const EXPIRATION_MS = 150

const privateServer = Effect.acquireRelease(
  Effect.promise(() => startRedisServer()),
  (server) => Effect.promise(() => server.dispose())
)

/** A client whose duplicates (the near cache's tracking subscriber among them) are kept, to pause their sockets. */
const recordingClient = (port: number) => {
  const client = new Redis({ port, lazyConnect: false, maxRetriesPerRequest: 0 })
  const duplicates: Array<Redis> = []
  const duplicate = client.duplicate.bind(client)
  client.duplicate = (override?: Partial<RedisOptions>) => {
    const made = duplicate(override)
    duplicates.push(made)
    return made
  }
  return { client, duplicates }
}

/** Stops (or resumes) reading the tracking subscriber's socket: invalidations wait in the socket buffer. */
const reading = (connections: ReadonlyArray<Redis>, on: boolean) => {
  for (const connection of connections) {
    const stream = (connection as unknown as { readonly stream: Socket }).stream
    if (on) stream.resume()
    else stream.pause()
  }
}

type Options = Parameters<typeof Region.make<string>>[0]

/**
 * Two processes' regions over one server: A through a near cache (its tracking subscriber recorded), B
 * plain; each with a lock of its own connection.
 */
const twoProcesses = (port: number, url: string, options: Omit<Options, "name">, lockPrefix?: string) =>
  Effect.gen(function*() {
    const { client, duplicates } = recordingClient(port)
    yield* Effect.addFinalizer(() => Effect.sync(() => client.disconnect()))
    const nearBackend = NearCache.layer({ maxAge: "never" }).pipe(
      Layer.provide(Layer.orDie(RedisBackend.layer())),
      Layer.provide(RedisClient.layerFrom(client))
    )
    const lockOf = () => RedisLock.layer({ releaseWait: 0, prefix: lockPrefix }).pipe(Layer.provide(RedisClient.layer({ url })))
    const contextA = yield* Layer.build(Layer.mergeAll(nearBackend, lockOf(), Codec.layerJson))
    const contextB = yield* Layer.build(
      Layer.mergeAll(RedisBackend.layer().pipe(Layer.provide(RedisClient.layer({ url }))), lockOf(), Codec.layerJson)
    )
    const a = yield* Region.make<string>({ name: "reread", ...options }).pipe(Effect.provide(Layer.succeedContext(contextA)))
    const b = yield* Region.make<string>({ name: "reread", ...options }).pipe(Effect.provide(Layer.succeedContext(contextB)))
    return { a, b, tracking: () => duplicates.filter((d) => d.options.autoResubscribe === false) }
  })

const sleep = (ms: number) => Effect.promise(() => new Promise<void>((resolve) => setTimeout(resolve, ms)))

/**
 * One scenario, ROUNDS times on fresh keys: A creates and reads the keys (near copies kept), they age
 * `ageMs`, A's invalidations are held back while B regenerates them, then A asks again. Returns how many
 * times A's creator ran in that last call, and what A got.
 */
const scenario = (
  options: Omit<Options, "name">,
  ageMs: number,
  keysOf: (round: number) => ReadonlyArray<string>,
  ask: (region: Region.Region<string>, keys: ReadonlyArray<string>, value: () => string) => Effect.Effect<ReadonlyArray<string>, unknown>
) =>
  Effect.gen(function*() {
    const server = yield* privateServer
    const { a, b, tracking } = yield* twoProcesses(server.port, server.url, options)
    let runsA = 0
    const got: Array<string> = []
    for (let round = 0; round < ROUNDS; round++) {
      const keys = keysOf(round)
      yield* ask(a, keys, () => "a1")
      // Read twice: the near copies are kept (and served) from here on.
      yield* ask(a, keys, () => "unused")
      yield* ask(a, keys, () => "unused")
      yield* sleep(ageMs)
      assert.isAtLeast(tracking().length, 1)
      reading(tracking(), false)
      yield* ask(b, keys, () => "b2")
      // B's regeneration (in the background with backgroundRefresh) has stored its value and released.
      yield* sleep(60)
      const values = yield* Effect.ensuring(
        Effect.tap(ask(a, keys, () => {
          runsA++
          return "a3"
        }), () => sleep(60)),
        Effect.sync(() => reading(tracking(), true))
      )
      got.push(...values)
      yield* sleep(20)
    }
    return { runsA, got }
  }).pipe(Effect.scoped, Effect.provide(Logger.layer([])))

const slowly = (value: () => string) => Effect.andThen(sleep(20), Effect.sync(value))

const one = (region: Region.Region<string>, keys: ReadonlyArray<string>, value: () => string) =>
  Effect.map(region.getOrCreate(keys[0]!, slowly(value)), (v) => [v])

const many = (region: Region.Region<string>, keys: ReadonlyArray<string>, value: () => string) =>
  region.getOrCreateMany(keys, (missing) => Effect.andThen(sleep(20), Effect.sync(() => missing.map(() => value()))))

describe("a lock holder's re-read goes past the near cache (issue 24, finding 6)", () => {
  it.live("stale, one key: A finds B's value after taking the lock and does not create again", () =>
    Effect.gen(function*() {
      const { got, runsA } = yield* scenario({ expiration: `${EXPIRATION_MS} millis` }, EXPIRATION_MS + 50, (r) => [`one-${r}`], one)
      assert.strictEqual(runsA, 0)
      assert.deepStrictEqual(got, Array.from({ length: ROUNDS }, () => "b2"))
    }), { timeout: 60_000 })

  it.live("stale, many keys: the same for every key of a getOrCreateMany", () =>
    Effect.gen(function*() {
      const { got, runsA } = yield* scenario(
        { expiration: `${EXPIRATION_MS} millis` },
        EXPIRATION_MS + 50,
        (r) => [`m-${r}-x`, `m-${r}-y`, `m-${r}-z`],
        many
      )
      assert.strictEqual(runsA, 0)
      assert.deepStrictEqual(got, Array.from({ length: ROUNDS * 3 }, () => "b2"))
    }), { timeout: 60_000 })

  it.live("hard-invalidated (a missing key's path): A takes the lock and finds B's value, one key and many keys", () =>
    Effect.gen(function*() {
      const server = yield* privateServer
      // Lock names of its own: the lock is not fused with the store (whose attempt checks Redis itself).
      const { a, b, tracking } = yield* twoProcesses(server.port, server.url, { expiration: "1 minute" }, "_mine:")
      let runsA = 0
      const got: Array<string> = []
      for (let round = 0; round < ROUNDS; round++) {
        const keys = [`inv-${round}`, `inv-${round}-y`]
        yield* many(a, keys, () => "a1")
        for (let i = 0; i < 2; i++) yield* a.getMany(keys)
        yield* sleep(5)
        yield* a.invalidate({ hard: true })
        reading(tracking(), false)
        yield* many(b, keys, () => "b2")
        const asked = round % 2 === 0 ? one : many
        const values = yield* Effect.ensuring(
          asked(a, keys, () => {
            runsA++
            return "a3"
          }),
          Effect.sync(() => reading(tracking(), true))
        )
        got.push(...values)
        yield* sleep(20)
      }
      assert.strictEqual(runsA, 0)
      assert.isTrue(got.every((v) => v === "b2"), got.join(" "))
    }).pipe(
      Effect.scoped,
      // Marks read on every call: B sees A's invalidation at once.
      Effect.provide(Layer.succeed(Invalidation.CurrentInvalidation, Invalidation.shared({ refresh: 0 }))),
      Effect.provide(Logger.layer([]))
    ), { timeout: 60_000 })

  it.live("stale-while-revalidate (background refresh): the background regeneration re-reads too", () =>
    Effect.gen(function*() {
      const { runsA } = yield* scenario(
        { expiration: `${EXPIRATION_MS} millis`, backgroundRefresh: true },
        EXPIRATION_MS + 50,
        (r) => [`swr-${r}`],
        one
      )
      assert.strictEqual(runsA, 0)
    }), { timeout: 60_000 })
})
