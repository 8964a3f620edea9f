/**
 * The dogpile region: read-through get-or-create over a Backend, a Codec and a
 * Lock, with expiry envelopes, invalidation, stale serving and background
 * regeneration.
 *
 * @since 0.1.0
 */
import {
  Cause,
  Clock,
  Context,
  Deferred,
  Duration,
  Effect,
  Exit,
  FiberSet,
  Metric,
  Option,
  Scope
} from "effect"
import { Backend, type BackendEntry, type BackendFailure } from "./Backend.ts"
import * as CacheKey from "./CacheKey.ts"
import {
  BackendError,
  type CacheError,
  EncodeError,
  InvalidKeyError,
  LockTimeoutError,
  ReentrantCreateError
} from "./CacheError.ts"
import { Codec } from "./Codec.ts"
import { CurrentEnvelope, type Entry, type EnvelopeShape } from "./Envelope.ts"
import { CurrentInvalidation, type InvalidationState } from "./Invalidation.ts"
import type { KeyMangler } from "./KeyMangler.ts"
import { Lock, type LockLease } from "./Lock.ts"
import * as RegionMetrics from "./RegionMetrics.ts"

/**
 * An expiration time: a Duration (or anything `Duration` accepts, like
 * `"5 minutes"`), or `"never"`.
 *
 * @since 0.1.0
 */
export type Expiration = Duration.Input | "never"

/**
 * The default maximum length of a key (before mangling), in UTF-16 code units.
 * Longer keys are rejected with {@link InvalidKeyError}; use a key mangler such
 * as `KeyMangler.hashLongKeys` with a larger `maxKeyLength` to accept them.
 *
 * @since 0.1.0
 */
export const DEFAULT_MAX_KEY_LENGTH = 1024

/**
 * Options of a region.
 *
 * @since 0.1.0
 */
export interface RegionOptions<A> {
  /** The region's name: labels its metrics and spans, and names its invalidation marks. */
  readonly name: string
  /** A prefix for every key of the region (`namespace` + `:` + key). None by default. */
  readonly namespace?: string
  /** How long a value stays fresh. `"never"` by default. */
  readonly expiration?: Expiration
  /** Applied to every plain key after validation and before the namespace, e.g. `KeyMangler.sha1`. */
  readonly keyMangler?: KeyMangler
  /** Longest accepted key, in UTF-16 code units, checked before mangling. Default {@link DEFAULT_MAX_KEY_LENGTH}. */
  readonly maxKeyLength?: number
  /** The envelope format; defaults to `Envelope.CurrentEnvelope` (the full envelope unless a Layer says otherwise). */
  readonly envelope?: EnvelopeShape
  /** How long a caller waits for another caller's creation before failing with `LockTimeoutError`. Default 30 s. */
  readonly lockTimeout?: Duration.Input
  /**
   * The TTL hint passed to the backend on writes. Default: the expiration when
   * the envelope does not store creation times (raw), otherwise none.
   */
  readonly storeTtl?: Expiration
  /** Whether a created value is stored. Default: always. */
  readonly shouldCache?: (value: A) => boolean
  /** Serve the stale value when regenerating it fails (the error is logged and counted). Default `false`. */
  readonly staleIfError?: boolean
  /**
   * Regenerate expired values in the background: the caller gets the stale value
   * at once and the creator runs in a fiber owned by the region's scope, holding
   * the lock until it ends. Default `false`.
   */
  readonly backgroundRefresh?: boolean
  /**
   * What `getOrCreate` does when the backend or lock fails: `"fail"` (default)
   * with a typed `BackendError`, or `"bypass"`: run the creator without the
   * cache and return its value (counted in `dogpile_bypassed`).
   */
  readonly onBackendError?: "fail" | "bypass"
}

/**
 * Per-call options of `getOrCreate` and `getOrCreateMany`.
 *
 * @since 0.1.0
 */
export interface GetOrCreateOptions<A> {
  readonly expiration?: Expiration
  readonly shouldCache?: (value: A) => boolean
  readonly staleIfError?: boolean
  readonly backgroundRefresh?: boolean
}

/**
 * Per-call options of `get` and `getMany`.
 *
 * @since 0.1.0
 */
