/**
 * Runs one strategy: flush, prime the dataset through a region's public API,
 * read `INFO memory` used_memory against the empty baseline, sample how a few
 * entries are stored, and read them back through the region.
 */
import { CacheKey, Codec, Lock, Region } from "@dogpile-effect/core"
import { ListLayout } from "@dogpile-effect/hstore"
import { RedisClient } from "@dogpile-effect/redis"
import { Clock, Duration, Effect, Layer, Option } from "effect"
import * as Dataset from "./Dataset.ts"
import type * as Progress from "./Progress.ts"
import { describeLayout, EXPIRATION, keyMapper, type Strategy } from "./Strategies.ts"

/** How one sample entry is stored. */
export interface Sample {
  readonly key: string
  /** `key` for a plain key, `hash[field]` for a hash field. */
  readonly location: string
  /** The stored bytes, printable ASCII as is, other bytes as `\xNN` (truncated to 48 bytes). */
  readonly stored: string
  readonly storedLength: number
  /** `OBJECT ENCODING` of the Redis key (the hash for hash fields). */
  readonly encoding: string
  /** PTTL of the Redis key, in seconds, or `none`. */
  readonly ttl: string
  /** Whether the region read the value back equal to what was written. */
  readonly readBack: boolean
}

/** The measurement of one strategy. */
export interface Result {
  readonly id: string
  readonly seedRow: string | null
  readonly note: string
  readonly envelope: string
  readonly codec: string
  readonly backend: string
  readonly layout: string
  readonly redisTtl: "key" | "bucket" | "none"
  readonly entryExpiry: boolean
  readonly entries: number
  /** used_memory after priming minus used_memory of the flushed server. */
  readonly usedMemory: number
  readonly bytesPerEntry: number
  /** Redis keys after priming (DBSIZE). */
  readonly redisKeys: number
  readonly primeMs: number
  readonly verified: boolean
  readonly samples: ReadonlyArray<Sample>
}

const BATCH = 2_000
const CONCURRENCY = 4

/**
 * used_memory without the memory of client connections (query and output
 * buffers, which depend on the last pipeline's size and shrink only when idle).
 */
const usedMemory = Effect.gen(function*() {
  const redis = yield* RedisClient.RedisClient
  const text = String(yield* redis.use("info memory", (c) => c.info("memory")))
  const field = (name: string) => Number(new RegExp(`^${name}:(\\d+)`, "m").exec(text)?.[1] ?? 0)
  return field("used_memory") - field("mem_clients_normal")
})

/**
 * used_memory once it stops moving: an incremental rehash of the main
 * dictionary keeps two tables allocated for a moment after a large write.
 */
const settledMemory = Effect.gen(function*() {
  let previous = yield* usedMemory
  for (let i = 0; i < 40; i++) {
    yield* Effect.sleep(Duration.millis(150))
    const current = yield* usedMemory
    if (Math.abs(current - previous) <= Math.max(1024, previous * 0.0005) && i >= 1) return current
    previous = current
  }
  return previous
})

const printable = (bytes: Uint8Array): string => {
  let out = ""
  for (const byte of bytes.subarray(0, 48)) {
    out += byte >= 0x20 && byte < 0x7f && byte !== 0x5c ? String.fromCharCode(byte) : `\\x${byte.toString(16).padStart(2, "0")}`
  }
  return bytes.length > 48 ? `${out}…` : out
}

const sameValue = (a: unknown, b: unknown): boolean => JSON.stringify(a) === JSON.stringify(b)

/**
 * Where the region stored `key`: its backend key (namespace included) as
 * `Region.inspect` reports it (`bucket[field]` for a hash key), back as a
 * cache key; `undefined` when the region finds no entry.
 */
export const storedKey = <A>(region: Region.Region<A>, key: CacheKey.CacheKey) =>
  Effect.map(region.inspect(key), (info): CacheKey.CacheKey | undefined => {
    if (Option.isNone(info)) return undefined
    const backendKey = info.value.backendKey
    if (typeof key === "string") return backendKey
    const open = backendKey.length - key.field.length - 2
    return CacheKey.hash(backendKey.slice(0, open), key.field)
  })

/**
 * Where a backend key is in Redis: a list position for the list layout
 * (`ListLayout.locate`), as `CacheKey.hash(list, index)`; else the key itself.
 */
export const placed = (layout: Strategy["layout"], key: CacheKey.CacheKey): CacheKey.CacheKey => {
  if (layout._tag !== "Lists" || typeof key !== "string") return key
  const position = ListLayout.locate(layout.size, key)
  return position === undefined ? key : CacheKey.hash(position.list, String(position.index))
}

