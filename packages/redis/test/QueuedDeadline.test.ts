/**
 * Issue 24, finding 1: a caller queued behind another caller of the same key
 * (the in-process dogpile, the lock) must answer within its own deadline,
 * not after the one ahead of it has used up its own. Three callers of one cold
 * key start 0, 2 and 4 ms apart; the server is SIGSTOPped or paused a few ms
 * later. A ratio, not a wall-clock bound: each call that waited on the silence
 * is compared with the quickest such call of its own round (which timed out
 * once, and carries the same load-induced lag), times 1.6: a margin no queued
 * second timeout fits in (it takes 2x).
 */
import { assert, describe, it } from "@effect/vitest"
import { Region } from "@dogpile-effect/core"
import { RedisBackend, RedisClient, RedisLock } from "@dogpile-effect/redis"
import { Context, Effect, Exit, Fiber, Layer, Logger, Schedule, Schema } from "effect"
import { privateServer, timed } from "./silentServer.ts"

const TIMEOUT_MS = 500
/** Over this multiple of its bound a call counts as late: a second timeout queued behind the first takes 2x or more. */
const LATE = 1.6
const ROUNDS = 6

/**
 * The calls of one round that waited on the silence (answered after 0.9x the timeout) and took over LATE
 * times the quickest of them: a call that waited for another's timeout before starting its own.
 */
const lateIn = (round: ReadonlyArray<number>): ReadonlyArray<number> => {
  const silenced = round.filter((ms) => ms >= TIMEOUT_MS * 0.9)
  if (silenced.length === 0) return []
  const quickest = Math.min(...silenced)
  return silenced.filter((ms) => ms > quickest * LATE)
}

const sleep = (ms: number) => Effect.promise(() => new Promise<void>((resolve) => setTimeout(resolve, ms)))

