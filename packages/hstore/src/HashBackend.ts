/**
 * The hash-storage backend: hash-addressed keys live as fields of Redis hashes
 * (buckets), plain keys as Redis strings.
 *
 * @since 0.1.0
 */
import {
  Backend,
  type BackendEntry,
  type BackendError,
  CacheKey,
  type InvalidOptionError,
  UnsupportedKeyError
} from "@dogpile-effect/core"
import { RedisClient } from "@dogpile-effect/redis"
import { GetBatcher } from "@dogpile-effect/redis/toolkit"
import { Context, Duration, Effect, Exit, Layer, Metric, type Scope } from "effect"
import * as EntryExpiry from "./EntryExpiry.ts"
import * as HashMetrics from "./HashMetrics.ts"
import * as HashRestamp from "./HashRestamp.ts"
import * as HashScripts from "./HashScripts.ts"
import * as Overflow from "./Overflow.ts"
import * as Pipeline from "./Pipeline.ts"
import * as ReadBatch from "./ReadBatch.ts"
import * as Reads from "./Reads.ts"
import * as ServerFeatures from "./ServerFeatures.ts"
import * as Settings from "./Settings.ts"
import * as Slot from "./Slot.ts"
import * as Sweeper from "./Sweeper.ts"

/**
 * Options of {@link layer} (see `Settings.HashBackendOptions`).
 *
 * @example
 * ```ts
 * import { HashBackend, HashExpiry } from "@dogpile-effect/hstore"
 * const options: HashBackend.HashBackendOptions = { hashExpiry: HashExpiry.entryTtl, batchSize: 200 }
 * ```
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
   * removes its fields older than their age limit (`entryExpiry.maxAge`, else
   * the bucket's longest store TTL); returns how many were deleted. Each step is one bounded script call, so readers of the bucket
   * never wait long. Returns 0 when per-entry expiry is off.
   */
  sweepBucket(hash: string): Effect.Effect<number, BackendError>
}>()("@dogpile-effect/hstore/HashStore") {}

/** The write errors of a key whose name another Redis type holds: each is its caller's own, not its batch's. */
const clashOf = {
  plain: (key: string) => `plain key ${JSON.stringify(key)} is refused: a bucket (a Redis hash) has that name`,
  bucket: (hash: string, why: string) => `bucket ${JSON.stringify(hash)} holds another Redis type, not a hash: ${why}`,
  test: /is refused: a bucket \(a Redis hash\) has that name|holds another Redis type, not a hash/
}