/**
 * How `key` (the key in Redis, as {@link storedKey} gives it, through
 * {@link placed}) is stored: a hash field, or a list position when `list`.
 */
export const sample = (key: CacheKey.CacheKey, list = false) =>
  Effect.gen(function*() {
    const redis = yield* RedisClient.RedisClient
    const redisKey = typeof key === "string" ? key : key.hash
    const stored = yield* redis.use("sample", (c) =>
      typeof key === "string"
        ? c.getBuffer(key)
        : list
        ? c.lindexBuffer(key.hash, Number(key.field))
        : c.hgetBuffer(key.hash, key.field))
    const encoding = yield* redis.use("object encoding", (c) => c.call("OBJECT", "ENCODING", redisKey))
    const pttl = yield* redis.use("pttl", (c) => c.pttl(redisKey))
    return {
      location: CacheKey.display(key),
      stored: stored === null ? "(missing)" : printable(stored),
      storedLength: stored === null ? 0 : stored.length,
      encoding: String(encoding),
      ttl: pttl < 0 ? "none" : `${Math.round(pttl / 1000)} s`
    }
  })

/** Runs one strategy on a flushed server. */
export const run = (strategy: Strategy, dataset: Dataset.Dataset, progress: Progress.Progress) =>
  Effect.gen(function*() {
    const redis = yield* RedisClient.RedisClient
    yield* redis.use("flushall", (c) => c.flushall("SYNC"))
    const empty = yield* settledMemory
    const mapKey = keyMapper(strategy.layout)

    const measured = yield* Effect.scoped(
      Effect.gen(function*() {
        const region = yield* Region.make<unknown>({
          name: strategy.id,
          expiration: EXPIRATION,
          envelope: strategy.envelope,
          ...(strategy.storeTtl === undefined ? {} : { storeTtl: strategy.storeTtl })
        })
        const started = yield* Clock.currentTimeMillis
        yield* progress.start(strategy.id, dataset.total)
        const batches = Math.ceil(dataset.total / BATCH)
        yield* Effect.forEach(
          Array.from({ length: batches }, (_, b) => b),
          (b) => {
            const entries = Dataset.slice(dataset, b * BATCH, (b + 1) * BATCH)
            return region.setMany(entries.map((entry) => [mapKey(entry), entry.value] as const)).pipe(
              Effect.andThen(progress.advance(entries.length))
            )
          },
          { concurrency: CONCURRENCY, discard: true }
        )
        const primeMs = (yield* Clock.currentTimeMillis) - started
        yield* progress.finish
        const samples = Dataset.samples(dataset)
        const read = yield* region.getMany(samples.map(mapKey))
        const checks = samples.map((entry, i) => {
          const got = read[i] ?? Option.none()
          return Option.isSome(got) && sameValue(got.value, entry.value)
        })
        const stored = yield* Effect.forEach(samples, (entry) => storedKey(region, mapKey(entry)))
        return { primeMs, samples, checks, stored }
      }).pipe(
        Effect.provide(Layer.mergeAll(strategy.backend, Codec.layer(strategy.codec), Lock.layerLocal))
      )
    )

    const used = yield* settledMemory
    const redisKeys = Number(yield* redis.use("dbsize", (c) => c.dbsize()))
    const samples = yield* Effect.forEach(measured.samples, (entry, i) =>
      Effect.map(sample(placed(strategy.layout, measured.stored[i] ?? mapKey(entry)), strategy.layout._tag === "Lists"), (s): Sample => ({
        key: entry.key,
        ...s,
        readBack: measured.checks[i] ?? false
      })))
    const usedMemoryDelta = used - empty
    const result: Result = {
      id: strategy.id,
      seedRow: strategy.seedRow ?? null,
      note: strategy.note,
      envelope: strategy.envelope.name,
      codec: strategy.codec.name,
      backend: strategy.layout._tag === "Keys" ? "RedisBackend" : strategy.layout._tag === "Lists" ? "ListBackend" : "HashBackend",
      layout: describeLayout(strategy.layout),
      redisTtl: strategy.redisTtl,
      entryExpiry: strategy.entryExpiry,
      entries: dataset.total,
      usedMemory: usedMemoryDelta,
      bytesPerEntry: usedMemoryDelta / dataset.total,
      redisKeys,
      primeMs: measured.primeMs,
      verified: measured.checks.every((ok) => ok),
      samples
    }
    return result
  })
