/**
 * Hash-bucket hits and many-key reads at raw speed, side by side in one run.
 *
 *   pnpm bench hstore-hit
 *   (or, after `pnpm build`: node --import tsx bench/hstore-hit.ts)
 *
 * The hstore README's layout: `Bucketing.byId()` (100 fields per hash), per-entry
 * expiry from the bucket's longest store TTL (`entryExpiry: {}`), compact envelope,
 * JSON codec; 10,000 warm keys of small objects.
 *
 * - Hits: `region.getOrCreate` from 256 concurrent fibers against raw ioredis
 *   `hgetBuffer` + `JSON.parse` from 256 async loops on the same layout.
 * - Many: `region.getMany` of 1,000 keys (4 concurrent callers) against raw
 *   ioredis `mgetBuffer` of 1,000 plain keys + `JSON.parse` each (4 concurrent
 *   loops): over the README's buckets, over HashBackend's plain keys (one MGET)
 *   and over RedisBackend; and the buckets again against their own layout read
 *   raw (one pipeline of HMGETs, one per bucket, + `JSON.parse`).
 *
 * Starts its own redis-server on a free loopback port unless REDIS_URL is set.
 * ROUNDS rounds (default 5) after one warm-up round, contenders interleaved
 * within each round; min / median / max of each contender's throughput and of
 * its per-round ratio to its raw baseline, and the client process's CPU time
 * per read (user + system, `process.cpuUsage`), which a loaded machine disturbs
 * less than wall time. ONLY=<text> runs the contenders whose name has it.
 */
import { type Backend, Codec, Envelope, Lock, Region } from "@dogpile-effect/core"
import { Bucketing, HashBackend } from "@dogpile-effect/hstore"
import { RedisBackend, RedisClient } from "@dogpile-effect/redis"
import { Effect, Layer } from "effect"
import { startRedisServer } from "../test-support/redis-server.ts"
import { stats } from "./stats.ts"

const KEYS = 10_000
const CALLERS = 256
const READS = Number(process.env["READS"] ?? 64_000)
const MANY = 1_000
const MANY_CALLERS = 4
const MANY_CALLS = Number(process.env["MANY_CALLS"] ?? 40)
const ROUNDS = Number(process.env["ROUNDS"] ?? 5)

interface User {
  readonly id: number
  readonly name: string
  readonly active: boolean
}

const keys = Array.from({ length: KEYS }, (_, i) => `user:${10_000 + i}`)
const valueOf = (i: number): User => ({ id: i, name: `user ${i}`, active: i % 2 === 0 })
/** The key each caller reads at step `j`: every caller walks the key space from its own offset. */
const keyAt = (caller: number, j: number) => keys[(caller * 977 + j * 31) % KEYS] as string
const perCaller = READS / CALLERS
const callers = Array.from({ length: CALLERS }, (_, c) => c)
/** The 1,000 keys of a `getMany` call: a window of the key space that moves with each call. */
const manyAt = (call: number) => Array.from({ length: MANY }, (_, i) => keys[(call * 1_237 + i * 7) % KEYS] as string)
const manyCallers = Array.from({ length: MANY_CALLERS }, (_, c) => c)
const manyPerCaller = MANY_CALLS / MANY_CALLERS

const check = (value: unknown) => {
  if (value === undefined || value === null) throw new Error("miss in a hit benchmark")
}

const external = process.env["REDIS_URL"]
const server = external === undefined ? await startRedisServer() : undefined
const url = external ?? (server as { url: string }).url
const bucketing = Bucketing.byId()

