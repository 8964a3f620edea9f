/**
 * The Redis Backend: plain string keys over GET / MGET / SET [PX] / DEL, and
 * renewals in place through one script (`RestampLua`).
 *
 * @since 0.1.0
 */
import {
  Backend,
  type BackendEntry,
  type BackendRestamp,
  CacheKey,
  type InvalidOptionError,
  Options,
  UnsupportedKeyError
} from "@dogpile-effect/core"
import { Duration, Effect, Layer, Option } from "effect"
import * as GetBatcher from "./GetBatcher.ts"
import * as KeySlot from "./KeySlot.ts"
import * as LockedStore from "./LockedStore.ts"
import { RedisClient } from "./RedisClient.ts"
import * as RestampLua from "./RestampLua.ts"
import { pxOf } from "./StoreTtl.ts"

/**
 * Options of the Redis backend. The store TTL (`SET … PX`) is not one of
 * them: it is the region's `storeTtl`, passed with every write.
 *
 * @since 0.1.0
 */
export interface RedisBackendOptions {
  /** The most keys in one MGET / DEL / pipeline. Default 500. */
  readonly batchSize?: number | undefined
  /**
   * Coalesce the single-key `get`s issued in the same tick into MGETs (per
   * slot on a Cluster, at most `batchSize` keys each). Under concurrency this
   * replaces N GETs with a few MGETs; a lone get is still sent as one GET.
   * Default `true`.
   */
  readonly coalesceGets?: boolean | undefined
}

/** A GET/MGET reply: the bytes, or none for a missing key. */
/** From this many entries a `setMany` batch is sent as one explicit pipeline rather than plain SETs. */
const PIPELINE_FROM = 16

const bytesOf = (reply: Buffer | null | undefined): Option.Option<Uint8Array> =>
  reply === null || reply === undefined ? Option.none() : Option.some(reply)

const toBuffer = (bytes: Uint8Array): Buffer =>
  Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)

/**
 * Builds the backend over the {@link RedisClient} in context.
 *
 * @since 0.1.0
 */