export interface GetOptions {
  readonly expiration?: Expiration
  /** Return a value even if it is expired or soft-invalidated (never a hard-invalidated one). */
  readonly ignoreExpiration?: boolean
}

/**
 * A region of values of type `A`. Build one with {@link make}.
 *
 * Creator errors stay typed: `getOrCreate(key, creator)` fails with the
 * creator's own error `E` or with a {@link CacheError}.
 *
 * @since 0.1.0
 */
export interface Region<A> {
  readonly name: string
  /** The fresh value of `key`, if any. */
  get(key: CacheKey.CacheKey, options?: GetOptions): Effect.Effect<Option.Option<A>, CacheError>
  /** The fresh values of `keys`, in order, duplicates included. */
  getMany(
    keys: ReadonlyArray<CacheKey.CacheKey>,
    options?: GetOptions
  ): Effect.Effect<ReadonlyArray<Option.Option<A>>, CacheError>
  /**
   * The value of `key`, created by `creator` when missing or expired. Only one
   * caller per key runs the creator; the others wait for it (no value yet) or
   * get the stale value at once (a value exists).
   */
  getOrCreate<E, R>(
    key: CacheKey.CacheKey,
    creator: Effect.Effect<A, E, R>,
    options?: GetOrCreateOptions<A>
  ): Effect.Effect<A, E | CacheError, R>
  /**
   * The values of `keys`; `creator` is called once with the keys that need
   * creating and must return one value per key, in the same order.
   */
  getOrCreateMany<E, R>(
    keys: ReadonlyArray<CacheKey.CacheKey>,
    creator: (keys: ReadonlyArray<CacheKey.CacheKey>) => Effect.Effect<ReadonlyArray<A>, E, R>,
    options?: GetOrCreateOptions<A>
  ): Effect.Effect<ReadonlyArray<A>, E | CacheError, R>
  set(key: CacheKey.CacheKey, value: A, options?: { readonly expiration?: Expiration }): Effect.Effect<void, CacheError>
  setMany(
    entries: ReadonlyArray<readonly [CacheKey.CacheKey, A]>,
    options?: { readonly expiration?: Expiration }
  ): Effect.Effect<void, CacheError>
  delete(key: CacheKey.CacheKey): Effect.Effect<void, CacheError>
  deleteMany(keys: ReadonlyArray<CacheKey.CacheKey>): Effect.Effect<void, CacheError>
  /**
   * Invalidates every value created before now. Hard: they become misses.
   * Soft (default): they count as expired, so one caller regenerates while the
   * others get the stale value.
   */
  invalidate(options?: { readonly hard?: boolean }): Effect.Effect<void, BackendFailure>
  /** Completes when no background regeneration is running. */
  readonly awaitBackground: Effect.Effect<void>
  /** This region's metrics. */
  readonly metrics: RegionMetrics.RegionMetrics
}

/**
 * The keys whose creators the current fiber is running, to catch a creator
 * that asks for its own key (which would otherwise wait for itself forever).
 */
const CreatingKeys = Context.Reference<ReadonlySet<string>>("@dogpile-effect/core/Region/CreatingKeys", {
  defaultValue: () => new Set()
})

type Freshness = "fresh" | "stale" | "miss"

const toMillis = (expiration: Expiration | undefined): number =>
  expiration === undefined || expiration === "never"
    ? Number.POSITIVE_INFINITY
    : Duration.toMillis(Duration.fromInputUnsafe(expiration))

/**
 * Builds a region over the `Backend`, `Codec` and `Lock` in context. Background
 * regenerations run in the current `Scope`: closing it interrupts them (and
 * releases their locks).
 *
 * @example
 * ```ts
 * import { Codec, Lock, MemoryBackend, Region } from "@dogpile-effect/core"
 * import { Effect, Layer } from "effect"
 *
 * const program = Effect.gen(function*() {
 *   const users = yield* Region.make<{ readonly name: string }>({ name: "users", expiration: "10 minutes" })
 *   return yield* users.getOrCreate("user:1", Effect.succeed({ name: "Ada" }))
 * }).pipe(
 *   Effect.scoped,
 *   Effect.provide(Layer.mergeAll(MemoryBackend.layer(), Codec.layerJson, Lock.layerLocal))
 * )
 * ```
 *
 * @since 0.1.0
 */
