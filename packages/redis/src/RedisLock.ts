/**
 * The distributed dogpile lock on Redis: one creator per key across every
 * process sharing the server.
 *
 * @since 0.1.0
 */
import {
  type BackendFailure,
  CacheKey,
  type InvalidOptionError,
  Lock,
  type LockLease,
  LockLostError,
  LockTimeoutError,
  makeLocal
} from "@dogpile-effect/core"
import { randomBytes } from "node:crypto"
import { Clock, Deferred, Duration, Effect, Exit, Layer, Metric, Option, Scope } from "effect"
import * as KeySlot from "./KeySlot.ts"
import * as LockSettings from "./LockSettings.ts"
import { RedisClient } from "./RedisClient.ts"

/**
 * What to do when a lock turned out to be lost while its creator ran (expired
 * without renewal, `FLUSHALL`, server restart): the value is stored and
 * returned in every case; `"ignore"` says nothing, `"log"` logs a warning,
 * `"fail"` fails the creating caller with `LockLostError`. Always counted in
 * {@link lostLocks}.
 *
 * @since 0.1.0
 */
export type LostLockPolicy = "ignore" | "log" | "fail"

/**
 * Options of the Redis lock.
 *
 * @since 0.1.0
 */
export interface RedisLockOptions {
  /** A label for metrics and logs. Default `"redis"`. */
  readonly name?: string
  /**
   * Prefix of the lock keys (`lock_prefix` of `dogpile_backend_redis_advanced`);
   * must not contain `{` or `}`. Default `"_lock:"`.
   */
  readonly prefix?: string
  /**
   * The lease's TTL in Redis: how long a crashed holder blocks others (renewed
   * while the holder runs). Default 10 seconds.
   *
   * @since 0.2.0
   */
  readonly leaseTtl?: Duration.Input
  /**
   * The old name of {@link RedisLockOptions.leaseTtl}; still works. Giving both
   * is an `InvalidOptionError`.
   *
   * @deprecated Use `leaseTtl`.
   */
  readonly ttl?: Duration.Input
  /** How often a held lock's lease is renewed. Default a third of `leaseTtl`; must be shorter than it. */
  readonly renewEvery?: Duration.Input
  /** Default `"log"`. */
  readonly onLost?: LostLockPolicy
  /** First retry delay of a waiter that was not notified. Default 5 ms. */
  readonly pollMin?: Duration.Input
  /** Longest retry delay of a waiter that was not notified (the backoff cap). Default 50 ms. */
  readonly pollMax?: Duration.Input
  /** Pub/sub channel on which releases are announced. Default `prefix + "released"`. */
  readonly channel?: string
  /**
   * The Redis key of the lock for a cache key, for interop with other lock
   * namings (e.g. `dogpile.cache`'s `_lock<key>`). Default
   * `(key) => lockKey(key, prefix)` ({@link lockKey}). On a Cluster, keep the
   * lock in the slot of the key it guards (use its `{tag}`).
   *
   * @since 0.2.0
   */
  readonly lockKey?: (key: CacheKey.CacheKey) => string
}

/**
 * The counter of lost locks (`dogpile_lock_lost`), with attribute `lock` set
 * to the lock's name.
 *
 * @example
 * ```ts
 * import { RedisLock } from "@dogpile-effect/redis"
 * import { Metric } from "effect"
 * const lost = Metric.value(RedisLock.lostLocks("redis"))
 * ```
 *
 * @since 0.1.0
 */
export const lostLocks = (name: string): Metric.Metric<number, Metric.CounterState<number>> =>
  Metric.withAttributes(
    Metric.counter("dogpile_lock_lost", {
      description: "Distributed locks found lost when their creator finished",
      incremental: true
    }),
    { lock: name }
  )

