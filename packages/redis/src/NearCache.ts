/**
 * An optional near cache: an in-process tier in front of a Redis `Backend`,
 * kept coherent by Redis itself (`CLIENT TRACKING`). It keeps the stored
 * bytes, so the region above decodes them as usual and every region rule
 * holds (expiry from the stored creation time, stale-while-revalidate,
 * invalidation marks, the dogpile lock). See `docs/near-cache.md`.
 *
 * @since 0.1.0
 */
import {
  Backend,
  type BackendEntry,
  type BackendError,
  type BackendFailure,
  type BackendRestamp,
  CacheKey,
  type InvalidOptionError,
  Options
} from "@dogpile-effect/core"
import type { Cluster, Redis } from "ioredis"
import { Context, Effect, Layer, Option, Schedule, type Scope } from "effect"
import * as ClusterTracking from "./ClusterTracking.ts"
import * as LoopTurn from "./LoopTurn.ts"
import * as NearCacheMetrics from "./NearCacheMetrics.ts"
import * as NearStore from "./NearStore.ts"
import { RedisClient } from "./RedisClient.ts"
import * as Tracking from "./Tracking.ts"

const COMPONENT = "NearCache"

/**
 * Options of {@link layer}.
 *
 * @example
 * ```ts
 * import type { NearCache } from "@dogpile-effect/redis"
 * const options: NearCache.NearCacheOptions = { maxEntries: 50_000, maxBytes: 32 * 1024 * 1024, maxAge: "30 seconds" }
 * ```
 *
 * @category models
 * @since 0.1.0
 */
export interface NearCacheOptions {
  /** The most entries kept. Default 10,000. */
  readonly maxEntries?: number | undefined
  /** The most bytes kept (values, keys and a fixed per-entry overhead). Default 64 MiB. */
  readonly maxBytes?: number | undefined
  /**
   * The longest a local copy is served before Redis is asked again. Changes
   * arrive as invalidations long before; this bounds what they cannot carry:
   * a Redis TTL that elapsed while the server has not yet deleted the key.
   * `"never"` allowed. Default 10 seconds.
   */
  readonly maxAge?: Options.DurationOption | undefined
  /**
   * How often the invalidation subscriber is pinged; one unanswered ping
   * empties the near cache and reconnects the subscriber. Default 1 second.
   */
  readonly heartbeat?: Options.DurationOption | undefined
  /**
   * The longest the event loop may be busy without reading its sockets while
   * local copies are still served. An invalidation is heard only when the loop
   * reads the subscriber's socket: after a longer busy stretch (synchronous
   * work, a garbage-collection pause) a read first waits for the loop's next
   * full turn (two `setImmediate`s, no round trip), so a copy changed during
   * the stretch is not served. Such a read is asynchronous: `Effect.runSync`
   * of it fails, as it does for any read that goes to Redis. `"never"` turns
   * the check off. Default 3 milliseconds. See `LoopTurn`.
   */
  readonly maxLoopLag?: Options.DurationOption | undefined
  /**
   * Over a `HashBackend`: the same `bucketing` it was given (plain keys are
   * located in their bucket), or `false` when it has none. Required there,
   * refused over `RedisBackend` (which stores every key under its own name).
   */
  readonly bucketing?: ((key: string) => CacheKey.CacheKey) | false | undefined
}

/**
 * The near cache's own service, beside the `Backend` it decorates.
 *
 * @example
 * ```ts
 * import { NearCache } from "@dogpile-effect/redis"
 * import { Effect } from "effect"
 * const size = Effect.flatMap(NearCache.NearCache, (near) => near.entries)
 * ```
 *
 * @category services
 * @since 0.1.0
 */
export class NearCache extends Context.Service<NearCache, {
  /** Entries kept now. */
  readonly entries: Effect.Effect<number>
  /** Bytes charged now. */
  readonly bytes: Effect.Effect<number>
  /** Whether tracking is confirmed: reads are kept only while it is. */
  readonly isActive: Effect.Effect<boolean>
  /** Empties the near cache. */
  readonly flush: Effect.Effect<void>
  /** Brings the metrics up to date (hits are counted in memory and published every second). */
  readonly publishMetrics: Effect.Effect<void>
}>()("@dogpile-effect/redis/NearCache") {}

