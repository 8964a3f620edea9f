/**
 * The distributed dogpile lock over Effect's `Redis` service (node-redis):
 * one creator per key across every process sharing the server, including
 * processes that use `RedisLock` of `@dogpile-effect/redis` (same lock keys,
 * tokens checked the same way, releases announced on the same channel).
 *
 * @since 0.1.0
 */
import {
  CacheKey,
  type InvalidOptionError,
  Lock,
  type LockLease,
  type LockStatus,
  makeLocal
} from "@dogpile-effect/core"
import { NodeRedis } from "@effect/platform-node/NodeRedis"
import { Clock, Config, Duration, Effect, Layer, type Metric, Option, Scope } from "effect"
import { Redis, script } from "effect/persistence/Redis"
import { LockAttempt, LockKey, LockLua, LockRenewal, LostLock, RedisLease } from "@dogpile-effect/redis/lock-kit"
import { reporter } from "./ErrorMapping.ts"
import * as LockSettings from "./LockSettings.ts"
import * as ReleaseWaiters from "./ReleaseWaiters.ts"

export type { LostLockPolicy, NodeRedisLockOptions } from "./LockSettings.ts"

/**
 * The Redis key of the lock for a cache key: the names `RedisLock` of
 * `@dogpile-effect/redis` uses (`LockKey` of `@dogpile-effect/redis/lock-kit`),
 * so a node-redis process and an ioredis process lock each other out.
 *
 * - A plain key: `prefix + key` (a `{tag}` in the key keeps the lock in the
 *   key's cluster slot).
 * - A hash key: `prefix + "{" + hash + "}" + U+0000 + field`, in the slot of
 *   the hash; when the hash name has a `{tag}` of its own (or a `}` that
 *   cannot be wrapped), `prefix + hash + U+0000 + field`.
 *
 * @example
 * ```ts
 * import { CacheKey } from "@dogpile-effect/core"
 * import { NodeRedisLock } from "@dogpile-effect/node-redis"
 * NodeRedisLock.lockKey("user:{42}") // "_lock:user:{42}"
 * NodeRedisLock.lockKey(CacheKey.hash("users", "42")) // "_lock:{users}\u000042"
 * ```
 *
 * @since 0.1.0
 */
export const lockKey: (key: CacheKey.CacheKey, prefix?: string) => string = LockKey.lockKey

/**
 * The counter of lost locks (`dogpile_lock_lost_total`, the counter
 * `RedisLock` uses) with attribute `lock` set to the lock's name.
 *
 * @example
 * ```ts
 * import { NodeRedisLock } from "@dogpile-effect/node-redis"
 * import { Metric } from "effect"
 * const lost = Metric.value(NodeRedisLock.lostLocks("node-redis"))
 * ```
 *
 * @since 0.1.0
 */
export const lostLocks: (name: string) => Metric.Metric<number, Metric.CounterState<number>> = LostLock.lostLocks

/** Deletes the lock if it still holds our token, and announces the release. Touches KEYS[1] only. */
const RELEASE = script((key: string, token: string, channel: string) => [key, token, channel], {
  numberOfKeys: 1,
  lua: LockLua.RELEASE
}).withReturnType<number>()

/** Extends the lock's TTL if it still holds our token. Touches KEYS[1] only. */
const EXTEND = script((key: string, token: string, leaseMs: number) => [key, token, leaseMs], {
  numberOfKeys: 1,
  lua: LockLua.EXTEND
}).withReturnType<number>()

/**
 * Builds the lock over the `Redis` service in context, listening for releases
 * on the client's shared release subscriber (one pub/sub connection for every
 * lock over the client) for the life of the current scope. It needs nothing but Effect's
 * `Redis` service; when `NodeRedis` is in context too (as
 * `NodeRedis.layer` provides it), its client's password is kept out of error
 * messages.
 *
 * - Fibers of one process queue on a local per-key lock first (`makeLocal`),
 *   so a process has at most one attempt per key in flight.
 * - `SET lockkey token NX PX leaseTtl` with a random token; while held, the
 *   lease is renewed every `renewEvery` by one fiber for all held locks.
 * - Release (the scope's finalizer, or `confirmAndRelease`) is a Lua
 *   compare-and-delete that PUBLISHes the key; waiters retry when they hear it
 *   and otherwise re-check on a backoff from `pollMin` to `pollMax`.
 * - A `SET NX` whose answer never came is followed by the same token-checked
 *   release on the same connection, so no lock is left behind by a caller
 *   that gave up.
 *
 * @example
 * ```ts
 * import { NodeRedisLock } from "@dogpile-effect/node-redis"
 * import { NodeRedis } from "@effect/platform-node"
 * import { Effect } from "effect"
 *
 * const exclusive = Effect.scoped(Effect.gen(function*() {
 *   const lock = yield* NodeRedisLock.make({ leaseTtl: "30 seconds" })
 *   yield* lock.acquire("report", "5 seconds")
 * })).pipe(Effect.provide(NodeRedis.layer({ url: "redis://127.0.0.1:6379" })))
 * ```
 *
 * @since 0.1.0
 */
