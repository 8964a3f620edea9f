/**
 * Hot-key hits, side by side in one run: a region with the near cache
 * (`NearCache.layer` over `RedisBackend`, and over `HashBackend` buckets)
 * against the same region without it (a Redis round trip per hit), raw ioredis
 * `GET` + `JSON.parse`, Effect's own `Cache.get`, a plain `Map.get`,
 * cache-manager over its default in-memory Keyv, and bentocache's memory tier (L1).
 *
 *   pnpm bench near-hit
 *   (or, after `pnpm build`: node --import tsx bench/near-hit.ts)
 *
 * 100 hot keys of small objects. In-process contenders run one caller in a
 * loop; contenders that go to Redis run 256 concurrent callers on one
 * auto-pipelined connection (their best throughput), and raw `GET` also runs
 * as one caller awaiting each read (what one request handler sees). The
 * ratios are against both raw rows. Starts its own redis-server
 * on a free loopback port unless REDIS_URL is set. ROUNDS rounds (default 5)
 * after one warm-up round, interleaved; min / median / max reported.
 *
 * Effect contenders are read as a caller writes them, `yield* region.getOrCreate(...)`
 * inside `Effect.gen`: no per-read wrapper (an `Effect.orDie` around each read
 * costs ~200 ns, about as much as a whole in-process hit, and the promise
 * contenders never paid it).
 */
import { Backend, Codec, Lock, Region } from "@dogpile-effect/core"
import { Bucketing, HashBackend } from "@dogpile-effect/hstore"
import { NearCache, RedisBackend, RedisClient } from "@dogpile-effect/redis"
import { BentoCache, bentostore } from "bentocache"
import { memoryDriver } from "bentocache/drivers/memory"
import { createCache } from "cache-manager"
import { Cache, Context, Effect, Layer } from "effect"
import { startRedisServer } from "../test-support/redis-server.ts"
import { stats } from "./stats.ts"

const KEYS = 100
const LOCAL_READS = 300_000
const REDIS_READS = 64_000
const SERIAL_READS = 8_000
const CALLERS = 256
const ROUNDS = Number(process.env["ROUNDS"] ?? 5)

interface User {
  readonly id: number
  readonly name: string
  readonly active: boolean
}

const keys = Array.from({ length: KEYS }, (_, i) => `user:${1_000_000 + i}`)
const valueOf = (i: number): User => ({ id: i, name: `user ${i}`, active: i % 2 === 0 })
const keyAt = (j: number) => keys[(j * 31) % KEYS] as string
const fallback = Effect.succeed(valueOf(-1))

const check = (value: unknown) => {
  if (value === undefined || value === null) throw new Error("miss in a hit benchmark")
}

const external = process.env["REDIS_URL"]
const server = external === undefined ? await startRedisServer() : undefined
const url = external ?? (server as { url: string }).url

const base = Layer.mergeAll(Codec.layerJson, Lock.layerLocal)
const bucketing = Bucketing.byId()
const stacks = {
  plain: RedisBackend.layer(),
  near: NearCache.layer({ maxAge: "never" }).pipe(Layer.provide(RedisBackend.layer())),
  hash: HashBackend.layer({ bucketing }),
  nearHash: NearCache.layer({ maxAge: "never", bucketing }).pipe(Layer.provide(HashBackend.layer({ bucketing })))
} as const

/** A region over one backend stack, on its own connection. */
const regionOver = (name: string, stack: Layer.Layer<Backend, unknown, RedisClient.RedisClient>) =>
  Effect.gen(function*() {
    const context = yield* Layer.build(Layer.mergeAll(stack, base).pipe(Layer.provide(RedisClient.layer({ url }))))
    const region = yield* Effect.provide(Region.make<User>({ name, expiration: "1 hour" }), context)
    yield* region.setMany(keys.map((key, i) => [key, valueOf(i)] as const))
    // Read every key once (and again, so no read is overtaken by the invalidation of its own write).
    for (let pass = 0; pass < 3; pass++) yield* Effect.forEach(keys, (key) => region.getOrCreate(key, fallback), { discard: true })
    return { region, backend: Context.get(context, Backend) }
  })

const inOneFiber = (reads: number, read: (key: string) => Effect.Effect<unknown, unknown>) =>
  Effect.gen(function*() {
    for (let j = 0; j < reads; j++) check(yield* read(keyAt(j)))
  })

const concurrently = (read: (key: string) => Effect.Effect<unknown, unknown>) =>
  Effect.forEach(Array.from({ length: CALLERS }, (_, c) => c), (c) =>
    Effect.gen(function*() {
      for (let j = 0; j < REDIS_READS / CALLERS; j++) check(yield* read(keyAt(c * 7 + j)))
    }), { concurrency: "unbounded", discard: true })

