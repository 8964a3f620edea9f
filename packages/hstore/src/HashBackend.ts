/**
 * The hash-storage backend: hash-addressed keys live as fields of Redis hashes
 * (buckets), plain keys as Redis strings.
 *
 * @since 0.1.0
 */
import { Backend, type BackendEntry, BackendError, CacheKey } from "@dogpile-effect/core"
import { RedisClient } from "@dogpile-effect/redis"
import { Clock, Context, Duration, Effect, Layer, Metric, Option, Queue, type Scope } from "effect"
import type { ChainableCommander } from "ioredis"
import * as EntryExpiry from "./EntryExpiry.ts"
import * as HashExpiry from "./HashExpiry.ts"
import * as HashMetrics from "./HashMetrics.ts"
import * as HashScripts from "./HashScripts.ts"
import * as ServerFeatures from "./ServerFeatures.ts"
import * as Slot from "./Slot.ts"

/**
 * Options of {@link layer}.
 *
 * @since 0.1.0
 */
export interface HashBackendOptions {
  /** When buckets get a Redis TTL (the seed's `redis_expiration_time_hash`). Default {@link HashExpiry.never}. */
  readonly hashExpiry?: HashExpiry.HashExpiry
  /** Per-entry expiry inside buckets (off by default). */
  readonly entryExpiry?: EntryExpiry.EntryExpiryOptions
  /**
   * Values longer than this many bytes are stored as plain overflow keys
   * instead of hash fields, so one large value never converts a whole bucket
   * from listpack to hashtable. Default: the server's
   * `hash-max-listpack-value` (64 when it cannot be read). `false` disables
   * overflow (every value goes into its bucket).
   */
  readonly overflowAbove?: number | false
  /** Plain keys per MGET/DEL; default 500. */
  readonly batchSize?: number
}

/**
 * The value kept in a field whose real value lives in its overflow key. A real
 * value equal to it is itself stored in the overflow key, so reading the
 * marker from a field always means "look in the overflow key".
 *
 * @since 0.1.0
 */
export const OVERFLOW_MARKER = "\u0000hstore:overflow"

const markerBytes = Buffer.from(OVERFLOW_MARKER, "utf8")

/**
 * The key holding the value of `hash[field]` when it overflowed: in the same
 * Cluster slot as the bucket (`{hash}` tag unless the name already has one).
 *
 * @example
 * ```ts
 * import { HashBackend } from "@dogpile-effect/hstore"
 * HashBackend.overflowKey("user:12345", "67") // "{user:12345}\u0000o:67"
 * ```
 *
 * @since 0.1.0
 */
export const overflowKey = (hash: string, field: string): string => overflowPrefix(hash) + field

const overflowPrefix = (hash: string): string => Slot.colocated(hash, "\u0000o:")

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
   * Scans one bucket (HSCAN, 100 fields per step) and removes its fields older
   * than `entryExpiry.maxAge`; returns how many were deleted. Each step is one
   * bounded script call, so readers of the bucket never wait long. Returns 0
   * when per-entry expiry is off.
   */
  sweepBucket(hash: string): Effect.Effect<number, BackendError>
}>()("@dogpile-effect/hstore/HashStore") {}

/** One command of a pipelined batch, routed by `route`'s slot. */
interface Command {
  readonly route: string
  readonly add: (pipeline: ChainableCommander) => void
  readonly onReply: (reply: unknown) => void
}

/** A field queued for removal, with the value it had when found expired. */
interface Expired {
  readonly hash: string
  readonly field: string
  readonly value: Uint8Array
}

type ScriptMethod = (...args: ReadonlyArray<string | Buffer>) => unknown

const SET_SCRIPT = "hstoreSetFields"
const DELETE_SCRIPT = "hstoreDeleteIfUnchanged"

const toBuffer = (bytes: Uint8Array): Buffer =>
  Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)

const sameBytes = (a: Uint8Array, b: Uint8Array): boolean => toBuffer(a).equals(toBuffer(b))

const asBytes = (reply: unknown): Option.Option<Uint8Array> =>
  reply instanceof Uint8Array ? Option.some(reply) : Option.none()

const pxOf = (ttl: Duration.Duration | undefined): number | undefined => {
  if (ttl === undefined) return undefined
  const ms = Duration.toMillis(ttl)
  return Number.isFinite(ms) && ms > 0 ? Math.ceil(ms) : undefined
}