export const make = (
  options: LockSettings.NodeRedisLockOptions = {}
): Effect.Effect<Lock["Service"], InvalidOptionError, Redis | Scope.Scope> =>
  Effect.gen(function*() {
    const settings = yield* LockSettings.resolve(options)
    const redis = yield* Redis
    const report = reporter(Option.getOrUndefined(Option.map(yield* Effect.serviceOption(NodeRedis), (node) => node.client)))
    const { channel, commandTimeoutMs, keyOf, leaseMs, releaseWaitMs, renewMs } = settings
    const lost = LostLock.lostLocks(settings.name)
    const local = makeLocal()
    const lockScope = yield* Effect.scope
    const waiters = yield* ReleaseWaiters.make(settings)
    const runRelease = redis.eval(RELEASE)
    const runExtend = redis.eval(EXTEND)
    /** One command, bounded by `commandTimeout` or what is left of the caller's deadline. */
    const bound = (remaining?: number) =>
      remaining === undefined || remaining <= 0 ? commandTimeoutMs : Math.min(commandTimeoutMs, remaining)
    const renewal = yield* LockRenewal.make({
      extend: (key, token, timeoutMillis) => report.bound("lock renew", runExtend(key, token, leaseMs), timeoutMillis),
      leaseMs,
      renewMs
    })
    const release = (redisKey: string, token: string, timeoutMillis: number) =>
      report.bound("lock release", runRelease(redisKey, token, channel), timeoutMillis)

    // ---- taking, and releasing what might have been taken -------------------

    const trySet = (key: string, token: string, attempt: LockAttempt.Attempt, remaining?: number) =>
      Effect.suspend(() => {
        attempt.uncertain = true
        const set = redis.send<string | null>("SET", key, token, "PX", String(leaseMs), "NX")
        return Effect.map(report.bound("lock", set, bound(remaining)), (reply) => {
          attempt.uncertain = false
          return reply === "OK"
        })
      })

    /** Token-checked release, retried in the background until Redis answers, for at most twice the lease. */
    const reap = (redisKey: string, token: string) =>
      Effect.gen(function*() {
        const giveUpAt = (yield* Clock.currentTimeMillis) + 2 * leaseMs
        while ((yield* Clock.currentTimeMillis) < giveUpAt) {
          if (yield* Effect.isSuccess(release(redisKey, token, commandTimeoutMs))) return
          yield* Effect.sleep(Duration.millis(Math.max(renewMs, 50)))
        }
        yield* Effect.logDebug("dogpile: could not confirm the release of a lock; it expires with its lease")
      })

    /** Releases `token`'s lock, waiting up to `releaseWait`; otherwise hands it to {@link reap}. */
    const settle = (redisKey: string, token: string) =>
      release(redisKey, token, Math.max(1, releaseWaitMs)).pipe(
        Effect.asVoid,
        Effect.catch(() => Effect.asVoid(Effect.forkIn(reap(redisKey, token), lockScope)))
      )

    // ---- holding ------------------------------------------------------------

    /** Registers renewal and release in `scope` for a lock just taken, and builds its lease. */
    const hold = (key: CacheKey.CacheKey, redisKey: string, token: string, scope: Scope.Scope) =>
      Effect.gen(function*() {
        const state: RedisLease.LeaseState = { released: false }
        const renewing = yield* renewal.hold(redisKey, token)
        yield* Scope.addFinalizer(
          scope,
          Effect.suspend(() => {
            renewal.drop(renewing)
            return state.released ? Effect.void : settle(redisKey, token)
          })
        )
        return RedisLease.make({
          token,
          state,
          renewing,
          renewal,
          lostOnce: LostLock.reporter(key, settings.onLost, lost),
          check: report.bound("lock check", redis.send<string | null>("GET", redisKey), commandTimeoutMs),
          release: release(redisKey, token, Math.max(1, releaseWaitMs))
        })
      })

    /** One attempt (`LockAttempt` of the lock kit): the local stage, then `remote` (the Redis stage). */
    const staged = <E1, E2>(
      localStage: Effect.Effect<Option.Option<LockLease>, E1, Scope.Scope>,
      remote: (redisKey: string, token: string, attempt: LockAttempt.Attempt) => Effect.Effect<boolean, E2>,
      key: CacheKey.CacheKey
    ) =>
      LockAttempt.staged({
        local: localStage,
        redisKey: () => keyOf(key),
        remote,
        settle,
        hold: (redisKey, token, scope) => hold(key, redisKey, token, scope)
      })

    const tryAcquire = (key: CacheKey.CacheKey) =>
      staged(local.tryAcquire(key), (redisKey, token, attempt) => trySet(redisKey, token, attempt), key)

    const acquire = (key: CacheKey.CacheKey, timeout: Duration.Input) =>
      Effect.gen(function*() {
        const { deadline, orTimedOut, timedOut, timeoutMs } = yield* LockAttempt.deadlineOf(key, timeout)
        const remote = (redisKey: string, token: string, attempt: LockAttempt.Attempt) =>
          Effect.as(
            waiters.poll(redisKey, deadline, (remaining) => trySet(redisKey, token, attempt, remaining), timedOut),
            true
          )
        const localStage = Effect.map(local.acquire(key, Duration.millis(timeoutMs)), Option.some)
        const lease = yield* staged(localStage, remote, key).pipe(
          Effect.catchTag("BackendError", orTimedOut)
        )
        // `remote` either takes the lock or fails, so a lease is always there.
        return Option.getOrThrow(lease)
      })

    const awaitRelease = (key: CacheKey.CacheKey, timeout: Duration.Input) =>
      Effect.gen(function*() {
        const { deadline, orTimedOut, timedOut } = yield* LockAttempt.deadlineOf(key, timeout)
        const redisKey = keyOf(key)
        // A release announcement means free: no need to ask again.
        const isFree = (remaining: number, notified: boolean) =>
          notified
            ? Effect.succeed(true)
            : Effect.map(report.bound("lock check", redis.send<number>("EXISTS", redisKey), bound(remaining)), (n) =>
              n === 0)
        yield* waiters.poll(redisKey, deadline, isFree, timedOut).pipe(
          Effect.catchTag("BackendError", orTimedOut)
        )
      })

    // Whether the lock is held anywhere, and how much of its lease is left (PTTL of the lock key).
    const status = (key: CacheKey.CacheKey) =>
      Effect.map(
        report.bound("lock status", redis.send<number>("PTTL", keyOf(key)), commandTimeoutMs),
        (pttl): LockStatus =>
          pttl === -2 ? { _tag: "Free" } : pttl === -1 ? { _tag: "Held" } : { _tag: "Held", remainingMs: pttl }
      )

    return Lock.of({ name: `node-redis:${settings.name}`, tryAcquire, acquire, awaitRelease, status })
  })