interface Settings {
  readonly limits: NearStore.Limits
  readonly heartbeatMs: number
  /** `Infinity` when the loop-lag check is off. */
  readonly maxLoopLagMs: number
  readonly locate: (key: CacheKey.CacheKey) => string
}

const resolve = (options: NearCacheOptions, backend: Backend["Service"]) =>
  Effect.gen(function*() {
    yield* Options.reject(COMPONENT, "Backend", backend.name !== "redis" && backend.name !== "redis-hash",
      `must read through the RedisClient in context (RedisBackend or HashBackend), got the "${backend.name}" backend`)
    const maxEntries = yield* Options.integer(COMPONENT, "maxEntries", options.maxEntries, 10_000, { min: 1 })
    const maxBytes = yield* Options.integer(COMPONENT, "maxBytes", options.maxBytes, 64 * 1024 * 1024, { min: 1024 })
    const maxAgeMs = yield* Options.millisOr(COMPONENT, "maxAge", options.maxAge, "10 seconds", { infinite: true })
    const heartbeatMs = yield* Options.millisOr(COMPONENT, "heartbeat", options.heartbeat, "1 second")
    const maxLoopLagMs = yield* Options.millisOr(COMPONENT, "maxLoopLag", options.maxLoopLag, "3 millis", { infinite: true })
    const bucketing = options.bucketing
    yield* Options.reject(COMPONENT, "bucketing", backend.capabilities.hashKeys && bucketing === undefined,
      "is required over a HashBackend: pass its own bucketing function, or false when it has none, so that a plain key is located in the Redis key it is stored in")
    yield* Options.reject(COMPONENT, "bucketing", !backend.capabilities.hashKeys && bucketing !== undefined,
      "applies to a HashBackend only; this Backend stores every key under its own name")
    yield* Options.reject(COMPONENT, "bucketing", bucketing !== undefined && bucketing !== false && typeof bucketing !== "function",
      "must be a bucketing function or false")
    const check = typeof bucketing === "function" ? (bucketing as { readonly check?: unknown }).check : undefined
    if (Effect.isEffect(check)) yield* (check as Effect.Effect<void, InvalidOptionError>)
    const bucketOf = typeof bucketing === "function" ? bucketing : undefined
    const locate = (key: CacheKey.CacheKey): string => {
      if (typeof key !== "string") return key.hash
      if (bucketOf === undefined) return key
      const placed = bucketOf(key)
      return typeof placed === "string" ? placed : placed.hash
    }
    return { limits: { maxEntries, maxBytes, maxAgeMs }, heartbeatMs, maxLoopLagMs, locate } satisfies Settings
  })

const idOf = (key: CacheKey.CacheKey): string => (typeof key === "string" ? key : CacheKey.render(key))