const chunks = <A>(items: ReadonlyArray<A>, size: number): Array<ReadonlyArray<A>> => {
  const out: Array<ReadonlyArray<A>> = []
  for (let start = 0; start < items.length; start += size) out.push(items.slice(start, start + size))
  return out
}

/** Positions of the hash keys of `keys`, grouped by bucket in first-seen order. */
const byBucket = (keys: ReadonlyArray<CacheKey.CacheKey>): Map<string, Array<number>> => {
  const buckets = new Map<string, Array<number>>()
  keys.forEach((key, i) => {
    if (typeof key === "string") return
    const positions = buckets.get(key.hash)
    if (positions === undefined) buckets.set(key.hash, [i])
    else positions.push(i)
  })
  return buckets
}

/**
 * Builds the backend and its {@link HashStore} in a scope (the background
 * sweeper, when enabled, lives in that scope).
 *
 * @since 0.1.0
 */
export const make = (
  options: HashBackendOptions = {}
): Effect.Effect<Context.Context<Backend | HashStore>, never, RedisClient.RedisClient | Scope.Scope> =>
  Effect.gen(function*() {
    const redis = yield* RedisClient.RedisClient
    const features = yield* ServerFeatures.detect(redis)
    const policy = options.hashExpiry ?? HashExpiry.never
    const [policyMode, policyMs] = HashExpiry.scriptArgs(policy)
    const policyPx = policy._tag === "Never" ? undefined : Number(policyMs)
    const expiry = options.entryExpiry === undefined ? undefined : EntryExpiry.resolve(options.entryExpiry)
    const overflowAbove = options.overflowAbove === false
      ? undefined
      : options.overflowAbove ?? features.listpackValueLimit
    const batchSize = options.batchSize ?? 500
    if (!Number.isInteger(batchSize) || batchSize < 1) {
      throw new RangeError(`HashBackend: batchSize must be a positive integer, got ${batchSize}`)
    }
    // Registers the scripts (defineCommand) so that pipelines get them as methods.
    redis.script(SET_SCRIPT, HashScripts.SET_FIELDS, 1)
    const deleteScript = redis.script(DELETE_SCRIPT, HashScripts.DELETE_IF_UNCHANGED, 1)
    const queue = yield* Queue.dropping<Expired>(expiry?.queueCapacity ?? 1)

    /** Runs commands in pipelines, one per slot on a Cluster (one in all on a standalone server). */
    const exec = (operation: string, commands: ReadonlyArray<Command>): Effect.Effect<void, BackendError> =>
      commands.length === 0 ? Effect.void : Effect.forEach(
        Slot.groupBy(commands, (command) => command.route, redis.isCluster).values(),
        (group) =>
          redis.use(operation, async (client) => {
            const pipeline = client.pipeline()
            for (const command of group) command.add(pipeline)
            const results = await pipeline.exec()
            if (results === null) throw new Error("pipeline aborted")
            // Each command has a result at its position; fail on the first error.
            results.forEach(([error]) => {
              if (error !== null) throw error
            })
            results.forEach(([, reply], i) => (group[i] as Command).onReply(reply))
          }),
        { concurrency: "unbounded", discard: true }
      )

    /** Plain-key commands (MGET / DEL) chunked and grouped by slot. */
    const plainCommands = (
      keys: ReadonlyArray<string>,
      make: (chunk: ReadonlyArray<string>) => Omit<Command, "route">
    ): Array<Command> => {
      const out: Array<Command> = []
      for (const group of Slot.groupBy(keys, (key) => key, redis.isCluster).values()) {
        for (const chunk of chunks(group, batchSize)) out.push({ route: chunk[0] as string, ...make(chunk) })
      }
      return out
    }

    const isMarker = (bytes: Uint8Array) => overflowAbove !== undefined && sameBytes(bytes, markerBytes)

    // ---- reading ------------------------------------------------------------

    const getMany = (keys: ReadonlyArray<CacheKey.CacheKey>) =>
      Effect.gen(function*() {
        const out = new Array<Option.Option<Uint8Array>>(keys.length).fill(Option.none())
        const commands: Array<Command> = []
        const plainPositions = new Map<string, Array<number>>()
        keys.forEach((key, i) => {
          if (typeof key !== "string") return
          const positions = plainPositions.get(key)
          if (positions === undefined) plainPositions.set(key, [i])
          else positions.push(i)
        })
        commands.push(...plainCommands([...plainPositions.keys()], (chunk) => ({
          add: (p) => p.mgetBuffer(...chunk),
          onReply: (reply) => {
            const values = reply as ReadonlyArray<unknown>
            chunk.forEach((key, j) => {
              const value = asBytes(values[j])
              for (const i of plainPositions.get(key) ?? []) out[i] = value
            })
          }
        })))
        const buckets = byBucket(keys)
        for (const [hash, positions] of buckets) {
          const fields = positions.map((i) => (keys[i] as CacheKey.HashKey).field)
          commands.push({
            route: hash,
            add: (p) => p.hmgetBuffer(hash, ...fields),
            onReply: (reply) => {
              const values = reply as ReadonlyArray<unknown>
              positions.forEach((i, j) => (out[i] = asBytes(values[j])))
            }
          })
        }
        yield* exec("getMany", commands)

        // Fields holding the overflow marker: read their overflow keys.
        const overflowed = new Set<number>()
        if (overflowAbove !== undefined) {
          const wanted = new Map<string, Array<number>>()
          keys.forEach((key, i) => {
            const value = out[i] as Option.Option<Uint8Array>
            if (typeof key === "string" || Option.isNone(value) || !isMarker(value.value)) return
            overflowed.add(i)
            out[i] = Option.none()
            const k = overflowKey(key.hash, key.field)
            const positions = wanted.get(k)
            if (positions === undefined) wanted.set(k, [i])
            else positions.push(i)
          })
          yield* exec("getMany", plainCommands([...wanted.keys()], (chunk) => ({
            add: (p) => p.mgetBuffer(...chunk),
            onReply: (reply) => {
              const values = reply as ReadonlyArray<unknown>
              chunk.forEach((k, j) => {
                const value = asBytes(values[j])
                for (const i of wanted.get(k) ?? []) out[i] = value
              })
            }
          })))
        }

        // Per-entry expiry: fields past maxAge read as misses and are queued for removal.
        if (expiry !== undefined && buckets.size > 0) {
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
              if (!Queue.offerUnsafe(queue, { hash: key.hash, field: key.field, value: value.value })) dropped++
            }
          }
          if (expired > 0) yield* Metric.update(HashMetrics.expiredReads, expired)
          if (dropped > 0) yield* Metric.update(HashMetrics.sweepDropped, dropped)
        }
        return out
      })

    const get = (key: CacheKey.CacheKey) =>
      Effect.map(getMany([key]), (values) => values[0] ?? Option.none<Uint8Array>())

    // ---- writing ------------------------------------------------------------

    const setMany = (entries: ReadonlyArray<BackendEntry>) =>
      Effect.gen(function*() {
        const commands: Array<Command> = []
        const ignore = () => {}
        // Last write of a bucket field wins, as it would with separate calls.
        const buckets = new Map<string, Map<string, BackendEntry>>()
        for (const entry of entries) {
          const key = entry.key
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
          const prefix = overflowPrefix(hash)
          const args: Array<string | Buffer> = [
            policyMode,
            policyMs,
            features.expireNx ? "1" : "0",
            overflowAbove === undefined ? "" : OVERFLOW_MARKER,
            prefix,
            features.fieldTtl ? "1" : "0"
          ]
          for (const [field, entry] of fields) {
            const px = pxOf(entry.ttl)
            const value = toBuffer(entry.value)
            if (overflowAbove !== undefined && (value.length > overflowAbove || value.equals(markerBytes))) {
              overflows++
              const k = prefix + field
              const ttl = px ?? policyPx
              commands.push({
                route: k,
                add: (p) => (ttl === undefined ? p.set(k, value) : p.set(k, value, "PX", ttl)),
                onReply: ignore
              })
              args.push(field, markerBytes, "0")
            } else {
              args.push(field, value, features.fieldTtl && px !== undefined ? String(px) : "0")
            }
          }
          commands.push({
            route: hash,
            // `defineCommand` added the script as a pipeline method.
            add: (p) => (p as unknown as Record<string, ScriptMethod>)[SET_SCRIPT]?.(hash, ...args),
            onReply: ignore
          })
        }
        yield* exec("setMany", commands)
        if (overflows > 0) yield* Metric.update(HashMetrics.overflowWrites, overflows)
      })

    const set = (key: CacheKey.CacheKey, value: Uint8Array, ttl?: Duration.Duration) =>
      setMany([{ key, value, ttl }])

    // ---- deleting -----------------------------------------------------------

    const deleteMany = (keys: ReadonlyArray<CacheKey.CacheKey>) =>
      Effect.gen(function*() {
        const strings = new Set<string>()
        for (const key of keys) {
          if (typeof key === "string") strings.add(key)
          else if (overflowAbove !== undefined) strings.add(overflowKey(key.hash, key.field))
        }
        const commands = plainCommands([...strings], (chunk) => ({ add: (p) => p.del(...chunk), onReply: () => {} }))
        for (const [hash, positions] of byBucket(keys)) {
          const fields = [...new Set(positions.map((i) => (keys[i] as CacheKey.HashKey).field))]
          commands.push({ route: hash, add: (p) => p.hdel(hash, ...fields), onReply: () => {} })
        }
        yield* exec("deleteMany", commands)
      })

    const deleteOne = (key: CacheKey.CacheKey) => deleteMany([key])

    // ---- sweeping -----------------------------------------------------------

    /** Compare-and-deletes expired fields, one script call per bucket and batch. */
    const remove = (items: ReadonlyArray<Expired>): Effect.Effect<number, BackendError> =>
      Effect.gen(function*() {
        const perBucket = new Map<string, Array<Expired>>()
        for (const item of items) {
          const list = perBucket.get(item.hash)
          if (list === undefined) perBucket.set(item.hash, [item])
          else list.push(item)
        }
        const counts = yield* Effect.forEach(
          perBucket,
          ([hash, list]) =>
            Effect.map(
              deleteScript.run([hash], list.flatMap((item) => [item.field, toBuffer(item.value)])),
              (reply) => (typeof reply === "number" ? reply : Number(reply))
            ),
          { concurrency: "unbounded" }
        )
        const removed = counts.reduce((a, b) => a + b, 0)
        if (removed > 0) yield* Metric.update(HashMetrics.expiredRemoved, removed)
        return removed
      })

    const batch = expiry?.batchSize ?? 100

    const sweepPending = Effect.gen(function*() {
      // At most queueCapacity items: the queue's bound is the sweep's bound.
      const items = yield* Queue.clear(queue)
      let removed = 0
      for (const chunk of chunks(items, batch)) removed += yield* remove(chunk)
      return removed
    })

    const sweepBucket = (hash: string) =>
      Effect.gen(function*() {
        if (expiry === undefined) return 0
        let cursor = "0"
        let removed = 0
        do {
          const [next, flat] = yield* redis.use(
            "sweepBucket",
            (c) => c.hscanBuffer(hash, cursor, "COUNT", batch) as Promise<[Buffer, Array<Buffer>]>
          )
          cursor = next.toString()
          const now = yield* Clock.currentTimeMillis
          const found: Array<Expired> = []
          for (let i = 0; i + 1 < flat.length; i += 2) {
            // i + 1 < flat.length, so both entries exist.
            const field = (flat[i] as Buffer).toString()
            const value = flat[i + 1] as Buffer
            if (!isMarker(value) && (yield* EntryExpiry.isExpired(expiry, value, now))) found.push({ hash, field, value })
          }
          if (found.length > 0) removed += yield* remove(found)
        } while (cursor !== "0")
        return removed
      })

    if (expiry !== undefined && expiry.sweeper === "background") {
      yield* Effect.forkScoped(
        Effect.forever(
          Queue.takeBetween(queue, 1, batch).pipe(
            Effect.flatMap(remove),
            Effect.catch((error) => Effect.logDebug("dogpile: hstore sweep failed; will retry with later reads", error.reason))
          )
        )
      )
    }

    const backend = Backend.of({
      name: "redis-hash",
      capabilities: { hashKeys: true, ttl: true },
      get,
      getMany,
      set,
      setMany,
      delete: deleteOne,
      deleteMany
    })
    const store = HashStore.of({ features, overflowAbove, sweepPending, sweepBucket })
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
): Layer.Layer<Backend | HashStore, never, RedisClient.RedisClient> => Layer.effectContext(make(options))