/**
 * The Redis key of the lock for a cache key.
 *
 * - A plain key: `prefix + key`, so a `{tag}` in the key keeps the lock in the
 *   key's cluster slot.
 * - A hash key: `prefix + "{" + hash + "}" + U+0000 + field`, so the lock lives
 *   in the slot of the hash (its bucket). When the hash name has a `{tag}` of
 *   its own, that tag leads instead: `prefix + hash + U+0000 + field`. (A hash
 *   name with a `}` but no tag cannot be tagged; its lock may live elsewhere.)
 *
 * @example
 * ```ts
 * import { CacheKey } from "@dogpile-effect/core"
 * import { RedisLock } from "@dogpile-effect/redis"
 * RedisLock.lockKey("user:{42}") // "_lock:user:{42}"
 * RedisLock.lockKey(CacheKey.hash("users", "42")) // "_lock:{users}\u000042"
 * ```
 *
 * @since 0.1.0
 */
export const lockKey = (key: CacheKey.CacheKey, prefix = "_lock:"): string => {
  if (typeof key === "string") return prefix + key
  const { field, hash } = key
  if (KeySlot.tagOf(hash) === undefined && !hash.includes("}")) return `${prefix}{${hash}}\u0000${field}`
  return `${prefix}${hash}\u0000${field}`
}

/** Deletes the lock if it still holds our token, and announces the release. */
const RELEASE = `
if redis.call("GET", KEYS[1]) == ARGV[1] then
  redis.call("DEL", KEYS[1])
  redis.call("PUBLISH", ARGV[2], KEYS[1])
  return 1
end
return 0`

/** Extends the lock's TTL if it still holds our token. */
const EXTEND = `
if redis.call("GET", KEYS[1]) == ARGV[1] then
  return redis.call("PEXPIRE", KEYS[1], ARGV[2])
end
return 0`

const toMillis = (input: Duration.Input): number => Duration.toMillis(Duration.fromInputUnsafe(input))

/**
 * Builds the lock over the {@link RedisClient} in context, with a subscriber
 * connection (for release notifications) that lives in the current scope.
 *
 * How it works:
 * - In-process coalescing first: the fibers of one process queue on a local
 *   per-key lock (`makeLocal` from core), so one process has at most one
 *   attempt per key in flight.
 * - `SET lockkey token NX PX ttl` with a random token. While held, a fiber
 *   renews the TTL every `renewEvery` (compare-and-pexpire), so creators
 *   slower than `ttl` keep the lock.
 * - Release, by the scope's finalizer (success, failure, interruption), is a
 *   compare-and-delete that PUBLISHes the key; waiters retry as soon as they
 *   hear it, and otherwise poll with a backoff from `pollMin` to `pollMax`
 *   (a holder that crashed releases nothing: its TTL runs out).
 * - `lease.confirm` checks that the lock is still ours and applies `onLost`.
 *
 * @since 0.1.0
 */