const program = Effect.gen(function*() {
  const raw = (yield* RedisClient.make({ url })).client
  /** A region over `backend` (README settings otherwise), filled. */
  const regionOver = (backend: Layer.Layer<Backend, unknown, RedisClient.RedisClient>, name: string) =>
    Effect.gen(function*() {
      const context = yield* Layer.build(
        Layer.mergeAll(backend, Lock.layerLocal).pipe(Layer.provide(RedisClient.layer({ url })))
      )
      const region = yield* Effect.provide(
        Region.make<User>({ name, codec: Codec.json, envelope: Envelope.compact(), expiration: "1 hour" }),
        context
      )
      // Filled in chunks: one setMany of 10,000 keys can outlast the command timeout on a loaded machine.
      for (let at = 0; at < KEYS; at += 1_000) {
        yield* region.setMany(keys.slice(at, at + 1_000).map((key, i) => [key, valueOf(at + i)] as const))
      }
      return region
    })
  const region = yield* regionOver(HashBackend.layer({ bucketing, entryExpiry: {} }), "bench-hits")
  const plainHash = yield* regionOver(HashBackend.layer({}), "bench-plain-hash")
  const plainRedis = yield* regionOver(RedisBackend.layer(), "bench-plain-redis")

  // Raw layouts: the same buckets for HGET, plain keys for MGET.
  const placed = new Map(keys.map((key) => [key, bucketing(`hraw:${key}`) as { hash: string; field: string }]))
  const json = keys.map((_, i) => Buffer.from(JSON.stringify(valueOf(i))))
  yield* Effect.promise(() =>
    Promise.all(keys.map((key, i) => raw.hset(placed.get(key)!.hash, placed.get(key)!.field, json[i]!)))
  )
  yield* Effect.promise(() => raw.mset(...keys.flatMap((key, i) => [`mraw:${key}`, json[i]!])))

  const rawHits = Effect.promise(() =>
    Promise.all(callers.map(async (c) => {
      for (let j = 0; j < perCaller; j++) {
        const at = placed.get(keyAt(c, j))!
        const bytes = await raw.hgetBuffer(at.hash, at.field)
        check(bytes === null ? null : JSON.parse(bytes.toString("utf8")))
      }
    })).then(() => READS)
  )
  const regionHits = Effect.as(
    Effect.forEach(callers, (c) =>
      Effect.gen(function*() {
        for (let j = 0; j < perCaller; j++) check(yield* region.getOrCreate(keyAt(c, j), Effect.succeed(valueOf(-1))))
      }), { concurrency: "unbounded", discard: true }),
    READS
  )
  const rawMany = Effect.promise(() =>
    Promise.all(manyCallers.map(async (c) => {
      for (let j = 0; j < manyPerCaller; j++) {
        const replies = await raw.mgetBuffer(...manyAt(c * manyPerCaller + j).map((key) => `mraw:${key}`))
        for (const bytes of replies) check(bytes === null ? null : JSON.parse(bytes.toString("utf8")))
      }
    })).then(() => MANY_CALLS * MANY)
  )
  const rawHashMany = Effect.promise(() =>
    Promise.all(manyCallers.map(async (c) => {
      for (let j = 0; j < manyPerCaller; j++) {
        // One HMGET per bucket in one pipeline, as HashBackend sends them.
        const buckets = new Map<string, Array<string>>()
        for (const key of manyAt(c * manyPerCaller + j)) {
          const at = placed.get(key)!
          const fields = buckets.get(at.hash)
          if (fields === undefined) buckets.set(at.hash, [at.field])
          else fields.push(at.field)
        }
        const pipeline = raw.pipeline()
        for (const [hash, fields] of buckets) pipeline.hmgetBuffer(hash, ...fields)
        for (const [error, replies] of (await pipeline.exec()) ?? []) {
          if (error !== null) throw error
          for (const bytes of replies as Array<Buffer | null>) check(bytes === null ? null : JSON.parse(bytes.toString("utf8")))
        }
      }
    })).then(() => MANY_CALLS * MANY)
  )
  const manyOf = (over: Region.Region<User>) =>
    Effect.as(
      Effect.forEach(manyCallers, (c) =>
        Effect.gen(function*() {
          for (let j = 0; j < manyPerCaller; j++) {
            for (const value of yield* over.getMany(manyAt(c * manyPerCaller + j))) {
              if (value._tag === "None") throw new Error("miss in a hit benchmark")
            }
          }
        }), { concurrency: "unbounded", discard: true }),
      MANY_CALLS * MANY
    )

  const rawHit = "raw ioredis hgetBuffer + JSON.parse (buckets of 100)"
  const rawMget = `raw ioredis mgetBuffer of ${MANY} + JSON.parse`
  const rawHmget = `raw ioredis pipeline of HMGETs (one per bucket) for ${MANY} + JSON.parse`
  const contenders: ReadonlyArray<{ name: string; baselines?: ReadonlyArray<string>; run: Effect.Effect<number, unknown> }> = [
    { name: rawHit, run: rawHits },
    { name: "region.getOrCreate, HashBackend (README layout)", baselines: [rawHit], run: regionHits },
    { name: rawMget, run: rawMany },
    { name: rawHmget, run: rawHashMany },
    { name: `region.getMany of ${MANY}, HashBackend (README layout)`, baselines: [rawMget, rawHmget], run: manyOf(region) },
    { name: `region.getMany of ${MANY}, HashBackend plain keys (MGET)`, baselines: [rawMget], run: manyOf(plainHash) },
    { name: `region.getMany of ${MANY}, RedisBackend (MGET)`, baselines: [rawMget], run: manyOf(plainRedis) }
  ]

  const only = process.env["ONLY"]
  const chosen = only === undefined ? contenders : contenders.filter((c) => c.name.includes(only))
  const samples = new Map<string, Array<number>>(chosen.map(({ name }) => [name, []]))
  const cpu = new Map<string, Array<number>>(chosen.map(({ name }) => [name, []]))
  for (let round = 0; round < ROUNDS + 1; round++) {
    for (const { name, run } of chosen) {
      const start = performance.now()
      const startCpu = process.cpuUsage()
      const reads = yield* run
      const seconds = (performance.now() - start) / 1000
      const used = process.cpuUsage(startCpu)
      if (round === 0) continue // round 0 warms the JIT
      samples.get(name)?.push(reads / seconds)
      cpu.get(name)?.push((used.user + used.system) / reads)
    }
  }
  const n = (x: number) => Math.round(x).toLocaleString("en-US")
  /** Per round: the contender's throughput over its baseline's, or (CPU) its baseline's CPU per read over its own. */
  const ratios = (name: string, baseline: string, of: Map<string, Array<number>>, inverse = false) => {
    const own = of.get(name) ?? []
    const base = of.get(baseline) ?? []
    return stats(own.map((x, i) => (inverse ? (base[i] ?? NaN) / x : x / (base[i] ?? NaN))))
  }
  const range = (s: { min: number; median: number; max: number }) =>
    `${s.median.toFixed(2)}× (${s.min.toFixed(2)}–${s.max.toFixed(2)})`
  const row = (name: string, baseline: string | undefined) => {
    const s = stats(samples.get(name) ?? [])
    const c = stats(cpu.get(name) ?? [])
    const shown = baseline === undefined ? name : `${name}, vs ${baseline.replace(/ \+ JSON.parse$/, "")}`
    const cells = baseline === undefined || !samples.has(baseline)
      ? ["baseline", "baseline"]
      : [range(ratios(name, baseline, samples)), range(ratios(name, baseline, cpu, true))]
    return `| ${shown} | ${n(s.min)} | ${n(s.median)} | ${n(s.max)} | ${cells[0]} | ${c.median.toFixed(2)} | ${cells[1]} |`
  }
  return [
    `| contender | reads/s min | median | max | throughput vs raw, per round | client CPU µs/read, median | raw CPU/read ÷ own, per round |`,
    "|---|---:|---:|---:|---:|---:|---:|",
    ...chosen.flatMap(({ baselines, name }) =>
      baselines === undefined ? [row(name, undefined)] : baselines.map((baseline) => row(name, baseline))
    )
  ].join("\n")
})

try {
  const table = await Effect.runPromise(Effect.scoped(program))
  console.log(
    `hstore hits and getMany: ${KEYS.toLocaleString("en-US")} warm keys, ${CALLERS} concurrent hit callers ` +
      `(${READS.toLocaleString("en-US")} reads per round), ${MANY_CALLERS} getMany callers (${MANY_CALLS} calls of ${MANY} per round), ` +
      `${ROUNDS} rounds, Node ${process.version}\n`
  )
  console.log(table)
} finally {
  await server?.dispose()
}
