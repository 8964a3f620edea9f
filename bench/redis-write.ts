/**
 * Redis writes, side by side in one run: `region.set`, `region.setMany` (100
 * entries a call) and a `getOrCreate` miss (read, in-process lock, creator,
 * write; and with `RedisLock`, the distributed lock) against raw ioredis
 * `SET … PX` of the same JSON and bentocache's `getOrSet` miss over its Redis
 * driver (an in-process lock, no distributed one), and `region.set`
 * over hash buckets (`Bucketing.byId()`, 100 fields a hash) against raw
 * `HSET` into the same layout; all from 256 concurrent callers on
 * auto-pipelined connections.
 *
 *   pnpm bench redis-write
 *   (or, after `pnpm build`: node --import tsx bench/redis-write.ts)
 *
 * Every write goes to a new key. 32,000 writes a round (WRITES), 1 warm-up
 * round then ROUNDS (default 5) interleaved; min / median / max. Starts its
 * own redis-server on a free loopback port unless REDIS_URL is set.
 */
import { Codec, Lock, Region } from "@dogpile-effect/core"
import { Bucketing, HashBackend } from "@dogpile-effect/hstore"
import { RedisBackend, RedisClient, RedisLock } from "@dogpile-effect/redis"
import { BentoCache, bentostore } from "bentocache"
import { redisDriver } from "bentocache/drivers/redis"
import { Effect, Layer } from "effect"
import { startRedisServer } from "../test-support/redis-server.ts"
import { stats } from "./stats.ts"

const WRITES = Number(process.env["WRITES"] ?? 32_000)
const ROUNDS = Number(process.env["ROUNDS"] ?? 5)
const CALLERS = 256
const BATCH = 100

interface User {
  readonly id: number
  readonly name: string
  readonly active: boolean
}
const valueOf = (i: number): User => ({ id: i, name: `user ${i}`, active: i % 2 === 0 })

const external = process.env["REDIS_URL"]
const server = external === undefined ? await startRedisServer() : undefined
const url = external ?? (server as { url: string }).url

/** `perCaller(c, j)` for j < WRITES / CALLERS in each of 256 fibers. */
const callers = (perCaller: (c: number, j: number) => Effect.Effect<unknown, unknown>) =>
  Effect.forEach(
    Array.from({ length: CALLERS }, (_, c) => c),
    (c) =>
      Effect.gen(function*() {
        for (let j = 0; j < WRITES / CALLERS; j++) yield* perCaller(c, j)
      }),
    { concurrency: "unbounded", discard: true }
  )