export const make = <A>(
  options: RegionOptions<A>
): Effect.Effect<Region<A>, InvalidKeyError, Backend | Codec | Lock | Scope.Scope> =>
  Effect.gen(function*() {
    const backend = yield* Backend
    const codec = yield* Codec
    const lock = yield* Lock
    const envelope = options.envelope ?? (yield* CurrentEnvelope)
    const strategy = yield* CurrentInvalidation
    const background = yield* FiberSet.make<unknown, unknown>()

    const name = options.name
    if (name.length === 0) {
      return yield* new InvalidKeyError({ key: name, reason: "a region needs a non-empty name" })
    }
    const prefix = options.namespace === undefined ? "" : `${options.namespace}:`
    const maxKeyLength = options.maxKeyLength ?? DEFAULT_MAX_KEY_LENGTH
    const mangle = options.keyMangler
    const defaultExpirationMs = toMillis(options.expiration)
    const lockTimeout = options.lockTimeout ?? Duration.seconds(30)
    const storeTtlOption = options.storeTtl
    const metrics = RegionMetrics.forRegion(name)
    const bypassOnError = options.onBackendError === "bypass"
    // Both marks share a `{tag}`, so on a Redis Cluster they are one slot and one MGET.
    const invalidation = strategy({ region: name, backend, markerPrefix: `__dogpile__:{${name}}:invalidated:` })
    const inflight = new Map<string, Deferred.Deferred<Option.Option<A>>>()
    const spanOptions = { attributes: { region: name }, captureStackTrace: false } as const
    // Data-first on purpose: effect 4.1's data-last `withSpan` ignores `captureStackTrace`
    // and captures a stack trace on every call, which dominated the hit path.
    const withSpan = (spanName: string) => <X, E, R>(self: Effect.Effect<X, E, R>) =>
      Effect.withSpan(self, spanName, spanOptions)

    // ---- keys -------------------------------------------------------------

    const checkPart = (part: string, what: string, shown: string): InvalidKeyError | undefined => {
      if (part.length === 0) return new InvalidKeyError({ key: shown, reason: `${what} is empty` })
      if (part.length > maxKeyLength) {
        return new InvalidKeyError({
          key: shown.slice(0, 64) + (shown.length > 64 ? "…" : ""),
          reason: `${what} is ${part.length} characters long; the limit is ${maxKeyLength}`
        })
      }
      return undefined
    }

    const resolveKeySync = (key: CacheKey.CacheKey): CacheKey.CacheKey | InvalidKeyError => {
      if (typeof key === "string") {
        return checkPart(key, "key", key) ?? prefix + (mangle === undefined ? key : mangle(key))
      }
      const shown = CacheKey.display(key)
      return checkPart(key.hash, "hash name", shown) ?? checkPart(key.field, "hash field", shown) ??
        CacheKey.hash(prefix + key.hash, key.field)
    }

    const resolveKey = (key: CacheKey.CacheKey): Effect.Effect<CacheKey.CacheKey, InvalidKeyError> => {
      const full = resolveKeySync(key)
      return full instanceof InvalidKeyError ? Effect.fail(full) : Effect.succeed(full)
    }

    const resolveKeys = (keys: ReadonlyArray<CacheKey.CacheKey>) => Effect.forEach(keys, resolveKey)

    // ---- reading ------------------------------------------------------------

    /** Decodes stored bytes; a failure is a miss, counted unless `recount` is false (a re-read of the same bytes). */
    const decode = (bytes: Option.Option<Uint8Array>, now: number, recount = true): Effect.Effect<Option.Option<Entry>> =>
      Option.isNone(bytes)
        ? Effect.succeedNone
        : envelope.decode(bytes.value, now, codec).pipe(
          Effect.map(Option.some),
          Effect.catch((error) =>
            recount
              ? Effect.as(
                Effect.andThen(
                  Metric.update(metrics.decodeFailures, 1),
                  Effect.logDebug("dogpile: stored value did not decode; treating it as a miss", error.reason)
                ),
                Option.none()
              )
              : Effect.succeedNone
          )
        )

    const freshness = (entry: Entry, now: number, expirationMs: number, marks: InvalidationState): Freshness => {
      if (entry.createdAt < marks.hard) return "miss"
      if (now - entry.createdAt > expirationMs) return "stale"
      if (entry.createdAt < marks.soft) return "stale"
      return "fresh"
    }

    const readOne = (full: CacheKey.CacheKey, now: number, recount = true) =>
      Effect.flatMap(backend.get(full), (bytes) => decode(bytes, now, recount))

    // ---- writing ------------------------------------------------------------

    const ttlFor = (expirationMs: number): Duration.Duration | undefined => {
      if (storeTtlOption !== undefined) {
        const ms = toMillis(storeTtlOption)
        return Number.isFinite(ms) ? Duration.millis(ms) : undefined
      }
      return !envelope.storesCreatedAt && Number.isFinite(expirationMs) ? Duration.millis(expirationMs) : undefined
    }

    const encode = (full: CacheKey.CacheKey, value: A, createdAt: number) =>
      envelope.encode(value, createdAt, codec).pipe(
        Effect.mapError((error) =>
          new EncodeError({ codec: error.codec, reason: error.reason, key: CacheKey.display(full) })
        )
      )

    const guardStore = <X>(effect: Effect.Effect<X, CacheError>): Effect.Effect<X | void, CacheError> =>
      bypassOnError
        ? effect.pipe(
          Effect.catchTag("BackendError", (error) =>
            Effect.logWarning("dogpile: could not store a created value; continuing without the cache", error.message))
        )
        : effect

    const store = (full: CacheKey.CacheKey, value: A, expirationMs: number) =>
      Effect.flatMap(Clock.currentTimeMillis, (now) =>
        Effect.flatMap(encode(full, value, now), (bytes) => guardStore(backend.set(full, bytes, ttlFor(expirationMs)))))

    // ---- creating -----------------------------------------------------------

    const runCreator = <E, R>(id: string, creator: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
      CreatingKeys.use((creating) => {
        const next = new Set(creating)
        next.add(id)
        return creator.pipe(
          Effect.provideService(CreatingKeys, next),
          Effect.tapCause((cause) =>
            Cause.hasInterruptsOnly(cause) ? Effect.void : Metric.update(metrics.creatorFailures, 1)
          ),
          Effect.tap(() => Metric.update(metrics.creations, 1))
        )
      })

    /** Runs the creator and stores its value (if it should be cached), then confirms the lease. */
    const createAndStore = <E, R>(
      full: CacheKey.CacheKey,
      id: string,
      creator: Effect.Effect<A, E, R>,
      lease: LockLease,
      expirationMs: number,
      shouldCache: ((value: A) => boolean) | undefined
    ): Effect.Effect<A, E | CacheError, R> =>
      Effect.gen(function*() {
        const value = yield* runCreator(id, creator)
        if (shouldCache === undefined || shouldCache(value)) yield* store(full, value, expirationMs)
        yield* lease.confirm
        return value
      })

    const timedWait = <X, E2, R2>(effect: Effect.Effect<X, E2, R2>) =>
      Effect.gen(function*() {
        const start = yield* Clock.currentTimeMillis
        const result = yield* effect
        const end = yield* Clock.currentTimeMillis
        yield* Metric.update(metrics.lockWaitMillis, end - start)
        return result
      })

    /** Missing value: coalesce in process, take the (possibly distributed) lock, re-read, create. */
    const createMissing = <E, R>(
      full: CacheKey.CacheKey,
      id: string,
      creator: Effect.Effect<A, E, R>,
      expirationMs: number,
      shouldCache: ((value: A) => boolean) | undefined
    ): Effect.Effect<A, E | CacheError, R> =>
      Effect.suspend((): Effect.Effect<A, E | CacheError, R> => {
        const existing = inflight.get(id)
        if (existing !== undefined) {
          // Another fiber of this process is creating this key: wait for its value.
          // If it failed, it hands over nothing and we start again (and may become the creator).
          return Effect.flatMap(timedWait(Deferred.await(existing)), (handed) =>
            Option.isSome(handed)
              ? Effect.succeed(handed.value)
              : getOrCreateResolved(full, id, creator, { expirationMs, shouldCache, staleIfError: false, background: false }))
        }
        const deferred = Deferred.makeUnsafe<Option.Option<A>>()
        inflight.set(id, deferred)
        const lockTimeoutMs = Duration.toMillis(Duration.fromInputUnsafe(lockTimeout))
        /** Takes the lock if it is free: re-reads, then creates. `None` when another holder has it. */
        const attempt = Effect.scoped(Effect.gen(function*() {
          const lease = yield* lock.tryAcquire(full)
          if (Option.isNone(lease)) return Option.none<A>()
          // Someone (maybe another process) may have created it before we got the lock.
          const now = yield* Clock.currentTimeMillis
          const marks = yield* invalidation.current
          const entry = yield* readOne(full, now, false)
          if (Option.isSome(entry) && freshness(entry.value, now, expirationMs, marks) === "fresh") {
            yield* Metric.update(metrics.hits, 1)
            return Option.some(entry.value.value as A)
          }
          return Option.some(yield* createAndStore(full, id, creator, lease.value, expirationMs, shouldCache))
        }))
        const leader = Effect.gen(function*() {
          const deadline = (yield* Clock.currentTimeMillis) + lockTimeoutMs
          while (true) {
            const done = yield* attempt
            if (Option.isSome(done)) return done.value
            // Another process is creating it: wait for its release (not for the lock, so
            // every waiting process reads at once), then read. If it stored nothing
            // (its creator failed, or shouldCache said no), try to take the lock ourselves.
            const remaining = deadline - (yield* Clock.currentTimeMillis)
            if (remaining <= 0) {
              return yield* new LockTimeoutError({ key: CacheKey.display(full), timeoutMillis: lockTimeoutMs })
            }
            yield* timedWait(lock.awaitRelease(full, Duration.millis(remaining)))
            const now = yield* Clock.currentTimeMillis
            const marks = yield* invalidation.current
            const entry = yield* readOne(full, now, false)
            if (Option.isSome(entry) && freshness(entry.value, now, expirationMs, marks) === "fresh") {
              yield* Metric.update(metrics.hits, 1)
              return entry.value.value as A
            }
          }
        })
        return leader.pipe(
          Effect.onExit((exit) =>
            Effect.sync(() => {
              if (inflight.get(id) === deferred) inflight.delete(id)
            }).pipe(
              Effect.andThen(Deferred.succeed(deferred, Exit.isSuccess(exit) ? Option.some(exit.value) : Option.none()))
            )
          )
        )
      })

    /** Stale value present: regenerate only if the lock is free right now, else serve the stale value. */
    const refreshStale = <E, R>(
      full: CacheKey.CacheKey,
      id: string,
      stale: A,
      creator: Effect.Effect<A, E, R>,
      settings: CallSettings<A>
    ): Effect.Effect<A, E | CacheError, R> =>
      Effect.uninterruptibleMask((restore) =>
        Effect.gen(function*() {
          const scope = yield* Scope.make()
          const lease = yield* restore(Scope.provide(lock.tryAcquire(full), scope)).pipe(
            Effect.onError((cause) => Scope.close(scope, Exit.failCause(cause)))
          )
          if (Option.isNone(lease)) {
            yield* Scope.close(scope, Exit.void)
            yield* Metric.update(metrics.staleServed, 1)
            return stale
          }
          const regenerate = createAndStore(full, id, creator, lease.value, settings.expirationMs, settings.shouldCache)
            .pipe(Effect.onExit((exit) => Scope.close(scope, exit)))
          if (settings.background) {
            yield* FiberSet.run(
              background,
              regenerate.pipe(
                Effect.catchCause((cause) =>
                  Cause.hasInterruptsOnly(cause)
                    ? Effect.void
                    : Effect.logWarning("dogpile: background regeneration failed", cause)
                ),
                withSpan("Region.backgroundRefresh")
              )
            )
            yield* Metric.update(metrics.staleServed, 1)
            return stale
          }
          if (!settings.staleIfError) return yield* restore(regenerate)
          return yield* restore(regenerate).pipe(
            Effect.catch((error) =>
              Effect.as(
                Effect.andThen(
                  Metric.update(metrics.staleServed, 1),
                  Effect.logWarning("dogpile: regeneration failed; serving the stale value", error)
                ),
                stale
              )
            )
          )
        })
      )

    interface CallSettings<X> {
      readonly expirationMs: number
      readonly shouldCache: ((value: X) => boolean) | undefined
      readonly staleIfError: boolean
      readonly background: boolean
    }

    const settingsOf = (call: GetOrCreateOptions<A> | undefined): CallSettings<A> => ({
      expirationMs: call?.expiration === undefined ? defaultExpirationMs : toMillis(call.expiration),
      shouldCache: call?.shouldCache ?? options.shouldCache,
      staleIfError: call?.staleIfError ?? options.staleIfError ?? false,
      background: call?.backgroundRefresh ?? options.backgroundRefresh ?? false
    })
    const defaultSettings = settingsOf(undefined)

    // The hit path is written as plain flatMap chains: a generator costs more than the rest of a hit.
    function getOrCreateResolved<E, R>(
      full: CacheKey.CacheKey,
      id: string,
      creator: Effect.Effect<A, E, R>,
      settings: CallSettings<A>
    ): Effect.Effect<A, E | CacheError, R> {
      return Clock.clockWith((clock) => {
        const now = clock.currentTimeMillisUnsafe()
        return Effect.flatMap(invalidation.current, (marks) =>
          Effect.flatMap(readOne(full, now), (entry): Effect.Effect<A, E | CacheError, R> => {
            if (Option.isSome(entry)) {
              const state = freshness(entry.value, now, settings.expirationMs, marks)
              const value = entry.value.value as A
              if (state === "fresh") return Effect.as(Metric.update(metrics.hits, 1), value)
              if (state === "stale") {
                return Effect.andThen(Metric.update(metrics.misses, 1), refreshStale(full, id, value, creator, settings))
              }
            }
            return Effect.andThen(
              Metric.update(metrics.misses, 1),
              createMissing(full, id, creator, settings.expirationMs, settings.shouldCache)
            )
          }))
      })
    }

    const bypass = <X, E, R>(effect: Effect.Effect<X, E | CacheError, R>, fallback: Effect.Effect<X, E, R>) =>
      bypassOnError
        ? effect.pipe(
          Effect.catch((error): Effect.Effect<X, E | CacheError, R> =>
            error instanceof BackendError
              ? Effect.andThen(
                Effect.andThen(
                  Metric.update(metrics.bypassed, 1),
                  Effect.logWarning("dogpile: backend failed; running the creator without the cache", error.message)
                ),
                fallback
              )
              : Effect.fail(error)
          )
        )
        : effect

    const getOrCreate = <E, R>(
      key: CacheKey.CacheKey,
      creator: Effect.Effect<A, E, R>,
      call?: GetOrCreateOptions<A>
    ): Effect.Effect<A, E | CacheError, R> => {
      const full = resolveKeySync(key)
      if (full instanceof InvalidKeyError) return Effect.fail(full)
      const id = CacheKey.render(full)
      return Effect.flatMap(CreatingKeys, (creating): Effect.Effect<A, E | CacheError, R> =>
        creating.has(id)
          ? Effect.fail(new ReentrantCreateError({ key: CacheKey.display(full) }))
          : bypass(getOrCreateResolved(full, id, creator, call === undefined ? defaultSettings : settingsOf(call)), creator)
      ).pipe(withSpan("Region.getOrCreate"))
    }

    // ---- many keys ----------------------------------------------------------

    const getOrCreateMany = <E, R>(
      keys: ReadonlyArray<CacheKey.CacheKey>,
      creator: (keys: ReadonlyArray<CacheKey.CacheKey>) => Effect.Effect<ReadonlyArray<A>, E, R>,
      call?: GetOrCreateOptions<A>
    ): Effect.Effect<ReadonlyArray<A>, E | CacheError, R> =>
      Effect.gen(function*() {
        const settings = settingsOf(call)
        const fulls = yield* resolveKeys(keys)
        const ids = fulls.map(CacheKey.render)
        const creating = yield* CreatingKeys
        for (let i = 0; i < ids.length; i++) {
          if (creating.has(ids[i] as string)) {
            return yield* new ReentrantCreateError({ key: CacheKey.display(fulls[i] as CacheKey.CacheKey) })
          }
        }
        // One slot per distinct key; `positions` maps each distinct key back to its input indices.
        const positions = new Map<string, Array<number>>()
        ids.forEach((id, i) => {
          const at = positions.get(id)
          if (at === undefined) positions.set(id, [i])
          else at.push(i)
        })
        const distinct = [...positions.keys()]
        const fullOf = new Map<string, CacheKey.CacheKey>(ids.map((id, i) => [id, fulls[i] as CacheKey.CacheKey]))
        const results = new Map<string, A>()

        return yield* Effect.scoped(Effect.gen(function*() {
          const now = yield* Clock.currentTimeMillis
          const marks = yield* invalidation.current
          const found = yield* backend.getMany(distinct.map((id) => fullOf.get(id) as CacheKey.CacheKey))
          const missing: Array<string> = []
          const staleIds: Array<string> = []
          const staleValues = new Map<string, A>()
          for (let i = 0; i < distinct.length; i++) {
            const id = distinct[i] as string
            const entry = yield* decode(found[i] ?? Option.none(), now)
            const state = Option.isSome(entry) ? freshness(entry.value, now, settings.expirationMs, marks) : "miss"
            if (state === "fresh" && Option.isSome(entry)) {
              results.set(id, entry.value.value as A)
              yield* Metric.update(metrics.hits, 1)
            } else if (state === "stale" && Option.isSome(entry)) {
              staleIds.push(id)
              staleValues.set(id, entry.value.value as A)
              yield* Metric.update(metrics.misses, 1)
            } else {
              missing.push(id)
              yield* Metric.update(metrics.misses, 1)
            }
          }
          const leases: Array<LockLease> = []
          const toCreate: Array<string> = []
          for (const id of staleIds) {
            const lease = yield* lock.tryAcquire(fullOf.get(id) as CacheKey.CacheKey)
            if (Option.isSome(lease)) {
              leases.push(lease.value)
              toCreate.push(id)
            } else {
              results.set(id, staleValues.get(id) as A)
              yield* Metric.update(metrics.staleServed, 1)
            }
          }
          if (missing.length > 0) {
            // Blocking locks in a fixed order, so two callers never wait on each other.
            const sorted = [...missing].sort()
            for (const id of sorted) {
              leases.push(yield* timedWait(lock.acquire(fullOf.get(id) as CacheKey.CacheKey, lockTimeout)))
            }
            const afterLock = yield* Clock.currentTimeMillis
            const marks2 = yield* invalidation.current
            const reread = yield* backend.getMany(sorted.map((id) => fullOf.get(id) as CacheKey.CacheKey))
            for (let i = 0; i < sorted.length; i++) {
              const id = sorted[i] as string
              const entry = yield* decode(reread[i] ?? Option.none(), afterLock, false)
              if (Option.isSome(entry) && freshness(entry.value, afterLock, settings.expirationMs, marks2) === "fresh") {
                results.set(id, entry.value.value as A)
              } else {
                toCreate.push(id)
              }
            }
          }
          if (toCreate.length > 0) {
            const createKeys = toCreate.map((id) => keys[(positions.get(id) as Array<number>)[0] as number] as CacheKey.CacheKey)
            const created = yield* CreatingKeys.use((current) => {
              const next = new Set(current)
              for (const id of toCreate) next.add(id)
              return creator(createKeys).pipe(
                Effect.provideService(CreatingKeys, next),
                Effect.tapCause((cause) =>
                  Cause.hasInterruptsOnly(cause) ? Effect.void : Metric.update(metrics.creatorFailures, 1)
                )
              )
            })
            if (created.length !== toCreate.length) {
              return yield* Effect.die(
                new RangeError(
                  `getOrCreateMany: the creator returned ${created.length} values for ${toCreate.length} keys`
                )
              )
            }
            yield* Metric.update(metrics.creations, created.length)
            const createdAt = yield* Clock.currentTimeMillis
            const writes: Array<BackendEntry> = []
            for (let i = 0; i < toCreate.length; i++) {
              const id = toCreate[i] as string
              const value = created[i] as A
              results.set(id, value)
              if (settings.shouldCache === undefined || settings.shouldCache(value)) {
                const full = fullOf.get(id) as CacheKey.CacheKey
                writes.push({ key: full, value: yield* encode(full, value, createdAt), ttl: ttlFor(settings.expirationMs) })
              }
            }
            if (writes.length > 0) yield* guardStore(backend.setMany(writes))
            for (const lease of leases) yield* lease.confirm
          }
          return ids.map((id) => results.get(id) as A)
        }))
      }).pipe(withSpan("Region.getOrCreateMany"))

    // ---- plain operations ---------------------------------------------------

    const readable = (entry: Option.Option<Entry>, now: number, marks: InvalidationState, call?: GetOptions) => {
      if (Option.isNone(entry)) return Option.none<A>()
      const expirationMs = call?.expiration === undefined ? defaultExpirationMs : toMillis(call.expiration)
      const state = freshness(entry.value, now, expirationMs, marks)
      if (state === "miss") return Option.none<A>()
      if (state === "stale" && call?.ignoreExpiration !== true) return Option.none<A>()
      return Option.some(entry.value.value as A)
    }

    const countRead = (result: Option.Option<A>) =>
      Metric.update(Option.isSome(result) ? metrics.hits : metrics.misses, 1)

    const get = (key: CacheKey.CacheKey, call?: GetOptions): Effect.Effect<Option.Option<A>, CacheError> => {
      const full = resolveKeySync(key)
      if (full instanceof InvalidKeyError) return Effect.fail(full)
      return Clock.clockWith((clock) => {
        const now = clock.currentTimeMillisUnsafe()
        return Effect.flatMap(invalidation.current, (marks) =>
          Effect.flatMap(readOne(full, now), (entry) => {
            const result = readable(entry, now, marks, call)
            return Effect.as(countRead(result), result)
          }))
      }).pipe(withSpan("Region.get"))
    }

    const getMany = (keys: ReadonlyArray<CacheKey.CacheKey>, call?: GetOptions) =>
      Effect.gen(function*() {
        const fulls = yield* resolveKeys(keys)
        const now = yield* Clock.currentTimeMillis
        const marks = yield* invalidation.current
        const found = yield* backend.getMany(fulls)
        return yield* Effect.forEach(found, (bytes) =>
          Effect.flatMap(decode(bytes, now), (entry) => {
            const result = readable(entry, now, marks, call)
            return Effect.as(countRead(result), result)
          }))
      }).pipe(withSpan("Region.getMany"))

    const set = (key: CacheKey.CacheKey, value: A, call?: { readonly expiration?: Expiration }) =>
      Effect.gen(function*() {
        const full = yield* resolveKey(key)
        const now = yield* Clock.currentTimeMillis
        const bytes = yield* encode(full, value, now)
        const expirationMs = call?.expiration === undefined ? defaultExpirationMs : toMillis(call.expiration)
        yield* backend.set(full, bytes, ttlFor(expirationMs))
      }).pipe(withSpan("Region.set"))

    const setMany = (
      entries: ReadonlyArray<readonly [CacheKey.CacheKey, A]>,
      call?: { readonly expiration?: Expiration }
    ) =>
      Effect.gen(function*() {
        const now = yield* Clock.currentTimeMillis
        const expirationMs = call?.expiration === undefined ? defaultExpirationMs : toMillis(call.expiration)
        const ttl = ttlFor(expirationMs)
        // Encode everything first: one value that cannot be encoded writes nothing.
        const writes = yield* Effect.forEach(entries, ([key, value]) =>
          Effect.flatMap(resolveKey(key), (full) =>
            Effect.map(encode(full, value, now), (bytes): BackendEntry => ({ key: full, value: bytes, ttl }))))
        yield* backend.setMany(writes)
      }).pipe(withSpan("Region.setMany"))

    const del = (key: CacheKey.CacheKey) =>
      Effect.flatMap(resolveKey(key), (full) => backend.delete(full)).pipe(
        withSpan("Region.delete")
      )

    const deleteMany = (keys: ReadonlyArray<CacheKey.CacheKey>) =>
      Effect.flatMap(resolveKeys(keys), (fulls) => backend.deleteMany(fulls)).pipe(
        withSpan("Region.deleteMany")
      )

    const region: Region<A> = {
      name,
      get,
      getMany,
      getOrCreate,
      getOrCreateMany,
      set,
      setMany,
      delete: del,
      deleteMany,
      invalidate: (call) =>
        invalidation.invalidate({ hard: call?.hard ?? false }).pipe(
          withSpan("Region.invalidate")
        ),
      awaitBackground: FiberSet.awaitEmpty(background),
      metrics
    }
    return region
  })
