/**
 * Redis hits with no near cache, side by side in one run: a region's
 * `getOrCreate` in every envelope and codec against raw ioredis `GET` plus the
 * codec library's own decode (`JSON.parse`, msgpackr `unpack`, cbor-x
 * `decode`), and a region over hash buckets against raw `HGET` plus decode.
 *
 *   pnpm bench redis-hit
 *   (or, after `pnpm build`: node --import tsx bench/redis-hit.ts)
 *
 * 10,000 warm keys of small objects, 256 concurrent callers per contender, one
 * auto-pipelined connection per contender group. Raw contenders run as
 * async/await loops, regions as fibers. Starts its own redis-server on a free
 * loopback port unless REDIS_URL is set. ROUNDS rounds (default 5) after one
 * warm-up round, interleaved; min / median / max reported, and each region's
 * median over its own raw baseline's median (same codec, same layout). The
 * packed envelope holds integers only and is not in this table.
 */
import { type Backend, Codec, type CodecShape, Envelope, Lock, Region } from "@dogpile-effect/core"
import { Cbor, Msgpack } from "@dogpile-effect/codecs"
import { Bucketing, HashBackend } from "@dogpile-effect/hstore"
import { RedisBackend, RedisClient } from "@dogpile-effect/redis"
import { decode as cborDecode } from "cbor-x"
import { Effect, Layer } from "effect"
import { unpack } from "msgpackr"
import { startRedisServer } from "../test-support/redis-server.ts"
import { stats } from "./stats.ts"

const KEYS = 10_000
const CALLERS = 256
const READS = Number(process.env["READS"] ?? 64_000)
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

const check = (value: unknown) => {
  if (value === undefined || value === null) throw new Error("miss in a hit benchmark")
}

const codecs: ReadonlyArray<readonly [string, CodecShape, (bytes: Buffer) => unknown]> = [
  ["JSON", Codec.json, (bytes) => JSON.parse(bytes.toString("utf8"))],
  ["MessagePack", Msgpack.codec, (bytes) => unpack(bytes)],
  ["CBOR", Cbor.codec, (bytes) => cborDecode(bytes)]
]
const envelopes: ReadonlyArray<readonly [string, Envelope.EnvelopeShape]> = [
  ["full", Envelope.full()],
  ["compact", Envelope.compact()],
  ["raw", Envelope.raw]
]

const external = process.env["REDIS_URL"]
const server = external === undefined ? await startRedisServer() : undefined
const url = external ?? (server as { url: string }).url
const bucketing = Bucketing.byId()

/** `getOrCreate` from 256 fibers. */
const regionReads = (region: Region.Region<User>) =>
  Effect.forEach(callers, (c) =>
    Effect.gen(function*() {
      for (let j = 0; j < perCaller; j++) check(yield* region.getOrCreate(keyAt(c, j), Effect.succeed(valueOf(-1))))
    }), { concurrency: "unbounded", discard: true })

/** A region over `backend`, filled. */
const regionOver = (
  backend: Layer.Layer<Backend, unknown, RedisClient.RedisClient>,
  name: string,
  codec: CodecShape,
  envelope: Envelope.EnvelopeShape
) =>
  Effect.gen(function*() {
    const context = yield* Layer.build(Layer.mergeAll(backend, Lock.layerLocal).pipe(Layer.provide(RedisClient.layer({ url }))))
    const region = yield* Effect.provide(Region.make<User>({ name, codec, envelope, expiration: "1 hour" }), context)
    yield* region.setMany(keys.map((key, i) => [key, valueOf(i)] as const))
    return region
  })

