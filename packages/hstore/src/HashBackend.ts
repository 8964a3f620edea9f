/**
 * The hash-storage backend: hash-addressed keys live as fields of Redis hashes
 * (buckets), plain keys as Redis strings.
 *
 * @since 0.1.0
 */
import { Backend, type BackendEntry, type BackendError, CacheKey, type InvalidOptionError } from "@dogpile-effect/core"
import { RedisClient } from "@dogpile-effect/redis"
import { Clock, Context, Duration, Effect, Layer, Metric, Option, type Scope } from "effect"
import * as EntryExpiry from "./EntryExpiry.ts"
import * as HashMetrics from "./HashMetrics.ts"
import * as HashScripts from "./HashScripts.ts"
import * as Overflow from "./Overflow.ts"
import * as Pipeline from "./Pipeline.ts"
import * as ServerFeatures from "./ServerFeatures.ts"
import * as Settings from "./Settings.ts"
import * as Slot from "./Slot.ts"
import * as Sweeper from "./Sweeper.ts"

/**
 * Options of {@link layer} (see `Settings.HashBackendOptions`).
 *
 * @category models
 * @since 0.1.0
 */
export type HashBackendOptions = Settings.HashBackendOptions

/**
 * The value kept in a field whose real value lives in its overflow key (see
 * `Overflow.MARKER`).
 *
 * @example
 * ```ts
 * import { HashBackend } from "@dogpile-effect/hstore"
 * HashBackend.OVERFLOW_MARKER // "\u0000hstore:overflow"
 * ```
 *
 * @category constants
 * @since 0.1.0
 */
export const OVERFLOW_MARKER = Overflow.MARKER

/**
 * The key holding the value of `hash[field]` when it overflowed, in the same
 * Cluster slot as the bucket (see `Overflow.key`).
 *
 * @example
 * ```ts
 * import { HashBackend } from "@dogpile-effect/hstore"
 * HashBackend.overflowKey("user:12345", "67") // "{user:12345}\u0000o:67"
 * ```
 *
 * @category keys
 * @since 0.1.0
 */
export const overflowKey = Overflow.key

/**
 * Maintenance and introspection of a hash backend, provided next to `Backend`
 * by {@link layer}.
 *
 * @example
 * ```ts
 * import { HashBackend } from "@dogpile-effect/hstore"
 * import { Effect } from "effect"
 *
 * const nightly = Effect.gen(function*() {
 *   const store = yield* HashBackend.HashStore
 *   return yield* store.sweepBucket("user:12345")
 * })
 * ```
 *
 * @category services
 * @since 0.1.0
 */
export class HashStore extends Context.Service<HashStore, {
  /** What was detected on the server when the Layer was built. */
  readonly features: ServerFeatures.ServerFeatures
  /** The overflow threshold in bytes, or `undefined` when overflow is off. */
  readonly overflowAbove: number | undefined
  /**
   * Removes the expired fields queued by reads so far, in batches; returns how
   * many were deleted. With `sweeper: "manual"` this is the only way they go.
   */
  readonly sweepPending: Effect.Effect<number, BackendError>
  /**
   * Scans one bucket (HSCAN, `entryExpiry.batchSize` fields per step) and
   * removes its fields older than `entryExpiry.maxAge`; returns how many were
   * deleted. Each step is one bounded script call, so readers of the bucket
   * never wait long. Returns 0 when per-entry expiry is off.
   */
  sweepBucket(hash: string): Effect.Effect<number, BackendError>
}>()("@dogpile-effect/hstore/HashStore") {}

const toBuffer = (bytes: Uint8Array): Buffer =>
  Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)

const asBytes = (reply: unknown): Option.Option<Uint8Array> =>
  reply instanceof Uint8Array ? Option.some(reply) : Option.none()

/** The `PX` of a ttl hint (at least 1 ms, like `RedisBackend`), or `undefined` for none or an endless one. */
const pxOf = (ttl: Duration.Duration | undefined): number | undefined => {
  if (ttl === undefined) return undefined
  const ms = Duration.toMillis(ttl)
  return Number.isFinite(ms) && ms >= 0 ? Math.max(1, Math.ceil(ms)) : undefined
}

/**
 * Builds the backend and its {@link HashStore} in a scope (the background
 * sweeper, when enabled, lives in that scope). Fails with
 * `InvalidOptionError` when an option is invalid.
 *
 * @example
 * ```ts
 * import { HashBackend } from "@dogpile-effect/hstore"
 * const services = HashBackend.make({ batchSize: 200 }) // needs RedisClient and Scope
 * ```
 *
 * @category constructors
 * @since 0.1.0
 */