export const make = (
  options: RedisLockOptions = {}
): Effect.Effect<Lock["Service"], InvalidOptionError, RedisClient | Scope.Scope> =>
  Effect.gen(function*() {
    const redis = yield* RedisClient
    const settings = yield* LockSettings.resolve(options, lockKey)
    const { name, channel, keyOf, renewMs } = settings
    const ttlMs = settings.leaseMs
    const pollMin = settings.pollMinMs
    const pollMax = settings.pollMaxMs
    const policy = settings.onLost
    const lost = lostLocks(name)
    const local = makeLocal()
    const release = redis.script("dogpileLockRelease", RELEASE, 1)
    const extend = redis.script("dogpileLockExtend", EXTEND, 1)

    // ---- release notifications ----------------------------------------------

    const waiters = new Map<string, Set<Deferred.Deferred<void>>>()
    const wakeAll = (key: string) => {
      const set = waiters.get(key)
      if (set === undefined) return
      waiters.delete(key)
      for (const deferred of set) Deferred.doneUnsafe(deferred, Exit.void)
    }
    const subscriber = yield* redis.duplicate
    subscriber.on("message", (from: string, message: string) => {
      if (from === channel) wakeAll(message)
    })
    // Queued until the connection is up, and renewed by ioredis after reconnects.
    subscriber.subscribe(channel).catch(() => {})

    const register = (key: string, deferred: Deferred.Deferred<void>) => {
      let set = waiters.get(key)
      if (set === undefined) {
        set = new Set()
        waiters.set(key, set)
      }
      set.add(deferred)
    }
    const unregister = (key: string, deferred: Deferred.Deferred<void>) =>
      Effect.sync(() => {
        const set = waiters.get(key)
        if (set === undefined) return
        set.delete(deferred)
        if (set.size === 0) waiters.delete(key)
      })

    // ---- holding ------------------------------------------------------------

    const trySet = (key: string, token: string): Effect.Effect<boolean, BackendFailure> =>
      Effect.map(redis.use("lock", (c) => c.set(key, token, "PX", ttlMs, "NX")), (reply) => reply === "OK")

    /** Registers renewal and release in `scope` for a lock just taken, and builds its lease. */
    const hold = (key: CacheKey.CacheKey, redisKey: string, token: string, scope: Scope.Scope) =>
      Effect.gen(function*() {
        let isLost = false
        let reported = false
        yield* Scope.addFinalizer(
          scope,
          release.run([redisKey], [token, channel]).pipe(
            Effect.catch((error) => Effect.logDebug("dogpile: lock release failed; it expires by its TTL", error.message))
          )
        )
        const renew = extend.run([redisKey], [token, ttlMs]).pipe(
          Effect.flatMap((reply) => {
            if (reply === 1) return Effect.void
            isLost = true
            return Effect.interrupt
          }),
          // Redis unreachable: keep trying; a restart shows up as a lost lock.
          Effect.catch(() => Effect.void),
          Effect.delay(Duration.millis(renewMs)),
          Effect.forever
        )
        yield* Effect.forkIn(renew, scope)

        const report = Effect.suspend(() => {
          if (reported) return policy === "fail" ? Effect.fail(new LockLostError({ key: CacheKey.display(key) })) : Effect.void
          reported = true
          const counted = Metric.update(lost, 1)
          switch (policy) {
            case "ignore":
              return counted
            case "log":
              return Effect.andThen(
                counted,
                Effect.logWarning(`dogpile: the lock on ${JSON.stringify(CacheKey.display(key))} was lost while its creator ran`)
              )
            case "fail":
              return Effect.andThen(counted, Effect.fail(new LockLostError({ key: CacheKey.display(key) })))
          }
        })
        const confirm: Effect.Effect<void, LockLostError> = Effect.suspend(() =>
          isLost
            ? report
            : redis.use("lock check", (c) => c.get(redisKey)).pipe(
              Effect.flatMap((holder) => {
                if (holder === token) return Effect.void
                isLost = true
                return report
              }),
              // Redis unreachable: ownership cannot be checked; the store failed or will fail anyway.
              Effect.catchTag("BackendError", () => Effect.void)
            )
        )
        const lease: LockLease = { confirm }
        return lease
      })

    /** Local stage plus `attempt` (the remote stage) in a child scope that closes unless the lock is taken. */
    const staged = <E1, E2>(
      localStage: Effect.Effect<Option.Option<LockLease>, E1, Scope.Scope>,
      remote: (redisKey: string, token: string) => Effect.Effect<boolean, E2>,
      key: CacheKey.CacheKey
    ) =>
      Effect.uninterruptibleMask((restore) =>
        Effect.gen(function*() {
          const parent = yield* Effect.scope
          const scope = yield* Scope.fork(parent, "sequential")
          const abandon = () => Scope.close(scope, Exit.void)
          const localLease = yield* restore(Scope.provide(localStage, scope)).pipe(Effect.onError(abandon))
          if (Option.isNone(localLease)) {
            yield* Scope.close(scope, Exit.void)
            return Option.none<LockLease>()
          }
          const redisKey = keyOf(key)
          const token = randomBytes(16).toString("hex")
          const taken = yield* restore(remote(redisKey, token)).pipe(Effect.onError(abandon))
          if (!taken) {
            yield* Scope.close(scope, Exit.void)
            return Option.none<LockLease>()
          }
          return Option.some(yield* hold(key, redisKey, token, scope))
        })
      )

    const tryAcquire = (key: CacheKey.CacheKey) =>
      staged(local.tryAcquire(key), (redisKey, token) => trySet(redisKey, token), key)

    const acquire = (key: CacheKey.CacheKey, timeout: Duration.Input) =>
      Effect.gen(function*() {
        const timeoutMs = toMillis(timeout)
        const deadline = (yield* Clock.currentTimeMillis) + timeoutMs
        const timedOut = new LockTimeoutError({ key: CacheKey.display(key), timeoutMillis: timeoutMs })

        const remote = (redisKey: string, token: string) =>
          Effect.gen(function*() {
            let delay = pollMin
            while (true) {
              const wake = Deferred.makeUnsafe<void>()
              register(redisKey, wake)
              const outcome = yield* Effect.gen(function*() {
                if (yield* trySet(redisKey, token)) return true
                const remaining = deadline - (yield* Clock.currentTimeMillis)
                if (remaining <= 0) return yield* Effect.fail(timedOut)
                yield* Effect.timeoutOption(Deferred.await(wake), Math.min(delay, remaining))
                return false
              }).pipe(Effect.ensuring(unregister(redisKey, wake)))
              if (outcome) return true
              delay = Math.min(delay * 2, pollMax)
            }
          })

        const localStage = Effect.map(local.acquire(key, Duration.millis(timeoutMs)), Option.some)
        const lease = yield* staged(localStage, remote, key)
        // `remote` either takes the lock or fails, so a lease is always there.
        return Option.getOrThrow(lease)
      })

    const awaitRelease = (key: CacheKey.CacheKey, timeout: Duration.Input) =>
      Effect.gen(function*() {
        const timeoutMs = toMillis(timeout)
        const deadline = (yield* Clock.currentTimeMillis) + timeoutMs
        const redisKey = keyOf(key)
        let delay = pollMin
        while (true) {
          const wake = Deferred.makeUnsafe<void>()
          register(redisKey, wake)
          const free = yield* Effect.gen(function*() {
            if ((yield* redis.use("lock check", (c) => c.exists(redisKey))) === 0) return true
            const remaining = deadline - (yield* Clock.currentTimeMillis)
            if (remaining <= 0) {
              return yield* new LockTimeoutError({ key: CacheKey.display(key), timeoutMillis: timeoutMs })
            }
            // A release announcement means free: no need to ask again.
            return Option.isSome(yield* Effect.timeoutOption(Deferred.await(wake), Math.min(delay, remaining)))
          }).pipe(Effect.ensuring(unregister(redisKey, wake)))
          if (free) return
          delay = Math.min(delay * 2, pollMax)
        }
      })

    return Lock.of({ name: `redis:${name}`, tryAcquire, acquire, awaitRelease })
  })

/**
 * The Redis lock as a Layer over a {@link RedisClient}.
 *
 * @example
 * ```ts
 * import { RedisClient, RedisLock } from "@dogpile-effect/redis"
 * import { Layer } from "effect"
 *
 * const LockLive = RedisLock.layer({ leaseTtl: "30 seconds", onLost: "fail" }).pipe(
 *   Layer.provide(RedisClient.layer({ url: "redis://127.0.0.1:6379" }))
 * )
 * ```
 *
 * @since 0.1.0
 */
export const layer = (options: RedisLockOptions = {}): Layer.Layer<Lock, InvalidOptionError, RedisClient> =>
  Layer.effect(Lock, make(options))