/**
 * The lock as a Layer over Effect's `Redis` service (`NodeRedis.layer`
 * provides it, with the node-redis client); its options are validated when
 * the Layer is built.
 *
 * @example
 * ```ts
 * import { NodeRedisLock } from "@dogpile-effect/node-redis"
 * import { NodeRedis } from "@effect/platform-node"
 * import { Layer } from "effect"
 *
 * const LockLive = NodeRedisLock.layer({ leaseTtl: "30 seconds", onLost: "fail" }).pipe(
 *   Layer.provide(NodeRedis.layer({ url: "redis://127.0.0.1:6379" }))
 * )
 * ```
 *
 * @since 0.1.0
 */
export const layer = (
  options: LockSettings.NodeRedisLockOptions = {}
): Layer.Layer<Lock, InvalidOptionError, Redis> => Layer.effect(Lock, make(options))

/**
 * The lock as a Layer whose options come from `Config`, in the style of
 * `NodeRedis.layerConfig`: each option a `Config` (or all of them one
 * `Config`), read and validated when the Layer is built.
 *
 * @example
 * ```ts
 * import { NodeRedisLock } from "@dogpile-effect/node-redis"
 * import { NodeRedis } from "@effect/platform-node"
 * import { Config, Layer } from "effect"
 *
 * const LockLive = NodeRedisLock.layerConfig({
 *   leaseTtl: Config.Duration("CACHE_LOCK_LEASE").pipe(Config.withDefault("10 seconds")),
 *   onLost: Config.Literals(["ignore", "log", "fail"], "CACHE_LOCK_ON_LOST").pipe(Config.withDefault("log" as const))
 * }).pipe(Layer.provide(NodeRedis.layerConfig({ url: Config.String("REDIS_URL") })))
 * ```
 *
 * @since 0.1.0
 */
export const layerConfig = (
  options: Config.Wrap<LockSettings.NodeRedisLockOptions>
): Layer.Layer<Lock, InvalidOptionError | Config.ConfigError, Redis> =>
  Layer.effect(Lock, Effect.flatMap(Config.unwrap(options), make))
