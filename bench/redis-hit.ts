/**
 * Redis hit throughput: region `getOrCreate` against raw ioredis `GET` plus
 * decoding with the same JSON codec, side by side in one run.
 *
 *   pnpm exec tsx --conditions=@dogpile-effect/source bench/redis-hit.ts
 *
 * 10,000 warm keys of small objects, 256 concurrent callers, one connection
 * (auto-pipelining on) shared by every contender. Starts its own redis-server
 * on a free loopback port unless REDIS_URL is set. Rounds are interleaved and
 * the median round is reported.
 */
import { Codec, Envelope, Region } from "@dogpile-effect/core"
import { RedisBackend, RedisClient, RedisLock } from "@dogpile-effect/redis"
import { Effect, Layer } from "effect"
import { startRedisServer } from "../test-support/redis-server.ts"

const KEYS = 10_000
const CALLERS = 256
const READS = 128_000
const ROUNDS = Number(process.env["ROUNDS"] ?? 5)

interface User {
  readonly id: number
  readonly name: string
  readonly active: boolean
}

const keys = Array.from({ length: KEYS }, (_, i) => `user:${i}`)
const valueOf = (i: number): User => ({ id: i, name: `user ${i}`, active: i % 2 === 0 })
/** The key each caller reads at step `j`: every caller walks the key space from its own offset. */
const keyAt = (caller: number, j: number) => keys[(caller * 977 + j * 31) % KEYS] as string

const median = (values: ReadonlyArray<number>): number => {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN
}

const external = process.env["REDIS_URL"]
const server = external === undefined ? await startRedisServer() : undefined
const url = external ?? (server as { url: string }).url

const program = Effect.gen(function*() {
  const redis = yield* RedisClient.RedisClient
  const codec = yield* Codec
  const client = redis.client
  const perCaller = READS / CALLERS

  const full = yield* Region.make<User>({ name: "bench-redis-full", namespace: "full", expiration: "1 hour" })
  const raw = yield* Region.make<User>({ name: "bench-redis-raw", namespace: "rawenv", envelope: Envelope.raw })
  yield* full.setMany(keys.map((key, i) => [key, valueOf(i)] as const))
  yield* raw.setMany(keys.map((key, i) => [key, valueOf(i)] as const))
  // The baseline's keys hold the codec's bytes, nothing else.
  yield* Effect.forEach(keys, (key, i) =>
    Effect.flatMap(codec.encode(valueOf(i)), (bytes) => redis.use("set", (c) => c.set(`plain:${key}`, Buffer.from(bytes)))), { concurrency: 256, discard: true })

  const callers = Array.from({ length: CALLERS }, (_, c) => c)
  const check = (value: unknown) => {
    if (value === undefined || value === null) throw new Error("miss in a hit benchmark")
  }

  const contenders: ReadonlyArray<readonly [string, Effect.Effect<void>]> = [
    ["raw ioredis getBuffer + codec.decode (async/await)", Effect.promise(() =>
      Promise.all(callers.map(async (c) => {
        for (let j = 0; j < perCaller; j++) {
          const bytes = await client.getBuffer(`plain:${keyAt(c, j)}`)
          if (bytes === null) throw new Error("miss")
          check(Effect.runSync(codec.decode(bytes)))
        }
      })).then(() => undefined)
    )],
    ["redis.use getBuffer + codec.decode (Effect fibers)", Effect.forEach(callers, (c) =>
      Effect.gen(function*() {
        for (let j = 0; j < perCaller; j++) {
          const bytes = yield* Effect.orDie(redis.use("get", (cl) => cl.getBuffer(`plain:${keyAt(c, j)}`)))
          if (bytes === null) throw new Error("miss")
          check(yield* Effect.orDie(codec.decode(bytes)))
        }
      }), { concurrency: "unbounded", discard: true })],
    ["region.getOrCreate (JSON, full envelope)", Effect.forEach(callers, (c) =>
      Effect.gen(function*() {
        for (let j = 0; j < perCaller; j++) check(yield* Effect.orDie(full.getOrCreate(keyAt(c, j), Effect.succeed(valueOf(-1)))))
      }), { concurrency: "unbounded", discard: true })],
    ["region.getOrCreate (JSON, raw envelope)", Effect.forEach(callers, (c) =>
      Effect.gen(function*() {
        for (let j = 0; j < perCaller; j++) check(yield* Effect.orDie(raw.getOrCreate(keyAt(c, j), Effect.succeed(valueOf(-1)))))
      }), { concurrency: "unbounded", discard: true })]
  ]

  const samples = new Map<string, Array<number>>(contenders.map(([name]) => [name, []]))
  for (let round = 0; round < ROUNDS + 1; round++) {
    for (const [name, run] of contenders) {
      const start = performance.now()
      yield* run
      const seconds = (performance.now() - start) / 1000
      if (round > 0) samples.get(name)?.push(READS / seconds) // round 0 warms the JIT
    }
  }
  const results = contenders.map(([name]) => ({ name, opsPerSecond: median(samples.get(name) ?? []) }))
  const baseline = results[0]?.opsPerSecond ?? Number.NaN
  return [
    `| contender | hits/s (median of ${ROUNDS}) | vs raw |`,
    "|---|---:|---:|",
    ...results.map((r) => `| ${r.name} | ${Math.round(r.opsPerSecond).toLocaleString("en-US")} | ${(r.opsPerSecond / baseline).toFixed(2)}× |`)
  ].join("\n")
})

const layers = Layer.mergeAll(RedisBackend.layer(), RedisLock.layer(), Codec.layerJson).pipe(
  Layer.provideMerge(RedisClient.layer({ url }))
)

try {
  const table = await Effect.runPromise(program.pipe(Effect.scoped, Effect.provide(layers)))
  console.log(
    `Redis hit path: ${KEYS.toLocaleString("en-US")} warm keys, ${CALLERS} concurrent callers, ` +
      `${READS.toLocaleString("en-US")} reads per round, one auto-pipelined connection, Node ${process.version}\n`
  )
  console.log(table)
} finally {
  await server?.dispose()
}