export const make = (
  options: HashBackendOptions = {}
): Effect.Effect<
  Context.Context<Backend | HashStore>,
  InvalidOptionError,
  RedisClient.RedisClient | Scope.Scope
> =>
  Effect.gen(function*() {
    const settings = yield* Settings.resolve(options)
    const { batchSize, bucketTtl, bucketing, expiry } = settings
    const redis = yield* RedisClient.RedisClient
    const features = yield* ServerFeatures.detect(redis)
    const overflowAbove = settings.overflowAbove === false
      ? undefined
      : settings.overflowAbove ?? features.listpackValueLimit
    HashScripts.define(redis.client)
    const sweeper = yield* Sweeper.make(redis, expiry)
    const run = (operation: string, commands: ReadonlyArray<Pipeline.Command>) =>
      Pipeline.run(redis, operation, commands)
    const perKeys = (keys: ReadonlyArray<string>, make: (chunk: ReadonlyArray<string>) => Omit<Pipeline.Command, "route">) =>
      Pipeline.perKeys(keys, batchSize, redis.isCluster, make)
    /** The key as stored: plain keys go through `bucketing` when it is set. */
    const stored = (key: CacheKey.CacheKey): CacheKey.CacheKey =>
      bucketing === undefined || typeof key !== "string" ? key : bucketing(key)
    const bucketOf = (key: CacheKey.CacheKey) => (typeof key === "string" ? undefined : key.hash)
    const plainOf = (key: CacheKey.CacheKey) => (typeof key === "string" ? key : undefined)
    const fieldAt = (keys: ReadonlyArray<CacheKey.CacheKey>) => (i: number) => (keys[i] as CacheKey.HashKey).field

    /** MGETs `wanted` keys and stores each value at its positions in `out`. */
    const mget = (wanted: Map<string, Array<number>>, out: Array<Option.Option<Uint8Array>>) =>
      perKeys([...wanted.keys()], (chunk) => ({
        add: (p) => p.mgetBuffer(...chunk),
        onReply: (reply) => {
          const values = reply as ReadonlyArray<unknown>
          chunk.forEach((key, j) => {
            for (const i of wanted.get(key) ?? []) out[i] = asBytes(values[j])
          })
        }
      }))

    // ---- reading ------------------------------------------------------------

    const readBuckets = (keys: ReadonlyArray<CacheKey.CacheKey>, out: Array<Option.Option<Uint8Array>>) =>
      Effect.gen(function*() {
        const buckets = Pipeline.positions(keys, bucketOf)
        const wrongType: Array<string> = []
        const commands = mget(Pipeline.positions(keys, plainOf), out)
        for (const [hash, positions] of buckets) {
          commands.push({
            route: hash,
            add: (p) => p.hmgetBuffer(hash, ...positions.map(fieldAt(keys))),
            onReply: (reply) => positions.forEach((i, j) => (out[i] = asBytes((reply as ReadonlyArray<unknown>)[j]))),
            // A bucket name holding another Redis type fails only its own keys (they read as misses).
            onError: (error) => Pipeline.isWrongType(error) ? void wrongType.push(hash) : error
          })
        }
        yield* run("getMany", commands)
        if (wrongType.length > 0) {
          const misses = wrongType.reduce((n, hash) => n + (buckets.get(hash)?.length ?? 0), 0)
          yield* Metric.update(HashMetrics.wrongTypeReads, misses)
          yield* Effect.logWarning(
            `dogpile: hstore buckets hold another Redis type; their keys read as misses: ${wrongType.join(", ")}`
          )
        }
        return buckets
      })

    /** Fields holding the overflow marker: reads their overflow keys; returns their positions. */
    const readOverflow = (keys: ReadonlyArray<CacheKey.CacheKey>, out: Array<Option.Option<Uint8Array>>) =>
      Effect.gen(function*() {
        const overflowed = new Set<number>()
        if (overflowAbove === undefined) return overflowed
        const wanted = new Map<string, Array<number>>()
        keys.forEach((key, i) => {
          const value = out[i] as Option.Option<Uint8Array>
          if (typeof key === "string" || Option.isNone(value) || !Overflow.isMarker(value.value)) return
          overflowed.add(i)
          out[i] = Option.none()
          const k = Overflow.key(key.hash, key.field)
          const list = wanted.get(k)
          if (list === undefined) wanted.set(k, [i])
          else list.push(i)
        })
        yield* run("getMany", mget(wanted, out))
        return overflowed
      })

    /** Per-entry expiry: fields past maxAge read as misses and inline ones are queued for removal. */
    const applyExpiry = (
      expiry: EntryExpiry.EntryExpirySettings,
      keys: ReadonlyArray<CacheKey.CacheKey>,
      buckets: Map<string, Array<number>>,
      overflowed: Set<number>,
      out: Array<Option.Option<Uint8Array>>
    ) =>
      Effect.gen(function*() {
        const now = yield* Clock.currentTimeMillis
        let expired = 0
        let dropped = 0
        for (const positions of buckets.values()) {
          for (const i of positions) {
            const value = out[i] as Option.Option<Uint8Array>
            if (Option.isNone(value) || !(yield* EntryExpiry.isExpired(expiry, value.value, now))) continue
            out[i] = Option.none()
            expired++
            // Overflowed entries expire with their key's TTL; only inline fields are swept.
            if (overflowed.has(i)) continue
            const key = keys[i] as CacheKey.HashKey
            if (!sweeper.offer({ hash: key.hash, field: key.field, value: value.value })) dropped++
          }
        }
        if (expired > 0) yield* Metric.update(HashMetrics.expiredReads, expired)
        if (dropped > 0) yield* Metric.update(HashMetrics.sweepDropped, dropped)
      })

    const getMany = (input: ReadonlyArray<CacheKey.CacheKey>) =>
      Effect.gen(function*() {
        const keys = input.map(stored)
        const out = new Array<Option.Option<Uint8Array>>(keys.length).fill(Option.none())
        const buckets = yield* readBuckets(keys, out)
        const overflowed = yield* readOverflow(keys, out)
        if (expiry !== undefined && buckets.size > 0) yield* applyExpiry(expiry, keys, buckets, overflowed, out)
        return out
      })

    const get = (key: CacheKey.CacheKey) =>
      Effect.map(getMany([key]), (values) => values[0] ?? Option.none<Uint8Array>())

    // ---- writing ------------------------------------------------------------

    /** The TTL of an overflow key: the entry's own, else a fixed bucket policy's. */
    const fixedMs = bucketTtl.mode === "onCreate" || bucketTtl.mode === "onEveryWrite" ? bucketTtl.ms : undefined

    /** The script call writing one bucket's fields. */
    const bucketWrite = (hash: string, fields: Map<string, BackendEntry>): HashScripts.SetFieldsInput => {
      const writes: Array<HashScripts.FieldWrite> = []
      const overflowOn = overflowAbove !== undefined && (!redis.isCluster || Slot.clientAgrees(hash))
      let longest = 0
      let endless = false
      for (const [field, entry] of fields) {
        const px = pxOf(entry.ttl)
        if (px === undefined) endless = true
        else longest = Math.max(longest, px)
        const value = toBuffer(entry.value)
        const overflow = overflowOn && Overflow.needed(value, overflowAbove)
        writes.push({ field, value, overflow, fieldTtlMs: features.fieldTtl ? px : undefined, keyTtlMs: px ?? fixedMs })
      }
      return {
        bucket: hash,
        ttl: bucketTtl.mode === "entries" ? { mode: "entries", ms: endless ? undefined : longest } : bucketTtl,
        marker: overflowOn ? Overflow.MARKER : undefined,
        overflowKeys: overflowOn ? writes.map((w) => Overflow.key(hash, w.field)) : [],
        fieldTtl: features.fieldTtl,
        fields: writes
      }
    }

    const setMany = (entries: ReadonlyArray<BackendEntry>) =>
      Effect.gen(function*() {
        const commands: Array<Pipeline.Command> = []
        const ignore = () => {}
        // Last write of a bucket field wins, as it would with separate calls.
        const buckets = new Map<string, Map<string, BackendEntry>>()
        for (const entry of entries) {
          const key = stored(entry.key)
          if (typeof key === "string") {
            const px = pxOf(entry.ttl)
            const value = toBuffer(entry.value)
            commands.push({
              route: key,
              add: (p) => (px === undefined ? p.set(key, value) : p.set(key, value, "PX", px)),
              onReply: ignore
            })
            continue
          }
          let fields = buckets.get(key.hash)
          if (fields === undefined) buckets.set(key.hash, fields = new Map())
          fields.delete(key.field)
          fields.set(key.field, entry)
        }
        let overflows = 0
        for (const [hash, fields] of buckets) {
          const input = bucketWrite(hash, fields)
          overflows += input.fields.filter((f) => f.overflow).length
          commands.push({
            route: hash,
            add: (p) => void HashScripts.invoke(p, HashScripts.setFields, input),
            onReply: ignore,
            onError: (error) =>
              Pipeline.isWrongType(error)
                ? new Error(`bucket ${JSON.stringify(hash)} holds another Redis type, not a hash: ${error.message}`)
                : error
          })
        }
        yield* run("setMany", commands)
        if (overflows > 0) yield* Metric.update(HashMetrics.overflowWrites, overflows)
      })

    const set = (key: CacheKey.CacheKey, value: Uint8Array, ttl?: Duration.Duration) =>
      setMany([{ key, value, ttl }])

    // ---- deleting -----------------------------------------------------------

    const deleteMany = (input: ReadonlyArray<CacheKey.CacheKey>) =>
      Effect.gen(function*() {
        const keys = input.map(stored)
        const strings = new Set<string>()
        for (const key of keys) {
          if (typeof key === "string") strings.add(key)
          else if (overflowAbove !== undefined) strings.add(Overflow.key(key.hash, key.field))
        }
        const commands = perKeys([...strings], (chunk) => ({ add: (p) => p.del(...chunk), onReply: () => {} }))
        for (const [hash, positions] of Pipeline.positions(keys, bucketOf)) {
          const fields = [...new Set(positions.map(fieldAt(keys)))]
          commands.push({
            route: hash,
            add: (p) => p.hdel(hash, ...fields),
            onReply: () => {},
            // A key of another type holds none of these fields: nothing to delete.
            onError: (error) => (Pipeline.isWrongType(error) ? undefined : error)
          })
        }
        yield* run("deleteMany", commands)
      })

    const backend = Backend.of({
      name: "redis-hash",
      capabilities: { hashKeys: true, ttl: true },
      get,
      getMany,
      set,
      setMany,
      delete: (key) => deleteMany([key]),
      deleteMany
    })
    const store = HashStore.of({
      features,
      overflowAbove,
      sweepPending: sweeper.sweepPending,
      sweepBucket: sweeper.sweepBucket
    })
    return Context.make(Backend, backend).pipe(Context.add(HashStore, store))
  })