const program = Effect.gen(function*() {
  const raw = (yield* RedisClient.make({ url })).client
  const contenders: Array<{ name: string; baseline?: string; run: Effect.Effect<void, unknown> }> = []

  for (const [codecName, codec, decode] of codecs) {
    const encoded = yield* Effect.forEach(keys, (_, i) => Effect.orDie(codec.encode(valueOf(i))))
    const plainName = `raw ioredis getBuffer + ${codecName} decode`
    yield* Effect.promise(() => raw.mset(...keys.flatMap((key, i) => [`plain:${codecName}:${key}`, Buffer.from(encoded[i]!)])))
    contenders.push({
      name: plainName,
      run: Effect.promise(() =>
        Promise.all(callers.map(async (c) => {
          for (let j = 0; j < perCaller; j++) {
            const bytes = await raw.getBuffer(`plain:${codecName}:${keyAt(c, j)}`)
            check(bytes === null ? null : decode(bytes))
          }
        })).then(() => undefined)
      )
    })
    for (const [envelopeName, envelope] of envelopes) {
      const region = yield* regionOver(RedisBackend.layer(), `bench-${codecName}-${envelopeName}`, codec, envelope)
      contenders.push({ name: `region.getOrCreate (${codecName}, ${envelopeName} envelope)`, baseline: plainName, run: regionReads(region) })
    }
  }

  for (const [codecName, codec, decode] of codecs.slice(0, 2)) {
    const encoded = yield* Effect.forEach(keys, (_, i) => Effect.orDie(codec.encode(valueOf(i))))
    // The same layout as the region's buckets: `user:123` + `45` for `user:12345`.
    const placed = new Map(keys.map((key) => [key, bucketing(`hraw-${codecName}:${key}`) as { hash: string; field: string }]))
    yield* Effect.promise(() => Promise.all(keys.map((key, i) => raw.hset(placed.get(key)!.hash, placed.get(key)!.field, Buffer.from(encoded[i]!)))))
    const hashName = `raw ioredis hgetBuffer + ${codecName} decode (buckets of 100)`
    contenders.push({
      name: hashName,
      run: Effect.promise(() =>
        Promise.all(callers.map(async (c) => {
          for (let j = 0; j < perCaller; j++) {
            const at = placed.get(keyAt(c, j))!
            const bytes = await raw.hgetBuffer(at.hash, at.field)
            check(bytes === null ? null : decode(bytes))
          }
        })).then(() => undefined)
      )
    })
    for (const [envelopeName, envelope] of envelopes.filter(([n]) => n !== "compact")) {
      const region = yield* regionOver(HashBackend.layer({ bucketing }), `bench-hash-${codecName}-${envelopeName}`, codec, envelope)
      contenders.push({ name: `region.getOrCreate, HashBackend buckets (${codecName}, ${envelopeName} envelope)`, baseline: hashName, run: regionReads(region) })
    }
  }

  const samples = new Map<string, Array<number>>(contenders.map(({ name }) => [name, []]))
  for (let round = 0; round < ROUNDS + 1; round++) {
    for (const { name, run } of contenders) {
      const start = performance.now()
      yield* run
      const seconds = (performance.now() - start) / 1000
      if (round > 0) samples.get(name)?.push(READS / seconds) // round 0 warms the JIT
    }
  }
  const medians = new Map(contenders.map(({ name }) => [name, stats(samples.get(name) ?? []).median]))
  const n = (x: number) => Math.round(x).toLocaleString("en-US")
  return [
    `| contender | hits/s min | median | max | vs its raw baseline |`,
    "|---|---:|---:|---:|---:|",
    ...contenders.map(({ baseline, name }) => {
      const s = stats(samples.get(name) ?? [])
      const ratio = baseline === undefined ? "baseline" : `${(s.median / (medians.get(baseline) ?? NaN)).toFixed(2)}×`
      return `| ${name} | ${n(s.min)} | ${n(s.median)} | ${n(s.max)} | ${ratio} |`
    })
  ].join("\n")
})

try {
  const table = await Effect.runPromise(Effect.scoped(program))
  console.log(
    `Redis hits, no near cache: ${KEYS.toLocaleString("en-US")} warm keys, ${CALLERS} concurrent callers, ` +
      `${READS.toLocaleString("en-US")} reads per round, ${ROUNDS} rounds, Node ${process.version}\n`
  )
  console.log(table)
} finally {
  await server?.dispose()
}
