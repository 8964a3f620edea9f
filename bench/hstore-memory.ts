/**
 * Bytes per entry of the storage layouts of @dogpile-effect/hstore, side by
 * side in one run on a dedicated fresh redis-server (free loopback port, no
 * persistence), as `INFO memory` deltas of used_memory − mem_clients_normal
 * (FLUSHALL between layouts; a warm-up write of each layout first so that
 * one-off costs such as the script cache stay out of the delta).
 *
 *   pnpm build && pnpm exec tsx bench/hstore-memory.ts [N]
 *
 * N entries (default 100,000) with ids user:1000000…; each value is the JSON of
 * a small integer (0..999), as a region with the JSON codec stores it.
 */
import { Backend, type BackendEntry, CacheKey, Codec, Envelope, Lock, Region } from "@dogpile-effect/core"
import { Bucketing, HashBackend } from "@dogpile-effect/hstore"
import { RedisClient } from "@dogpile-effect/redis"
import { Effect, Layer } from "effect"
import { startRedisServer } from "../test-support/redis-server.ts"

const N = Number(process.argv[2] ?? 100_000)
const ids = Array.from({ length: N }, (_, i) => 1_000_000 + i)
const payload = (i: number) => new TextEncoder().encode(JSON.stringify(i % 1000))
const compact = Envelope.compact()
const NOW = Date.now()

const usedMemory = Effect.flatMap(RedisClient.RedisClient, (redis) => redis.use("info", (c) => c.info("memory"))).pipe(
  Effect.map((info) => {
    const field = (name: string) => Number(new RegExp(`^${name}:(\\d+)`, "m").exec(info)?.[1])
    return field("used_memory") - field("mem_clients_normal")
  })
)

interface Layout {
  readonly name: string
  /** Writes the N entries (`count` limits it, for the warm-up). */
  readonly write: (count: number) => Effect.Effect<unknown, unknown, Backend | Codec | Lock>
}

const entries = (count: number, key: (id: number, i: number) => CacheKey.CacheKey, value: (i: number) => Effect.Effect<Uint8Array, unknown>) =>
  Effect.forEach(ids.slice(0, count), (id, i) => Effect.map(value(i), (bytes): BackendEntry => ({ key: key(id, i), value: bytes })))

const writeAll = (all: ReadonlyArray<BackendEntry>) =>
  Effect.flatMap(Backend, (backend) =>
    Effect.forEach(Array.from({ length: Math.ceil(all.length / 1000) }, (_, c) => c), (c) =>
      backend.setMany(all.slice(c * 1000, c * 1000 + 1000)), { discard: true }))

const raw = (i: number) => Effect.succeed(payload(i))
const enveloped = (i: number) => compact.encode(i % 1000, NOW, Codec.json)
const manualBucket = (size: number) => (id: number) => CacheKey.hash(`users:b${Math.floor(id / size)}`, String(id % size))

const layouts: ReadonlyArray<Layout> = [
  { name: "plain keys (JSON value)", write: (n) => Effect.flatMap(entries(n, (id) => `user:${id}`, raw), writeAll) },
  {
    name: "plain keys + compact envelope",
    write: (n) => Effect.flatMap(entries(n, (id) => `user:${id}`, enveloped), writeAll)
  },
  ...[10, 100, 500, 1000].map((size): Layout => ({
    name: `hash buckets of ${size} (JSON value)`,
    write: (n) => Effect.flatMap(entries(n, manualBucket(size), raw), writeAll)
  })),
  {
    name: "hash buckets of 100 + per-entry expiry (compact envelope)",
    write: (n) => Effect.flatMap(entries(n, manualBucket(100), enveloped), writeAll)
  },
  {
    name: "automatic bucketing: Region + Bucketing.byId() + compact envelope",
    write: (n) =>
      Effect.scoped(Effect.gen(function*() {
        const region = yield* Region.make<number>({ name: "users", expiration: "1 hour", envelope: compact })
        const bucket = Bucketing.byId()
        const list = ids.slice(0, n)
        for (let c = 0; c < list.length; c += 1000) {
          yield* region.setMany(list.slice(c, c + 1000).map((id, i) => [bucket(`user:${id}`), (c + i) % 1000] as const))
        }
      }))
  }
]

const program = Effect.gen(function*() {
  const redis = yield* RedisClient.RedisClient
  const rows: Array<string> = []
  let plain = 0
  for (const layout of layouts) {
    yield* layout.write(200)
    yield* redis.use("flushall", (c) => c.flushall("SYNC"))
    const before = yield* usedMemory
    yield* layout.write(N)
    const after = yield* usedMemory
    const keys = yield* redis.use("dbsize", (c) => c.dbsize())
    const sample = yield* redis.use("randomkey", (c) => c.randomkey())
    const encoding = sample === null ? "-" : yield* redis.use("object", (c) => c.object("ENCODING", sample))
    const perEntry = (after - before) / N
    if (plain === 0) plain = perEntry
    rows.push(`| ${layout.name} | ${perEntry.toFixed(1)} | ${((perEntry / plain) * 100).toFixed(1)}% | ${keys} | ${String(encoding)} |`)
  }
  const version = /redis_version:(\S+)/.exec(yield* redis.use("info", (c) => c.info("server")))?.[1]
  console.log(`N = ${N} entries, redis ${version}\n`)
  console.log("| layout | bytes/entry | vs plain | Redis keys | encoding (sample key) |")
  console.log("|---|---|---|---|---|")
  for (const row of rows) console.log(row)
})

const main = async () => {
  const server = await startRedisServer()
  try {
    await Effect.runPromise(
      program.pipe(
        Effect.provide(
          Layer.mergeAll(HashBackend.layer(), Codec.layerJson, Lock.layerLocal).pipe(
            Layer.provideMerge(RedisClient.layer({ url: server.url }))
          )
        )
      )
    )
  } finally {
    await server.dispose()
  }
}

main().catch((error) => {
  console.error(error)
  process.exit(1)
})