/**
 * The hash backend as a Layer over a `RedisClient`: provides core's `Backend`
 * (with `capabilities.hashKeys = true`) and {@link HashStore}.
 *
 * - `CacheKey.hash(h, f)` → `HGET`/`HMGET h f…`, `HSET` (by a Lua script that
 *   also applies the hash expiry policy atomically), `HDEL`.
 * - Plain keys → `GET`/`MGET`/`SET [PX]`/`DEL`, like `RedisBackend`.
 * - `getMany` sends one `HMGET` per bucket and one `MGET` for the plain keys
 *   (per slot on a Cluster) in one pipeline; results come in input order,
 *   duplicates included. `setMany` and `deleteMany` likewise.
 *
 * @example
 * ```ts
 * import { CacheKey, Codec, Envelope, Lock, Region } from "@dogpile-effect/core"
 * import { HashBackend, HashExpiry } from "@dogpile-effect/hstore"
 * import { RedisClient } from "@dogpile-effect/redis"
 * import { Effect, Layer } from "effect"
 *
 * const Live = Layer.mergeAll(
 *   HashBackend.layer({ hashExpiry: HashExpiry.onCreate("1 day"), entryExpiry: { maxAge: "1 hour" } }),
 *   Codec.layerJson,
 *   Lock.layerLocal
 * ).pipe(Layer.provide(RedisClient.layer({ url: "redis://127.0.0.1:6379" })))
 *
 * const program = Effect.gen(function*() {
 *   const users = yield* Region.make<number>({ name: "users", expiration: "1 hour", envelope: Envelope.compact() })
 *   yield* users.set(CacheKey.hash("user:12345", "67"), 42)
 * }).pipe(Effect.scoped, Effect.provide(Live))
 * ```
 *
 * @since 0.1.0
 */
export const layer = (
  options: HashBackendOptions = {}
): Layer.Layer<Backend | HashStore, InvalidOptionError, RedisClient.RedisClient> => Layer.effectContext(make(options))