const program = Effect.gen(function*() {
  const context = yield* Layer.build(
    Layer.mergeAll(Codec.layerJson, Lock.layerLocal, RedisBackend.layer()).pipe(Layer.provide(RedisClient.layer({ url })))
  )
  const region = yield* Effect.provide(Region.make<User>({ name: "bench-write", expiration: "1 hour" }), context)
  const lockedContext = yield* Layer.build(
    Layer.mergeAll(Codec.layerJson, RedisBackend.layer()).pipe(
      Layer.provideMerge(Layer.orDie(RedisLock.layer())),
      Layer.provide(RedisClient.layer({ url }))
    )
  )
  const locked = yield* Effect.provide(Region.make<User>({ name: "bench-write-locked", expiration: "1 hour" }), lockedContext)
  const { hostname, port } = new URL(url)
  const bento = new BentoCache({
    default: "redis",
    stores: { redis: bentostore().useL2Layer(redisDriver({ connection: { host: hostname, port: Number(port || 6379) } })) }
  })
  yield* Effect.addFinalizer(() => Effect.promise(() => bento.disconnectAll()))
  const hashContext = yield* Layer.build(
    Layer.mergeAll(Codec.layerJson, Lock.layerLocal, HashBackend.layer({ bucketing: Bucketing.byId() })).pipe(
      Layer.provide(RedisClient.layer({ url }))
    )
  )
  const buckets = yield* Effect.provide(Region.make<User>({ name: "bench-write-hash", expiration: "1 hour" }), hashContext)
  const raw = (yield* RedisClient.make({ url })).client
  let round = 0
  const key = (kind: string, c: number, j: number) => `${kind}:${round}:${c}:${j}`
  const contenders: ReadonlyArray<readonly [string, Effect.Effect<void, unknown>]> = [
    ["raw ioredis SET … PX + JSON.stringify", Effect.promise(() =>
      Promise.all(Array.from({ length: CALLERS }, async (_, c) => {
        for (let j = 0; j < WRITES / CALLERS; j++) await raw.set(key("raw", c, j), JSON.stringify(valueOf(j)), "PX", 7_200_000)
      })).then(() => undefined))],
    ["region.set", callers((c, j) => region.set(key("set", c, j), valueOf(j)))],
    [`region.setMany (${BATCH} a call, per entry)`, callers((c, j) =>
      j % BATCH === 0
        ? region.setMany(Array.from({ length: Math.min(BATCH, WRITES / CALLERS - j) }, (_, i) => [key("many", c, j + i), valueOf(j + i)] as const))
        : Effect.void)],
    ["region.getOrCreate, a miss (read, lock, creator, write)", callers((c, j) =>
      region.getOrCreate(key("miss", c, j), Effect.succeed(valueOf(j))))],
    ["region.getOrCreate, a miss with RedisLock (distributed lock)", callers((c, j) =>
      locked.getOrCreate(key("locked", c, j), Effect.succeed(valueOf(j))))],
    ["bentocache 1.6 getOrSet, a miss (Redis driver, in-process lock)", callers((c, j) =>
      Effect.promise(() => bento.getOrSet({ key: key("bento", c, j), factory: () => valueOf(j), ttl: "1h" })))],
    ["raw ioredis HSET + JSON.stringify (buckets of 100)", Effect.promise(() =>
      Promise.all(Array.from({ length: CALLERS }, async (_, c) => {
        for (let j = 0; j < WRITES / CALLERS; j++) {
          const id = 1_000_000 + c * 1_000 + j
          await raw.hset(`rawh:${round}:${Math.floor(id / 100)}`, String(id % 100), JSON.stringify(valueOf(j)))
        }
      })).then(() => undefined))],
    ["region.set, HashBackend buckets of 100", callers((c, j) => buckets.set(`user:${round}${1_000_000 + c * 1_000 + j}`, valueOf(j)))]
  ]
  // ONLY=locked: just the misses (in-process lock, RedisLock, bentocache), for the locked-miss comparison.
  const chosen = process.env["ONLY"] === "locked"
    ? contenders.filter(([name]) => name.includes("a miss"))
    : contenders
  const samples = new Map<string, Array<number>>(chosen.map(([name]) => [name, []]))
  // This process's CPU time per write (user + system, µs): steadier than writes/s on a loaded machine.
  const cpuMicros = new Map<string, Array<number>>(chosen.map(([name]) => [name, []]))
  for (; round < ROUNDS + 1; round++) {
    for (const [name, run] of chosen) {
      const start = performance.now()
      const cpu = process.cpuUsage()
      yield* run
      const used = process.cpuUsage(cpu)
      if (round > 0) {
        samples.get(name)?.push(WRITES / ((performance.now() - start) / 1000))
        cpuMicros.get(name)?.push((used.user + used.system) / WRITES)
      }
    }
    yield* Effect.promise(() => raw.flushall())
  }
  const rows = chosen.map(([name]) => ({ name, ...stats(samples.get(name) ?? []) }))
  const rawMedian = rows.find((r) => r.name.startsWith("raw ioredis SET"))?.median ?? NaN
  const hashMedian = rows.find((r) => r.name.startsWith("raw ioredis HSET"))?.median ?? NaN
  const n = (x: number) => Math.round(x).toLocaleString("en-US")
  // Each round's ratio to bentocache's miss of the same round: median (min–max) over the rounds.
  const bentoSamples = samples.get(chosen.find(([name]) => name.startsWith("bentocache"))?.[0] ?? "") ?? []
  const vsBento = (name: string) => {
    const ratios = (samples.get(name) ?? []).map((x, i) => x / (bentoSamples[i] ?? NaN))
    const r = stats(ratios)
    return `${r.median.toFixed(2)}× (${r.min.toFixed(2)}–${r.max.toFixed(2)})`
  }
  return [
    "| contender | writes/s min | median | max | vs raw SET (buckets: vs raw HSET) | vs bentocache miss, per round | client CPU µs/write, median |",
    "|---|---:|---:|---:|---:|---:|---:|",
    ...rows.map((r) => {
      const baseline = r.name.includes("HashBackend") ? hashMedian : rawMedian
      return `| ${r.name} | ${n(r.min)} | ${n(r.median)} | ${n(r.max)} | ${(r.median / baseline).toFixed(2)}× | ${vsBento(r.name)} | ${stats(cpuMicros.get(r.name) ?? []).median.toFixed(0)} |`
    })
  ].join("\n")
})

try {
  const table = await Effect.runPromise(Effect.scoped(program))
  console.log(
    `Redis writes: ${WRITES.toLocaleString("en-US")} a round from ${CALLERS} callers, ${ROUNDS} rounds; Node ${process.version}\n`
  )
  console.log(table)
} finally {
  await server?.dispose()
}
