/**
 * Issue 24, finding 1 on a Cluster: one master of three is SIGSTOPped (or
 * paused with CLIENT PAUSE) while callers of cold keys on every master are
 * mid-way. Counts and ratios, never a wall-clock bound:
 * - callers of keys on the silent master, three per key, queued on one
 *   another: none takes over 1.6x the quickest silenced call of its round (a
 *   call that waits for another's timeout before starting its own takes 2x);
 * - callers of keys on the other masters: none waits on the silence (none
 *   takes half the quickest silenced call of its round).
 */
import { assert, describe, it } from "@effect/vitest"
import { Region } from "@dogpile-effect/core"
import { KeySlot, RedisBackend, RedisClient, RedisLock } from "@dogpile-effect/redis"
import { Effect, Exit, Fiber, Layer, Logger, Schema } from "effect"
import { Redis } from "ioredis"
import { afterAll, beforeAll } from "vitest"
import { type RedisCluster, startRedisCluster } from "../../../test-support/redis-server.ts"
import { timed } from "./silentServer.ts"

const TIMEOUT_MS = 500
const LATE = 1.6
const ROUNDS = 6

let cluster: RedisCluster | undefined
beforeAll(async () => {
  // A long node timeout: the peers of a SIGSTOPped master never mark it failed (no CLUSTERDOWN) during a round.
  cluster = await startRedisCluster(3, { nodeTimeoutMs: 30_000 })
}, 60_000)
afterAll(async () => {
  await cluster?.dispose()
})

const sleep = (ms: number) => Effect.promise(() => new Promise<void>((resolve) => setTimeout(resolve, ms)))

/** For each master (by index in `cluster.servers`), a hash tag whose slot it serves. */
const tagsByMaster = async (c: RedisCluster): Promise<ReadonlyArray<string>> => {
  const probe = new Redis({ port: c.servers[0]!.port, lazyConnect: true })
  await probe.connect()
  const ranges = (await probe.call("CLUSTER", "SLOTS")) as ReadonlyArray<[number, number, [string, number]]>
  probe.disconnect()
  const ownerOf = (slot: number) => {
    const range = ranges.find(([from, to]) => slot >= from && slot <= to)
    return c.servers.findIndex((server) => server.port === range?.[2][1])
  }
  return c.servers.map((_, master) => {
    for (let i = 0;; i++) {
      const tag = `{m${master}-${i}}`
      if (ownerOf(KeySlot.slot(tag)) === master) return tag
    }
  })
}

describe("a silent master of a 3-master Cluster (issue 24, finding 1)", () => {
  it.live("callers behind the silent master answer within their own deadline; callers of other masters do not wait", () =>
    Effect.gen(function*() {
      const c = cluster as RedisCluster
      const tags = yield* Effect.promise(() => tagsByMaster(c))
      const layer = Layer.mergeAll(RedisBackend.layer(), RedisLock.layer({ releaseWait: 0 })).pipe(
        Layer.provideMerge(RedisClient.layer({ nodes: c.nodes, commandTimeout: TIMEOUT_MS }))
      )
      const ctx = yield* Layer.build(layer)
      const late: Array<number> = []
      const waitedElsewhere: Array<number> = []
      let silencedCalls = 0
      let otherCalls = 0
      let failedElsewhere = 0
      for (let round = 0; round < ROUNDS; round++) {
        const silent = round % 3
        const stopped = round % 2 === 0
        const region = yield* Region.make({ name: `cluster-queued-${round}`, schema: Schema.Number, expiration: "1 minute" })
          .pipe(Effect.provide(Layer.succeedContext(ctx)))
        // Warm every master's connection.
        for (const tag of tags) yield* region.get(`${tag}warm`)
        const slowCreator = Effect.as(sleep(30), 1)
        const fibers: Array<{ master: number; fiber: Fiber.Fiber<{ exit: Exit.Exit<number, unknown>; ms: number }> }> = []
        for (const gap of [0, 2, 2]) {
          yield* sleep(gap)
          tags.forEach((tag, master) => {
            fibers.push({ master, fiber: Effect.runFork(timed(region.getOrCreate(`${tag}cold-${round}`, slowCreator))) })
          })
        }
        yield* sleep(10 + (round % 3) * 8)
        const control = new Redis({ port: c.servers[silent]!.port, lazyConnect: true })
        if (stopped) c.servers[silent]!.signal("SIGSTOP")
        else {
          yield* Effect.promise(() => control.connect())
          yield* Effect.promise(() => control.call("CLIENT", "PAUSE", "1500", "ALL"))
        }
        const results = yield* Effect.forEach(fibers, ({ fiber, master }) => Effect.map(Fiber.join(fiber), (r) => ({ ...r, master })))
        if (stopped) c.servers[silent]!.signal("SIGCONT")
        else yield* Effect.promise(() => control.call("CLIENT", "UNPAUSE").catch(() => undefined))
        control.disconnect()
        const silenced = results.filter((r) => r.master === silent && r.ms >= TIMEOUT_MS * 0.9).map((r) => r.ms)
        silencedCalls += silenced.length
        const quickest = Math.min(...silenced)
        if (silenced.length > 0) late.push(...silenced.filter((ms) => ms > quickest * LATE))
        for (const r of results.filter((r) => r.master !== silent)) {
          otherCalls++
          if (Exit.isFailure(r.exit)) failedElsewhere++
          if (silenced.length > 0 && r.ms >= quickest * 0.5) waitedElsewhere.push(r.ms)
        }
        // Every master answers again before the next round.
        yield* Effect.promise(() => c.awaitOk())
        yield* sleep(50)
      }
      console.log(
        `cluster, one silent master: ${silencedCalls} silenced calls, ${late.length} late; ` +
          `${otherCalls} calls on other masters, ${failedElsewhere} failed, ${waitedElsewhere.length} waited`
      )
      assert.isAtLeast(silencedCalls, ROUNDS, "some calls waited on the silent master")
      assert.deepStrictEqual(late.map(Math.round), [], `silenced calls over ${LATE} x the quickest silenced call of their round`)
      assert.deepStrictEqual(waitedElsewhere.map(Math.round), [], "calls on other masters that waited on the silence")
      assert.strictEqual(failedElsewhere, 0)
    }).pipe(Effect.scoped, Effect.provide(Logger.layer([]))), { timeout: 120_000 })
})