export const make = (
  options: RedisBackendOptions = {}
): Effect.Effect<Backend["Service"], InvalidOptionError, RedisClient> =>
  Effect.gen(function*() {
    const redis = yield* RedisClient
    const batchSize = yield* Options.integer("RedisBackend", "batchSize", options.batchSize, 500, { min: 1 })
    yield* Options.reject(
      "RedisBackend",
      "coalesceGets",
      options.coalesceGets !== undefined && typeof options.coalesceGets !== "boolean",
      "must be true or false"
    )
    const plan = (keys: ReadonlyArray<string>) => KeySlot.batches(keys, { size: batchSize, cluster: redis.isCluster })

    const plain = (key: CacheKey.CacheKey): Effect.Effect<string, UnsupportedKeyError> =>
      typeof key === "string"
        ? Effect.succeed(key)
        : Effect.fail(
          new UnsupportedKeyError({
            key: CacheKey.display(key),
            backend: "redis",
            reason: "RedisBackend stores plain string keys; use HashBackend from @dogpile-effect/hstore for hash keys"
          })
        )
    const plainAll = (keys: ReadonlyArray<CacheKey.CacheKey>) => Effect.forEach(keys, plain)
    // The store TTL is the region's (`storeTtl`): one knob, set where the expiration is known.
    const ttlFor = (hint: Duration.Duration | undefined) => pxOf(hint)

    const getOne = (key: string) => Effect.map(redis.use("get", (c) => c.getBuffer(key)), bytesOf)

    // ---- coalesced gets: every get of one tick goes out in one MGET per slot and batch ----
    /** One group's read: a lone key as GET, more as one MGET. */
    const readGroup = (keys: ReadonlyArray<string>) =>
      keys.length === 1
        ? Effect.map(getOne(keys[0]!), (found) => [found])
        : Effect.map(redis.use("mget", (c) => c.mgetBuffer(...keys)), (replies) =>
          replies.map(bytesOf))
    const coalesced = GetBatcher.make(readGroup, plan)
    const getPlain = options.coalesceGets === false ? getOne : coalesced

    const get = (key: CacheKey.CacheKey) => typeof key === "string" ? getPlain(key) : Effect.flatMap(plain(key), getPlain)

    const getMany = (keys: ReadonlyArray<CacheKey.CacheKey>) =>
      Effect.gen(function*() {
        const all = yield* plainAll(keys)
        const out = new Array<Option.Option<Uint8Array>>(all.length)
        yield* Effect.forEach(
          plan(all),
          (batch) =>
            Effect.map(
              redis.use("mget", (c) => c.mgetBuffer(...batch.map((i) => all[i] as string))),
              (replies) =>
                batch.forEach((position, j) => {
                  const reply = replies[j]
                  out[position] = bytesOf(reply)
                })
            ),
          { concurrency: "unbounded", discard: true }
        )
        return out
      })

    // A lock fused with this backend (`LockedStore.ts`) leaves its release here, for the store of its value.
    const shared: LockedStore.Shared = { client: redis, pending: new Map() }
    const storeRelease = redis.script("dogpileStoreRelease", LockedStore.STORE_RELEASE, 2)
    const storeAndRelease = (k: string, bytes: Buffer, px: number | undefined, pending: LockedStore.PendingRelease) =>
      Effect.map(LockedStore.storeAndRelease(storeRelease, k, bytes, px, pending), (reply) => {
        if (shared.pending.get(k) === pending) shared.pending.delete(k)
        pending.released(reply)
      })

    const set = (key: CacheKey.CacheKey, value: Uint8Array, ttl?: Duration.Duration) =>
      Effect.flatMap(plain(key), (k) => {
        const px = ttlFor(ttl)
        const bytes = toBuffer(value)
        const plainSet = Effect.asVoid(
          px === undefined
            ? redis.use("set", (c) => c.set(k, bytes))
            : redis.use("set", (c) => c.set(k, bytes, "PX", px))
        )
        const pending = shared.pending.size === 0 ? undefined : shared.pending.get(k)
        if (pending === undefined) return plainSet
        // Only the lock holder's own store releases its lock.
        return Effect.withFiber((fiber) => pending.owner === fiber ? storeAndRelease(k, bytes, px, pending) : plainSet)
      })

    const setMany = (entries: ReadonlyArray<BackendEntry>) =>
      Effect.gen(function*() {
        const all = yield* plainAll(entries.map((entry) => entry.key))
        yield* Effect.forEach(
          plan(all),
          (batch) =>
            redis.use("setMany", (c): Promise<void> => {
              // `batch` holds positions of `entries`, so the lookups are defined.
              const write = (i: number) => {
                const entry = entries[i] as BackendEntry
                return { key: all[i] as string, bytes: toBuffer(entry.value), px: ttlFor(entry.ttl) }
              }
              // A few SETs go as plain commands, which ioredis' auto-pipelining writes together with other
              // callers' of the same tick; a large batch as one pipeline (one write, one reply to wait for).
              if (batch.length < PIPELINE_FROM) {
                return Promise.all(batch.map((i) => {
                  const { bytes, key, px } = write(i)
                  return px === undefined ? c.set(key, bytes) : c.set(key, bytes, "PX", px)
                })).then(() => undefined)
              }
              const pipeline = c.pipeline()
              for (const i of batch) {
                const { bytes, key, px } = write(i)
                if (px === undefined) pipeline.set(key, bytes)
                else pipeline.set(key, bytes, "PX", px)
              }
              return pipeline.exec().then((results) => {
                const failed = results?.find(([error]) => error !== null)
                if (failed !== undefined) throw failed[0]
              })
            }),
          { concurrency: "unbounded", discard: true }
        )
      })

    // Renewals in place: one script per slot (and batch) carrying headers only.
    const restampScript = redis.script("dogpileRestamp", RestampLua.RESTAMP, "variable")
    const restampMany = (entries: ReadonlyArray<BackendRestamp>) =>
      Effect.gen(function*() {
        const all = yield* plainAll(entries.map((entry) => entry.key))
        const applied = new Array<boolean>(all.length).fill(false)
        yield* Effect.forEach(
          plan(all),
          (batch) =>
            Effect.map(
              restampScript.run(batch.map((i) => all[i] as string), RestampLua.argsOf(entries, batch)),
              (reply) => RestampLua.appliedOf(reply, batch.length).forEach((done, j) => (applied[batch[j]!] = done))
            ),
          { concurrency: "unbounded", discard: true }
        )
        return applied
      })

    const deleteOne = (key: CacheKey.CacheKey) =>
      Effect.flatMap(plain(key), (k) => Effect.asVoid(redis.use("del", (c) => c.del(k))))

    const deleteMany = (keys: ReadonlyArray<CacheKey.CacheKey>) =>
      Effect.gen(function*() {
        const all = yield* plainAll(keys)
        yield* Effect.forEach(
          plan(all),
          (batch) => redis.use("del", (c) => c.del(...batch.map((i) => all[i] as string))),
          { concurrency: "unbounded", discard: true }
        )
      })

    const backend = Backend.of({
      name: "redis",
      capabilities: { hashKeys: false, ttl: true },
      get,
      getMany,
      set,
      setMany,
      restampMany,
      delete: deleteOne,
      deleteMany
    })
    return Object.assign(backend, { [LockedStore.SharedKey]: shared })
  })

/**
 * The Redis backend as a Layer over a {@link RedisClient}.
 *
 * @example
 * ```ts
 * import { RedisBackend, RedisClient } from "@dogpile-effect/redis"
 * import { Layer } from "effect"
 *
 * const BackendLive = RedisBackend.layer({ batchSize: 500 }).pipe(
 *   Layer.provide(RedisClient.layer({ url: "redis://127.0.0.1:6379" }))
 * )
 * ```
 *
 * @since 0.1.0
 */
export const layer = (options: RedisBackendOptions = {}): Layer.Layer<Backend, InvalidOptionError, RedisClient> =>
  Layer.effect(Backend, make(options))