/** The decorated Backend: reads served locally when possible, writes and deletes passed through, evicting. */
const decorate = (
  inner: Backend["Service"],
  store: NearStore.NearStore,
  tracking: Tracking.Tracking,
  settings: Settings,
  counts: NearCacheMetrics.Counts
): Backend["Service"] => {
  const { locate, maxLoopLagMs } = settings
  const restampMany = inner.restampMany?.bind(inner)
  const keep = (ticket: NearStore.Ticket, key: CacheKey.CacheKey, found: Option.Option<Uint8Array>, now: number) => {
    // Misses are not kept: see docs/near-cache.md ("negative results").
    if (Option.isNone(found)) return
    if (!store.admit(ticket, idOf(key), locate(key), found.value, now)) counts.discarded++
  }
  /** Reads `keys` from Redis; keeps what it may. */
  const fetch = <X>(
    keys: ReadonlyArray<CacheKey.CacheKey>,
    read: Effect.Effect<X, BackendFailure>,
    results: (x: X) => ReadonlyArray<Option.Option<Uint8Array>>,
    miss = true
  ) =>
    Effect.suspend(() => {
      if (miss) counts.misses += keys.length
      const active = tracking.isActive()
      const ticket = store.begin()
      return read.pipe(
        Effect.tap((x) =>
          active
            ? Effect.clockWith((clock) =>
              Effect.sync(() => {
                const now = clock.currentTimeMillisUnsafe()
                results(x).forEach((found, i) => keep(ticket, keys[i] as CacheKey.CacheKey, found, now))
              })
            )
            : Effect.void
        ),
        Effect.ensuring(Effect.sync(store.end))
      )
    })

  /**
   * The local copy of `id`, only while tracking holds: ioredis marks a connection closed the moment it reads its
   * end, a tick before its `close` event empties the store, and no copy is served in between.
   */
  const local = (id: string, now: number) => (tracking.isActive() ? store.lookup(id, now) : undefined)

  /** `key` from the local copy, or from Redis (kept if nothing raced). */
  const served = (key: CacheKey.CacheKey, now: number) => {
    const entry = local(idOf(key), now)
    if (entry !== undefined) {
      counts.hits++
      return entry.hit
    }
    return fetch([key], inner.get(key), (found) => [found])
  }

  /** `keys` from the local copies where present, the others from Redis in one read. */
  const servedMany = (keys: ReadonlyArray<CacheKey.CacheKey>, now: number) => {
    const out = new Array<Option.Option<Uint8Array>>(keys.length)
    const missing: Array<number> = []
    keys.forEach((key, i) => {
      const entry = local(idOf(key), now)
      if (entry === undefined) missing.push(i)
      else out[i] = entry.value
    })
    counts.hits += keys.length - missing.length
    if (missing.length === 0) return Effect.succeed(out)
    const wanted = missing.map((i) => keys[i] as CacheKey.CacheKey)
    return Effect.map(fetch(wanted, inner.getMany(wanted), (found) => found), (found) => {
      missing.forEach((position, j) => {
        out[position] = found[j] ?? Option.none()
      })
      return out as ReadonlyArray<Option.Option<Uint8Array>>
    })
  }

  /**
   * Runs `read` at `now`, or, when the event loop has not read its sockets within `maxLoopLag`, after its
   * next turn (invalidations that arrived meanwhile are applied first).
   */
  const afterLoopTurn = <X>(count: number, read: (now: number) => Effect.Effect<X, BackendFailure>) =>
    Effect.clockWith((clock) => {
      const now = clock.currentTimeMillisUnsafe()
      if (!LoopTurn.behind(now, maxLoopLagMs)) return read(now)
      counts.lagged += count
      return Effect.andThen(LoopTurn.nextTurn, Effect.suspend(() => read(clock.currentTimeMillisUnsafe())))
    })

  const get = (key: CacheKey.CacheKey) => afterLoopTurn(1, (now) => served(key, now))

  const getMany = (keys: ReadonlyArray<CacheKey.CacheKey>) => afterLoopTurn(keys.length, (now) => servedMany(keys, now))

  /**
   * A write, delete or renewal in place: local copies go before it is sent and again after it settles (it
   * may have applied even if it failed), so none serves the header a renewal replaced.
   */
  const through = <A, E>(keys: ReadonlyArray<CacheKey.CacheKey>, write: Effect.Effect<A, E>) =>
    Effect.suspend(() => {
      const redisKeys = keys.map(locate)
      const drop = Effect.sync(() => void store.invalidate(redisKeys))
      return Effect.andThen(drop, Effect.ensuring(write, drop))
    })

  return Backend.of({
    name: inner.name,
    capabilities: inner.capabilities,
    get,
    getMany,
    // The dogpile's re-reads: what Redis holds now, whatever is kept here (kept again if nothing raced).
    getManyFromStore: (keys) => fetch(keys, inner.getMany(keys), (found) => found, false),
    // The region's synchronous hit path: the cached bytes (the same instance on every hit) or undefined.
    // When the event loop has not read its sockets lately, undefined: `get` then waits for its next turn.
    peek: (key, now) => {
      const entry = LoopTurn.behind(now, maxLoopLagMs) ? undefined : local(idOf(key), now)
      if (entry === undefined || Option.isNone(entry.value)) return undefined
      counts.hits++
      return entry.value.value
    },
    set: (key, value, ttl) => through([key], inner.set(key, value, ttl)),
    setMany: (entries: ReadonlyArray<BackendEntry>) => through(entries.map((e) => e.key), inner.setMany(entries)),
    delete: (key) => through([key], inner.delete(key)),
    deleteMany: (keys) => through(keys, inner.deleteMany(keys)),
    ...(restampMany === undefined ? {} : {
      restampMany: (entries: ReadonlyArray<BackendRestamp>) => through(entries.map((e) => e.key), restampMany(entries))
    })
  })
}