describe("callers queued on one key against a silent server (issue 24, finding 1)", () => {
  it.live("every caller answers within its own deadline: none waits for the call ahead to time out first", () =>
    Effect.gen(function*() {
      const server = yield* privateServer
      const layer = Layer.mergeAll(RedisBackend.layer(), RedisLock.layer({ releaseWait: 0 })).pipe(
        Layer.provideMerge(RedisClient.layer({ url: server.url, commandTimeout: TIMEOUT_MS }))
      )
      const ctx = yield* Layer.build(layer)
      const redis = Context.get(ctx, RedisClient.RedisClient)
      const control = Context.get(yield* Layer.build(RedisClient.layer({ url: server.url })), RedisClient.RedisClient)
      const elapsed: Array<number> = []
      const late: Array<number> = []
      let failures = 0
      for (let round = 0; round < ROUNDS; round++) {
        const region = yield* Region.make({ name: `queued-${round}`, schema: Schema.Number, expiration: "1 minute" }).pipe(
          Effect.provide(Layer.succeedContext(ctx))
        )
        // Warm the marks: the calls below go straight to the key and its lock.
        yield* region.get("warm")
        const slowCreator = Effect.as(sleep(30), 1)
        const fibers = []
        for (const gap of [0, 2, 2]) {
          yield* sleep(gap)
          fibers.push(yield* Effect.forkChild(timed(region.getOrCreate("cold", slowCreator))))
        }
        yield* sleep(10 + (round % 3) * 8)
        const paused = round % 2 === 0
        if (paused) server.signal("SIGSTOP")
        else yield* control.use("pause", (c) => c.call("CLIENT", "PAUSE", "1500", "ALL"))
        const results = yield* Fiber.joinAll(fibers)
        if (paused) server.signal("SIGCONT")
        else yield* control.use("unpause", (c) => c.call("CLIENT", "UNPAUSE")).pipe(Effect.ignore)
        for (const { exit, ms } of results) {
          elapsed.push(ms)
          if (Exit.isFailure(exit)) failures++
        }
        late.push(...lateIn(results.map((r) => r.ms)))
        yield* Effect.retry(redis.use("ping", (c) => c.ping()), { times: 200, schedule: Schedule.spaced("25 millis") })
        yield* redis.use("flush", (c) => c.flushall())
      }
      console.log(`queued callers: ${elapsed.length} calls, ${failures} failed, elapsed ms ${elapsed.map(Math.round).join(" ")}`)
      assert.deepStrictEqual(late.map(Math.round), [], `calls over ${LATE} x the quickest silenced call of their round`)
    }).pipe(Effect.scoped, Effect.provide(Logger.layer([]))), { timeout: 120_000 })

  it.live("two processes: a caller waiting for the other's creation answers within one bound after the silence ends", () =>
    Effect.gen(function*() {
      const server = yield* privateServer
      const layerOf = () =>
        Layer.mergeAll(RedisBackend.layer(), RedisLock.layer({ releaseWait: 0 })).pipe(
          Layer.provideMerge(RedisClient.layer({ url: server.url, commandTimeout: TIMEOUT_MS }))
        )
      const contexts = [yield* Layer.build(layerOf()), yield* Layer.build(layerOf())]
      const redis = Context.get(contexts[0]!, RedisClient.RedisClient)
      const SILENCE_MS = 1_200
      const late: Array<string> = []
      let waited = 0
      let failedAfter = 0
      for (let round = 0; round < 6; round++) {
        const regions = yield* Effect.forEach(contexts, (ctx) =>
          Region.make({ name: `two-${round}`, schema: Schema.Number, expiration: "1 minute" }).pipe(
            Effect.provide(Layer.succeedContext(ctx))
          ))
        yield* Effect.forEach(regions, (r) => r.get("warm"))
        // Many keys: the lock's release is a command of its own after the store (one key's is fused with it).
        const calls = regions.map((r) => timed(r.getOrCreateMany(["a", "b", "c"], (keys) => Effect.as(sleep(30), keys.map(() => 1)))))
        const first = yield* Effect.forkChild(calls[0]!)
        yield* sleep(3)
        const second = yield* Effect.forkChild(calls[1]!)
        yield* sleep(12)
        server.signal("SIGSTOP")
        yield* sleep(SILENCE_MS)
        server.signal("SIGCONT")
        const results = yield* Fiber.joinAll([first, second])
        // The caller that timed out against the silence: one bound, plus this machine's lag.
        const quickest = Math.min(...results.map((r) => r.ms))
        // A caller of the other process waits for the holder through the silence (its deadline is lockTimeout);
        // once the server answers again the holder's release must reach it within a fraction of one bound.
        for (const r of results) {
          if (r.ms > SILENCE_MS + quickest * (LATE - 1)) late.push(`${Math.round(r.ms)} (quickest ${Math.round(quickest)})`)
          if (r.ms >= SILENCE_MS) {
            waited++
            if (Exit.isFailure(r.exit)) failedAfter++
          }
        }
        yield* Effect.retry(redis.use("ping", (c) => c.ping()), { times: 200, schedule: Schedule.spaced("25 millis") })
        yield* redis.use("flush", (c) => c.flushall())
      }
      console.log(
        `two processes: ${waited} callers waited through the silence (${failedAfter} of them failed), late: ${late.join(", ") || "none"}`
      )
      assert.deepStrictEqual(late, [], "callers answered over one bound after the silence ended")
    }).pipe(Effect.scoped, Effect.provide(Logger.layer([]))), { timeout: 120_000 })

  it.live("public calls of every kind, the server silenced at pseudo-random points: none waits for another's timeout", () =>
    Effect.gen(function*() {
      const server = yield* privateServer
      const layer = Layer.mergeAll(RedisBackend.layer(), RedisLock.layer({ releaseWait: 0 })).pipe(
        Layer.provideMerge(RedisClient.layer({ url: server.url, commandTimeout: TIMEOUT_MS }))
      )
      const ctx = yield* Layer.build(layer)
      const redis = Context.get(ctx, RedisClient.RedisClient)
      const control = Context.get(yield* Layer.build(RedisClient.layer({ url: server.url })), RedisClient.RedisClient)
      // A fixed sequence (an LCG): the same points on every run.
      let seed = 24
      const next = (n: number) => {
        seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31
        return seed % n
      }
      const creator = Effect.suspend(() => Effect.as(sleep(10 + next(50)), 1))
      const kinds: ReadonlyArray<(r: Region.Region<number>) => Effect.Effect<unknown, unknown>> = [
        (r) => r.getOrCreate("cold", creator),
        (r) => r.getOrCreate("cold", creator),
        (r) => r.getOrCreate("tagged", creator, { tags: ["t"] }),
        (r) => r.getOrCreateMany(["a", "b", "cold"], (keys) => Effect.as(sleep(10 + next(50)), keys.map(() => 1))),
        (r) => r.get("warm"),
        (r) => r.set("w", 1),
        (r) => r.delete("w"),
        (r) => r.invalidateTags(["t"]),
        (r) => r.getMany(["a", "warm"]),
        (r) => r.has("cold")
      ]
      const elapsed: Array<number> = []
      const late: Array<number> = []
      let failed = 0
      for (let round = 0; round < 12; round++) {
        const region = yield* Region.make({ name: `random-${round}`, schema: Schema.Number, expiration: "1 minute" }).pipe(
          Effect.provide(Layer.succeedContext(ctx))
        )
        if (round % 3 !== 0) yield* region.get("warm")
        // The silence begins 0-29 ms after the first call starts, while the calls start 0-5 ms apart:
        // some calls are mid-way, some queued behind others, some start against a silent server.
        const stopped = round % 2 === 0
        const silenceAfter = next(30)
        const silencer = yield* Effect.forkChild(Effect.andThen(
          sleep(silenceAfter),
          stopped
            ? Effect.sync(() => server.signal("SIGSTOP"))
            : Effect.ignore(control.use("pause", (c) => c.call("CLIENT", "PAUSE", "1500", "ALL")))
        ))
        const fibers = []
        for (const call of kinds) {
          fibers.push(yield* Effect.forkChild(timed(call(region))))
          yield* sleep(next(6))
        }
        yield* Fiber.join(silencer)
        const results = yield* Fiber.joinAll(fibers)
        if (stopped) server.signal("SIGCONT")
        for (const { exit, ms } of results) {
          elapsed.push(ms)
          if (Exit.isFailure(exit)) failed++
        }
        late.push(...lateIn(results.map((r) => r.ms)))
        yield* Effect.retry(redis.use("ping", (c) => c.ping()), { times: 200, schedule: Schedule.spaced("25 millis") })
        yield* redis.use("flush", (c) => c.flushall())
      }
      const sorted = [...elapsed].sort((a, b) => a - b)
      console.log(
        `random silences: ${elapsed.length} calls (${failed} failed: silenced), max ${Math.round(sorted.at(-1)!)} ms, ` +
          `p99 ${Math.round(sorted[Math.floor(sorted.length * 0.99)]!)} ms, late (over ${LATE} x the quickest silenced call of their round): ${late.length}`
      )
      assert.deepStrictEqual(late.map(Math.round), [], `calls over ${LATE} x the quickest silenced call of their round`)
    }).pipe(Effect.scoped, Effect.provide(Logger.layer([]))), { timeout: 180_000 })
})
