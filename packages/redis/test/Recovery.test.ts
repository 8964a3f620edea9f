/**
 * `Recovery.backend` against a real outage (issue 26 item 1): a private
 * redis-server holding 2,000 values is snapshotted (`SAVE`) and SIGKILLed;
 * during the outage region A issues `invalidate({ hard: true })` and 1,000
 * `set`s; the server restarts on the same port and directory, so it comes
 * back refilled from the snapshot taken before the outage (old values, old
 * marks). Once A's queue has replayed, none of three regions (A, B, C, each
 * with its own Redis connections, backend and in-process state, as three
 * processes would have) serves a value older than the invalidation, and
 * every `set` is visible; the same with the near cache on. Without the layer,
 * the same outage leaves B and C serving the pre-outage values.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit, Logger, Option } from "effect"
import { Redis } from "ioredis"
import type { RedisServer } from "../../../test-support/redis-server.ts"
import { keys, processOn, type Scenario, served } from "./recoveryProcess.ts"
import { privateServer } from "./silentServer.ts"

const raw = <A>(url: string, f: (client: Redis) => Promise<A>) =>
  Effect.promise(async () => {
    const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 })
    await client.connect()
    try {
      return await f(client)
    } finally {
      client.disconnect()
    }
  })

/** The outage of the module docs; returns what A, B and C serve afterwards, and A's recovery stats. */
const outage = (server: RedisServer, scenario: Scenario) =>
  Effect.gen(function*() {
    const [a, b, c] = yield* Effect.all([processOn(server.url, scenario), processOn(server.url, scenario), processOn(server.url, scenario)])
    yield* a.region.setMany(keys(0, 2000).map((k) => [k, "old"] as const))
    // B and C read everything first: their marks and near caches are warm with the old state.
    for (const p of [b, c]) assert.strictEqual((yield* served(p.region)).stale, 2000)
    yield* raw(server.url, (client) => client.save())
    yield* Effect.promise(() => server.kill())

    yield* Effect.sleep("20 millis")
    const invalidated = yield* Effect.exit(a.region.invalidate({ hard: true }))
    yield* Effect.sleep("2 millis")
    let setsAccepted = 0
    for (const k of keys(0, 1000)) if (Exit.isSuccess(yield* Effect.exit(a.region.set(k, "new")))) setsAccepted++

    yield* Effect.promise(() => server.start())
    const restored = yield* raw(server.url, (client) => client.dbsize())
    if (Option.isSome(a.recovery)) yield* Effect.timeout(a.recovery.value.awaitDrained, "20 seconds")
    // B and C re-read the marks at most a second later.
    yield* Effect.sleep("1200 millis")
    const after = yield* Effect.all([served(a.region), served(b.region), served(c.region)])
    const stats = Option.isSome(a.recovery) ? yield* a.recovery.value.stats : undefined
    return { invalidated: Exit.isSuccess(invalidated), setsAccepted, restored, after, stats }
  })

describe("Recovery against Redis SIGKILLed and restarted from a snapshot taken before the outage", () => {
  for (const near of [false, true]) {
    it.live(`${near ? "near cache on" : "no near cache"}: after the replay 0 of 2,000 values older than the hard invalidation are served by A, B or C, and 1,000/1,000 sets are visible`, () =>
      Effect.gen(function*() {
        const server = yield* privateServer
        const result = yield* outage(server, { near, recovery: true })
        console.log(`recovery (${near ? "near cache" : "redis"}): restored ${result.restored} keys from the snapshot; ` +
          `queued ${result.stats?.queued}, replayed ${result.stats?.replayed} after ${result.stats?.failedAttempts} failed probes; ` +
          `served after recovery: ${JSON.stringify(result.after)}`)
        assert.isTrue(result.invalidated)
        assert.strictEqual(result.setsAccepted, 1000)
        assert.isAtLeast(result.restored, 2000, "the server came back with the pre-outage snapshot")
        assert.strictEqual(result.stats?.pending, 0)
        assert.strictEqual(result.stats?.replayed, 1001)
        assert.strictEqual(result.stats?.rejected, 0)
        assert.strictEqual(result.stats?.dropped, 0)
        assert.deepStrictEqual(result.after, [
          { visible: 1000, stale: 0 },
          { visible: 1000, stale: 0 },
          { visible: 1000, stale: 0 }
        ])
      }).pipe(Effect.scoped, Effect.provide(Logger.layer([]))), 60_000)
  }

  it.live("without Recovery the invalidation and the sets fail, and B and C serve the 2,000 pre-outage values", () =>
    Effect.gen(function*() {
      const server = yield* privateServer
      const result = yield* outage(server, { near: false, recovery: false })
      assert.isFalse(result.invalidated)
      assert.strictEqual(result.setsAccepted, 0)
      assert.deepStrictEqual(result.after.slice(1), [{ visible: 0, stale: 2000 }, { visible: 0, stale: 2000 }])
    }).pipe(Effect.scoped, Effect.provide(Logger.layer([]))), 60_000)
})