const program = Effect.gen(function*() {
  const { region: near, backend: nearBackend } = yield* regionOver("bench-near", stacks.near)
  const { region: plain } = yield* regionOver("bench-plain", stacks.plain)
  const { region: nearHash } = yield* regionOver("bench-near-hash", stacks.nearHash)
  const { region: hash } = yield* regionOver("bench-hash", stacks.hash)
  // The near cache's own cost, without the region: its Backend.get of the stored bytes.
  const storedKeys = new Map(keys.map((key) => [key, `bench-near:${key}`]))

  // Raw ioredis: the client of a RedisClient of its own (same settings as the regions' connections).
  const raw = (yield* RedisClient.make({ url })).client
  yield* Effect.promise(() => raw.mset(...keys.flatMap((key, i) => [`raw:${key}`, JSON.stringify(valueOf(i))])))
  const effectCache = yield* Cache.make({ lookup: (key: string) => Effect.succeed(valueOf(keys.indexOf(key))), capacity: 10_000 })
  for (const key of keys) yield* Cache.get(effectCache, key)
  const map = new Map(keys.map((key, i) => [key, valueOf(i)]))
  const cacheManager = createCache() // its default store: an in-memory Keyv
  for (const [i, key] of keys.entries()) yield* Effect.promise(() => cacheManager.set(key, valueOf(i)))
  const bento = new BentoCache({ default: "memory", stores: { memory: bentostore().useL1Layer(memoryDriver({ maxItems: 10_000 })) } })
  for (const [i, key] of keys.entries()) yield* Effect.promise(() => bento.set({ key, value: valueOf(i) }))

  const contenders: ReadonlyArray<readonly [string, number, Effect.Effect<void, unknown>]> = [
    ["raw ioredis GET + JSON.parse (256 callers)", REDIS_READS, Effect.promise(() =>
      Promise.all(Array.from({ length: CALLERS }, async (_, c) => {
        for (let j = 0; j < REDIS_READS / CALLERS; j++) check(JSON.parse((await raw.get(`raw:${keyAt(c * 7 + j)}`)) ?? "null"))
      })).then(() => undefined))],
    ["raw ioredis GET + JSON.parse (1 caller)", SERIAL_READS, Effect.promise(async () => {
      for (let j = 0; j < SERIAL_READS; j++) check(JSON.parse((await raw.get(`raw:${keyAt(j)}`)) ?? "null"))
    })],
    ["region, no near cache: RedisBackend (256 callers)", REDIS_READS, concurrently((key) => plain.getOrCreate(key, fallback))],
    ["region, no near cache: HashBackend buckets (256 callers)", REDIS_READS, concurrently((key) => hash.getOrCreate(key, fallback))],
    ["region + near cache over RedisBackend", LOCAL_READS, inOneFiber(LOCAL_READS, (key) => near.getOrCreate(key, fallback))],
    ["region + near cache over HashBackend buckets", LOCAL_READS, inOneFiber(LOCAL_READS, (key) => nearHash.getOrCreate(key, fallback))],
    ["region + near cache over RedisBackend, getMany of the 100 keys (per key)", LOCAL_READS, Effect.gen(function*() {
      for (let j = 0; j < LOCAL_READS / KEYS; j++) for (const found of yield* near.getMany(keys)) check(found._tag === "Some" ? found.value : undefined)
    })],
    ["near-cache Backend.get, stored bytes (no region, no decode)", LOCAL_READS, inOneFiber(LOCAL_READS, (key) =>
      Effect.map(nearBackend.get(storedKeys.get(key) as string), (found) => (found._tag === "Some" ? found.value : undefined)))],
    ["Effect Cache.get", LOCAL_READS, inOneFiber(LOCAL_READS, (key) => Cache.get(effectCache, key))],
    ["Map.get", LOCAL_READS, Effect.sync(() => {
      for (let j = 0; j < LOCAL_READS; j++) check(map.get(keyAt(j)))
    })],
    ["cache-manager 7 + Keyv in memory (await get)", LOCAL_READS, Effect.promise(async () => {
      for (let j = 0; j < LOCAL_READS; j++) check(await cacheManager.get(keyAt(j)))
    })],
    ["bentocache L1 memory (await get)", LOCAL_READS, Effect.promise(async () => {
      for (let j = 0; j < LOCAL_READS; j++) check(await bento.get({ key: keyAt(j) }))
    })]
  ]

  const samples = new Map<string, Array<number>>(contenders.map(([name]) => [name, []]))
  for (let round = 0; round < ROUNDS + 1; round++) {
    for (const [name, reads, run] of contenders) {
      const start = performance.now()
      yield* run
      const seconds = (performance.now() - start) / 1000
      if (round > 0) samples.get(name)?.push(reads / seconds) // round 0 warms the JIT
    }
  }
  yield* Effect.promise(() => bento.disconnectAll())
  const rows = contenders.map(([name]) => ({ name, ...stats(samples.get(name) ?? []) }))
  const rawMedian = rows[0]?.median ?? NaN
  const serialMedian = rows[1]?.median ?? NaN
  const cacheMedian = rows.find((r) => r.name === "Effect Cache.get")?.median ?? NaN
  const n = (x: number) => Math.round(x).toLocaleString("en-US")
  return [
    `| contender | hits/s min | median | max | vs raw GET, 256 callers | vs raw GET, 1 caller | vs Cache.get |`,
    "|---|---:|---:|---:|---:|---:|---:|",
    ...rows.map((r) =>
      `| ${r.name} | ${n(r.min)} | ${n(r.median)} | ${n(r.max)} | ${(r.median / rawMedian).toFixed(2)}× | ` +
      `${(r.median / serialMedian).toFixed(2)}× | ${(r.median / cacheMedian).toFixed(2)}× |`
    )
  ].join("\n")
})

try {
  const table = await Effect.runPromise(Effect.scoped(program))
  console.log(
    `Hot-key hits: ${KEYS} keys; in-process contenders ${LOCAL_READS.toLocaleString("en-US")} reads per round in one caller, ` +
      `Redis contenders ${REDIS_READS.toLocaleString("en-US")} reads per round from ${CALLERS} callers; ${ROUNDS} rounds; Node ${process.version}\n`
  )
  console.log(table)
} finally {
  await server?.dispose()
}
