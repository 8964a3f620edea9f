/**
 * Early refresh (XFetch) under a hot key, on Redis, in real time: a key read
 * about 1,000 times a second, a 200 ms creator, a 2 s expiration, several
 * expiry periods; the same load with `earlyRefresh` on and off, side by side.
 * Reports reads that waited for a creator (latency ≥ 100 ms), reads that found
 * the value expired (misses after the cold start), creator runs and the
 * slowest read.
 *
 *   pnpm bench xfetch            (PERIODS=4 by default)
 */
import { Region } from "@dogpile-effect/core"
import { RedisBackend, RedisClient, RedisLock } from "@dogpile-effect/redis"
import { Effect, Fiber, Layer, Metric, Schema } from "effect"
import { startRedisServer } from "../test-support/redis-server.ts"

const PERIODS = Number(process.env["PERIODS"] ?? 4)
const EXPIRATION_MS = 5000
const CREATOR_MS = 200

const measure = (earlyRefresh: boolean) =>
  Effect.gen(function*() {
    const region = yield* Region.make({
      name: `xfetch-${earlyRefresh ? "on" : "off"}-${process.pid}`,
      schema: Schema.Number,
      expiration: EXPIRATION_MS,
      earlyRefresh
    })
    let creations = 0
    const creator = Effect.as(Effect.andThen(Effect.sync(() => creations++), Effect.sleep(CREATOR_MS)), 1)
    yield* region.getOrCreate("hot", creator) // the cold start
    const missesAtStart = (yield* Metric.value(region.metrics.misses)).count
    const creationsAtStart = creations
    const latencies: Array<number> = []
    const fibers: Array<Fiber.Fiber<void>> = []
    const until = performance.now() + PERIODS * EXPIRATION_MS
    while (performance.now() < until) {
      const start = performance.now()
      fibers.push(yield* Effect.forkChild(Effect.map(Effect.orDie(region.getOrCreate("hot", creator)), () => {
        latencies.push(performance.now() - start)
      })))
      yield* Effect.sleep("1 millis")
    }
    yield* Fiber.joinAll(fibers)
    yield* region.awaitBackground
    const sorted = [...latencies].sort((a, b) => a - b)
    return {
      reads: latencies.length,
      waited: latencies.filter((ms) => ms >= CREATOR_MS / 2).length,
      expiredReads: (yield* Metric.value(region.metrics.misses)).count - missesAtStart,
      creations: creations - creationsAtStart,
      p99: sorted[Math.floor(sorted.length * 0.99)] ?? Number.NaN,
      max: sorted[sorted.length - 1] ?? Number.NaN
    }
  }).pipe(Effect.scoped)

const main = async () => {
  const external = process.env["REDIS_URL"]
  const server = external === undefined ? await startRedisServer() : undefined
  try {
    const RedisLive = Layer.mergeAll(RedisBackend.layer(), RedisLock.layer()).pipe(
      Layer.provideMerge(RedisClient.layer({ url: external ?? server!.url }))
    )
    const rows = await Effect.runPromise(
      Effect.all([measure(false), measure(true)]).pipe(Effect.provide(RedisLive))
    )
    console.log(`Hot key on Redis: ~1,000 reads/s for ${PERIODS} expiry periods of ${EXPIRATION_MS} ms, ${CREATOR_MS} ms creator, Node ${process.version}\n`)
    console.log("| earlyRefresh | reads | reads that waited for a creator | reads that found it expired | creator runs | p99 ms | max ms |")
    console.log("|---|---:|---:|---:|---:|---:|---:|")
    for (const [label, r] of [["off", rows[0]], ["on (β = 1)", rows[1]]] as const) {
      console.log(`| ${label} | ${r.reads} | ${r.waited} | ${r.expiredReads} | ${r.creations} | ${r.p99.toFixed(1)} | ${r.max.toFixed(1)} |`)
    }
  } finally {
    await server?.dispose()
  }
}

void main()