/**
 * Builds the near cache over the `Backend` and `RedisClient` in context (the
 * Backend must read through that client: `RedisBackend` or `HashBackend`).
 * Fails with `InvalidOptionError` for invalid options, and with
 * `BackendError` if the server refuses `CLIENT TRACKING`. On a Cluster it
 * tracks per node (see `ClusterTracking`). If Redis is not
 * reachable yet, it builds and keeps nothing until tracking is confirmed.
 *
 * @example
 * ```ts
 * import { NearCache } from "@dogpile-effect/redis"
 * const services = NearCache.make({ maxEntries: 1000 }) // needs Backend, RedisClient and Scope
 * ```
 *
 * @category constructors
 * @since 0.1.0
 */
export const make = (
  options: NearCacheOptions = {}
): Effect.Effect<Context.Context<Backend | NearCache>, InvalidOptionError | BackendError, Backend | RedisClient | Scope.Scope> =>
  Effect.gen(function*() {
    const inner = yield* Backend
    const redis = yield* RedisClient
    const settings = yield* resolve(options, inner)
    const counts = NearCacheMetrics.counts()
    const store = NearStore.make(settings.limits, { evicted: (n) => void (counts.evictions += n) })
    const trackingOptions = { settleMs: redis.commandTimeoutMillis, heartbeatMs: settings.heartbeatMs }
    const tracking = yield* (redis.isCluster
      ? ClusterTracking.acquire(redis.client as Cluster, trackingOptions)
      : Tracking.acquire(redis.client as Redis, trackingOptions)).pipe(
        Effect.mapError((cause) => redis.toError("client tracking", cause))
      )
    const unlisten = tracking.listen({
      invalidate: (keys) => {
        counts.invalidations += keys.length
        store.invalidate(keys)
      },
      flush: () => {
        counts.flushes++
        store.clear()
      }
    })
    yield* Effect.addFinalizer(() => Effect.sync(unlisten))
    yield* Effect.forkScoped(Effect.repeat(NearCacheMetrics.publish(counts), Schedule.spaced("1 second")))
    const near = NearCache.of({
      entries: Effect.sync(store.entries),
      bytes: Effect.sync(store.bytes),
      isActive: Effect.sync(tracking.isActive),
      flush: Effect.sync(() => {
        counts.flushes++
        store.clear()
      }),
      publishMetrics: NearCacheMetrics.publish(counts)
    })
    return Context.make(Backend, decorate(inner, store, tracking, settings, counts)).pipe(Context.add(NearCache, near))
  })

/**
 * The near cache as a Layer: takes the `Backend` in context and provides a
 * `Backend` that serves reads from memory when it can, and the
 * {@link NearCache} service.
 *
 * @example
 * ```ts
 * import { NearCache, RedisBackend, RedisClient } from "@dogpile-effect/redis"
 * import { Layer } from "effect"
 *
 * const BackendLive = NearCache.layer({ maxEntries: 50_000 }).pipe(
 *   Layer.provide(RedisBackend.layer()),
 *   Layer.provideMerge(RedisClient.layer({ url: "redis://127.0.0.1:6379" }))
 * )
 * ```
 *
 * @category layers
 * @since 0.1.0
 */
export const layer = (
  options: NearCacheOptions = {}
): Layer.Layer<Backend | NearCache, InvalidOptionError | BackendError, Backend | RedisClient> =>
  Layer.effectContext(make(options))