const toBuffer = (bytes: Uint8Array): Buffer =>
  Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)

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
    /** A key as stored (a plain key goes through `bucketing` when it is set), or the error for the reserved TTL field. */
    const storedKey = (input: CacheKey.CacheKey): CacheKey.CacheKey | UnsupportedKeyError => {
      const key = bucketing === undefined || typeof input !== "string" ? input : bucketing(input)
      return typeof key !== "string" && key.field === EntryExpiry.TTL_FIELD
        ? new UnsupportedKeyError({
          key: CacheKey.display(key),
          backend: "redis-hash",
          reason: "this field name is reserved: the bucket keeps its store TTL there"
        })
        : key
    }
    /** The keys as stored; the reserved TTL field is refused. */
    const stored = (input: ReadonlyArray<CacheKey.CacheKey>) => {
      const keys: Array<CacheKey.CacheKey> = []
      for (const one of input) {
        const key = storedKey(one)
        if (key instanceof UnsupportedKeyError) return Effect.fail(key)
        keys.push(key)
      }
      return Effect.succeed(keys)
    }
    const bucketOf = (key: CacheKey.CacheKey) => (typeof key === "string" ? undefined : key.hash)
    const fieldAt = (keys: ReadonlyArray<CacheKey.CacheKey>) => (i: number) => (keys[i] as CacheKey.HashKey).field

    // ---- reading ------------------------------------------------------------

    // Every get and getMany of one tick is one read: one HMGET per bucket, in one pipeline (ReadBatch).
    const reads = ReadBatch.make(Reads.make({ redis, batchSize, overflowAbove, expiry, sweeper }), redis.isCluster)

    const getMany = (input: ReadonlyArray<CacheKey.CacheKey>) =>
      Effect.flatMap(stored(input), reads.getMany)

    const get = (input: CacheKey.CacheKey) => {
      const key = storedKey(input)
      return key instanceof UnsupportedKeyError ? Effect.fail(key) : reads.get(key)
    }

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
        ttlField: expiry !== undefined && expiry.maxAgeMs === undefined ? EntryExpiry.TTL_FIELD : undefined,
        longestMs: endless ? undefined : longest,
        fields: writes
      }
    }

    const setMany = (entries: ReadonlyArray<BackendEntry>) =>
      Effect.gen(function*() {
        const commands: Array<Pipeline.Command> = []
        const ignore = () => {}
        // Last write of a bucket field wins, as it would with separate calls.
        const buckets = new Map<string, Map<string, BackendEntry>>()
        const keys = yield* stored(entries.map((entry) => entry.key))
        for (const [i, entry] of entries.entries()) {
          const key = keys[i] as CacheKey.CacheKey
          if (typeof key === "string") {
            const px = pxOf(entry.ttl)
            const value = toBuffer(entry.value)
            // SET … GET refuses (WRONGTYPE) to overwrite a key of another type: a plain key never replaces a bucket.
            commands.push({
              route: key,
              add: (p) => (px === undefined ? p.set(key, value, "GET") : p.set(key, value, "PX", px, "GET")),
              onReply: ignore,
              onError: (error) =>
                Pipeline.isWrongType(error)
                  ? new Error(clashOf.plain(key))
                  : error
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
                ? new Error(clashOf.bucket(hash, error.message))
                : error
          })
        }
        yield* run("setMany", commands)
        if (overflows > 0) yield* Metric.update(HashMetrics.overflowWrites, overflows)
      })

    /**
     * The single writes of one tick as one `setMany` (one pipeline per slot, where each call ran a pipeline of
     * its own); on a Cluster one batch per slot, so a node that fails fails only the writes of its keys. A key
     * that clashes with another Redis type fails the batch's pipeline: then each write of that batch is tried
     * alone, so the failure reaches only its own caller (writing a field or a plain key again is harmless).
     */
    const isKeyClash = (error: BackendError | UnsupportedKeyError) => error._tag === "BackendError" && clashOf.test.test(error.reason)
    const setBatch = (entries: ReadonlyArray<BackendEntry>) =>
      Effect.as(setMany(entries), entries.map(() => Exit.void)).pipe(
        Effect.catchIf(
          (error) => entries.length > 1 && isKeyClash(error),
          () => Effect.forEach(entries, (entry) => Effect.exit(setMany([entry])))
        )
      )
    const routeOf = (key: CacheKey.CacheKey) => (typeof key === "string" ? key : key.hash)
    const perSlot = (keys: ReadonlyArray<CacheKey.CacheKey>) =>
      [...Slot.groupBy(keys.keys(), (i) => routeOf(keys[i]!), true).values()]
    const slotsOf = (entries: ReadonlyArray<BackendEntry>) =>
      perSlot(entries.map((entry) => {
        const key = storedKey(entry.key)
        return key instanceof UnsupportedKeyError ? entry.key : key
      }))
    const batchedSet = GetBatcher.make(setBatch, redis.isCluster ? slotsOf : undefined)
    const set = (key: CacheKey.CacheKey, value: Uint8Array, ttl?: Duration.Duration) => {
      // An unsupported key fails its own call, before it joins a batch.
      const checked = storedKey(key)
      return checked instanceof UnsupportedKeyError
        ? Effect.fail(checked)
        : Effect.flatMap(batchedSet({ key, value, ttl }), (exit) => exit)
    }

    // ---- deleting -----------------------------------------------------------

    const deleteMany = (input: ReadonlyArray<CacheKey.CacheKey>) =>
      Effect.gen(function*() {
        const keys = yield* stored(input)
        const strings = new Set<string>()
        for (const key of keys) {
          if (typeof key === "string") strings.add(key)
          else if (overflowAbove !== undefined) strings.add(Overflow.key(key.hash, key.field))
        }
        // Plain keys that name a bucket are left alone (the script deletes only keys that are not hashes).
        const commands = perKeys([...strings], (chunk) => ({
          add: (p) => void HashScripts.invoke(p, HashScripts.deletePlain, chunk),
          onReply: () => {}
        }))
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
      restampMany: HashRestamp.make({
        redis,
        storedKey,
        bucketTtl,
        marker: overflowAbove === undefined ? undefined : Overflow.MARKER,
        overflowKey: Overflow.key,
        fieldTtl: features.fieldTtl,
        ttlField: expiry !== undefined && expiry.maxAgeMs === undefined ? EntryExpiry.TTL_FIELD : undefined
      }),
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
 * - `CacheKey.hash(h, f)` → `HMGET h f…`, `HSET` (by a Lua script that also
 *   sets the bucket's TTL, by default at least the entries' store TTL, and
 *   writes overflow keys, all atomically), `HDEL`.
 * - Plain keys → `MGET`/`SET [PX] GET`/`DEL` (a script that never deletes a
 *   hash): a plain key never replaces or deletes a bucket of the same name.
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
 * @category layers
 * @since 0.1.0
 */
export const layer = (
  options: HashBackendOptions = {}
): Layer.Layer<Backend | HashStore, InvalidOptionError, RedisClient.RedisClient> => Layer.effectContext(make(options))
