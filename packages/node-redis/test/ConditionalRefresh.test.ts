/**
 * Conditional refresh (issue 26, item 2) against NodeRedisBackend +
 * NodeRedisLock: core's suite, renewals in place through the Redis backend's
 * script; then, on a private server, what one renewal sends: no SET, one
 * script (`EVALSHA`, after a first use that loads it with `EVAL`), a fraction of
 * the value's bytes.
 */
import { assert, describe, it } from "@effect/vitest"
import { Conditional, Lock, Region } from "@dogpile-effect/core"
import { NodeRedisBackend, NodeRedisLock } from "@dogpile-effect/node-redis"
import { NodeRedis } from "@effect/platform-node/NodeRedis"
import { Effect, Layer, Option, Schema } from "effect"
import { TestClock } from "effect/testing"
import { inject } from "vitest"
import { startRedisServer } from "../../../test-support/redis-server.ts"
import { conditionalRefresh } from "../../core/test/conditionalRefresh.ts"
import { nodeRedis } from "./clients.ts"

const url = inject("redisUrl")

conditionalRefresh({
  name: "node-redis",
  layer: () => Layer.mergeAll(NodeRedisBackend.layer(), NodeRedisLock.layer()).pipe(Layer.provide(nodeRedis(url)))
})

/** SET and script calls, and bytes in, from `INFO all`. */
const counters = Effect.gen(function*() {
  const { client } = yield* NodeRedis
  const info = yield* Effect.promise(() => client.info("all"))
  const calls = (command: string) => Number(new RegExp(`cmdstat_${command}:calls=(\\d+)`).exec(info)?.[1] ?? 0)
  return {
    sets: calls("set"),
    scripts: calls("evalsha") + calls("eval"),
    input: Number(/total_net_input_bytes:(\d+)/.exec(info)?.[1] ?? 0)
  }
})

describe("conditional refresh over node-redis: what a renewal sends", () => {
  it.effect("no SET, one script, under 2% of the value's bytes in; the next read is fresh", () =>
    Effect.gen(function*() {
      const server = yield* Effect.acquireRelease(Effect.promise(() => startRedisServer()), (s) => Effect.promise(() => s.dispose()))
      yield* Effect.gen(function*() {
        const r = yield* Region.make({ name: "cr", schema: Schema.String, expiration: "1 minute" })
        const body = "z".repeat(100_000)
        let calls = 0
        const creator = Conditional.make((previous: Option.Option<Conditional.Previous<string>>) =>
          Effect.sync(() => (calls++, Option.isSome(previous) ? Conditional.notModified : Conditional.fresh(body, { validator: "v1" }))))
        yield* r.getOrCreate("doc", creator)
        // The first renewal loads the script (EVALSHA answers NOSCRIPT, then EVAL); the second is measured.
        yield* TestClock.adjust("2 minutes")
        assert.strictEqual(yield* r.getOrCreate("doc", creator), body)
        yield* TestClock.adjust("2 minutes")
        const start = yield* counters
        assert.strictEqual(yield* r.getOrCreate("doc", creator), body)
        const end = yield* counters
        assert.strictEqual(end.sets - start.sets, 0)
        assert.strictEqual(end.scripts - start.scripts, 1)
        assert.isBelow(end.input - start.input, body.length / 50)
        yield* TestClock.adjust("30 seconds")
        assert.strictEqual(yield* r.getOrCreate("doc", creator), body)
        assert.strictEqual(calls, 3)
      }).pipe(Effect.provide(Layer.mergeAll(NodeRedisBackend.layer(), Lock.layerLocal).pipe(Layer.provideMerge(nodeRedis(server.url)))))
    }).pipe(Effect.scoped))
})
