/**
 * The distributed dogpile lock on Redis: one creator per key across every
 * process sharing the server.
 *
 * @since 0.1.0
 */
import {
  CacheKey,
  type InvalidOptionError,
  Lock,
  type LockLease,
  type LockStatus,
  type TakenLock,
  makeLocal
} from "@dogpile-effect/core"
import { Duration, Effect, Layer, Option, Scope } from "effect"
import { lockKey } from "./LockKey.ts"
import * as LockAttempt from "./LockAttempt.ts"
import * as LockedStore from "./LockedStore.ts"
import * as RedisLease from "./RedisLease.ts"
import { type Attempt, done, EXTEND, type Fused, heldFor, RELEASE, TAKEN, TRY } from "./LockScripts.ts"
import * as LockSettings from "./LockSettings.ts"
import * as LockRenewal from "./LockRenewal.ts"
import * as LockWaiters from "./LockWaiters.ts"
import * as LostLock from "./LostLock.ts"
import type { LostLockPolicy } from "./LostLock.ts"
import { RedisClient } from "./RedisClient.ts"

export type {
  /** What to do when a lock turned out to be lost while its creator ran (`LostLock.ts`). */
  LostLockPolicy
} from "./LostLock.ts"

/**
 * Options of the Redis lock.
 *
 * @since 0.1.0
 */
export interface RedisLockOptions {
  /** A label for metrics and logs. Default `"redis"`. */
  readonly name?: string | undefined
  /**
   * Prefix of the lock keys (`lock_prefix` of `dogpile_backend_redis_advanced`);
   * must not contain `{` or `}`. Default `"_lock:"`.
   */
  readonly prefix?: string | undefined
  /**
   * The lease's TTL in Redis: how long a crashed holder blocks others (renewed
   * while the holder runs). Default 10 seconds.
   *
   * @since 0.1.0
   */
  readonly leaseTtl?: Duration.Input | undefined
  /**
   * The old name of {@link RedisLockOptions.leaseTtl}; still works. Giving both
   * is an `InvalidOptionError`.
   *
   * @deprecated Use `leaseTtl`.
   */
  readonly ttl?: Duration.Input | undefined
  /** How often a held lock's lease is renewed. Default a third of `leaseTtl`; must be shorter than it. */
  readonly renewEvery?: Duration.Input | undefined
  /** Default `"log"`. */
  readonly onLost?: LostLockPolicy | undefined
  /**
   * First retry delay of a waiter that cannot rely on release announcements
   * (the subscriber connection is down, or the lock key has no TTL). A waiter
   * of a lock with a lease sends nothing until it is woken or the lease runs
   * out. Default 5 ms.
   */
  readonly pollMin?: Duration.Input | undefined
  /** Longest retry delay of such a waiter (the backoff cap). Default 50 ms. */
  readonly pollMax?: Duration.Input | undefined
  /** Pub/sub channel on which releases are announced. Default `prefix + "released"`. */
  readonly channel?: string | undefined
  /**
   * The Redis key of the lock for a cache key, for interop with other lock
   * namings (e.g. `dogpile.cache`'s `_lock<key>`). Default
   * `(key) => lockKey(key, prefix)` ({@link lockKey}). On a Cluster, keep the
   * lock in the slot of the key it guards (use its `{tag}`).
   *
   * @since 0.1.0
   */
  readonly lockKey?: ((key: CacheKey.CacheKey) => string) | undefined
  /**
   * How long a failed or interrupted acquisition waits for Redis to confirm
   * the release of a lock it may have taken (a `SET NX` whose answer never
   * came) before it returns; a background fiber finishes the release if
   * Redis is silent that long. Zero sends the release without waiting.
   * Default 200 milliseconds.
   *
   * @since 0.1.0
   */
  readonly releaseWait?: Duration.Input | undefined
}

export { lostLocks } from "./LostLock.ts"
export { lockKey } from "./LockKey.ts"

/** The pause before retry `attempt` (from 0) of a background release: 25 ms doubling, at most 100 ms or `renewMs`. */
const reapDelayMs = (attempt: number, renewMs: number): number =>
  Math.max(1, Math.min(25 * 2 ** Math.min(attempt, 10), 100, renewMs))

/**
 * Builds the lock over the {@link RedisClient} in context. Release
 * notifications come through the client's one shared release subscriber
 * (`ReleaseSubscriber.ts`): however many locks are built over a client, with
 * whatever prefix, channel or `lockKey`, they hold one subscriber connection
 * between them, opened by the first and closed with the last one's scope.
 *
 * How it works:
 * - In-process coalescing first: the fibers of one process queue on a local
 *   per-key lock (`makeLocal` from core), so one process has at most one
 *   attempt per key in flight.
 * - `SET lockkey token NX PX leaseTtl` with a random token, in a script that
 *   answers a held lock's remaining lease (`PTTL`) in the same round trip.
 *   While held, the
 *   lease is renewed every `renewEvery` (compare-and-pexpire) by one fiber
 *   for all the locks this service holds (`LockRenewal.ts`), so creators
 *   slower than `leaseTtl` keep the lock.
 * - Release, by the scope's finalizer (success, failure, interruption), is a
 *   compare-and-delete that PUBLISHes the key; every waiting process wakes
 *   when it hears it (`LockWaiters.ts`). Until then a waiter sends nothing:
 *   it sleeps until the lease it learnt runs out, then checks once (a
 *   renewing holder has extended it; a crashed one has not, and its key is
 *   gone). Waiters poll, with a backoff from `pollMin` to `pollMax`, only
 *   while the subscriber connection is down or for a lock key without TTL.
 * - No ghost locks: when a `SET NX` was sent but its answer never came (the
 *   command timed out, the connection dropped, the caller was interrupted),
 *   the same token-checked release follows it on the same connection, so
 *   Redis runs it after the SET if the SET runs at all. The acquisition
 *   waits up to `releaseWait` for it; if Redis is silent, a background fiber
 *   keeps retrying until Redis answers (bounded by twice the lease).
 * - Every command of `acquire` and `awaitRelease` is bounded by what is
 *   left of the caller's timeout (and by the client's `commandTimeout`).
 * - Fused with a `RedisBackend` over the same client (`lockedMiss`,
 *   `LockedStore.ts`): a region's single-key miss checks that the value is
 *   still absent and takes the lock in one script, and the store of the
 *   created value releases the lock and announces it in one script.
 * - `lease.confirm` checks that the lock is still ours and applies `onLost`
 *   (`"ignore"` and `"log"` succeed with `"lost"`, so the region still emits
 *   its `LockLost` event). `lease.confirmAndRelease`, which a region uses
 *   after storing a value, does the same through the release script's answer:
 *   the check and the release in one round trip.
 *
 * @example
 * ```ts
 * import { Lock } from "@dogpile-effect/core"
 * import { RedisClient, RedisLock } from "@dogpile-effect/redis"
 * import { Effect } from "effect"
 *
 * const exclusive = Effect.scoped(Effect.gen(function*() {
 *   const lock = yield* RedisLock.make({ leaseTtl: "30 seconds" })
 *   yield* lock.acquire("report", "5 seconds")
 * })).pipe(Effect.provide(RedisClient.layer()))
 * ```
 *
 * @since 0.1.0
 */
export const make = (
  options: RedisLockOptions = {}
): Effect.Effect<Lock["Service"], InvalidOptionError, RedisClient | Scope.Scope> =>
  Effect.gen(function*() {
    const redis = yield* RedisClient
    const settings = yield* LockSettings.resolve(options, lockKey)
    const { channel, keyOf, leaseMs, renewMs, releaseWaitMs } = settings
    const policy = settings.onLost
    const lost = LostLock.lostLocks(settings.name)
    const local = makeLocal()
    const release = redis.script("dogpileLockRelease", RELEASE, 1)
    const tryScript = redis.script("dogpileLockTry", TRY, 1)
    const extend = redis.script("dogpileLockExtend", EXTEND, 1)
    const waiters = yield* LockWaiters.make(settings)
    const lockScope = yield* Effect.scope
    const renewal = yield* LockRenewal.make({
      extend: (redisKey, token, timeoutMillis) => extend.run([redisKey], [token, leaseMs], { timeoutMillis }),
      leaseMs,
      renewMs
    })

    // ---- taking, and releasing what might have been taken -------------------

    /**
     * `SET NX PX` (the {@link TRY} script), bounded by `timeoutMillis` when given: `Done` when taken, else
     * what is left of the holder's lease. `attempt` tells whether its outcome is unknown.
     */
    const tryTake = (key: string, token: string, attempt: Attempt, timeoutMillis?: number) =>
      Effect.suspend(() => {
        attempt.uncertain = true
        const bound = timeoutMillis === undefined || timeoutMillis <= 0 ? {} : { timeoutMillis }
        return tryScript.run([key], [token, leaseMs], bound).pipe(
          Effect.map((reply): LockWaiters.Check => {
            attempt.uncertain = false
            return reply === TAKEN ? done : heldFor(reply)
          })
        )
      })

    /**
     * Token-checked release; retried in the background until Redis answers, for at most twice the lease.
     * The retries come soon (25 ms, doubling, at most every 100 ms or `renewEvery`): while the server is
     * known silent a retry sends nothing (it fails at once), and the first one after it answers again
     * releases the lock and wakes the other processes' waiters, instead of a whole `renewEvery` later.
     */
    const reap = (redisKey: string, token: string) =>
      Effect.gen(function*() {
        const giveUpAt = Date.now() + 2 * leaseMs
        for (let attempt = 0; Date.now() < giveUpAt; attempt++) {
          const answered = yield* Effect.isSuccess(release.run([redisKey], [token, channel]))
          if (answered) return
          yield* Effect.sleep(Duration.millis(reapDelayMs(attempt, renewMs)))
        }
        yield* Effect.logDebug("dogpile: could not confirm the release of a lock; it expires with its lease")
      })

    /** Releases `token`'s lock, waiting up to `releaseWait` for Redis; otherwise hands it to {@link reap}. */
    const settle = (redisKey: string, token: string) =>
      release.run([redisKey], [token, channel], { timeoutMillis: Math.max(1, releaseWaitMs) }).pipe(
        Effect.asVoid,
        Effect.catch(() => Effect.asVoid(Effect.forkIn(reap(redisKey, token), lockScope)))
      )

    // ---- holding ------------------------------------------------------------

    /** The release a fused lease leaves to the store of its value by `owner` (`LockedStore.ts`). */
    const pendingRelease = (
      owner: unknown,
      redisKey: string,
      token: string,
      state: RedisLease.LeaseState,
      renewing: LockRenewal.Held
    ): LockedStore.PendingRelease => ({
      owner,
      lockKey: redisKey,
      token,
      channel,
      released: (reply: unknown): void => {
        state.released = true
        renewal.drop(renewing)
        if (reply !== 1) renewing.lost = true
      }
    })

    /** Starts renewing a lock just taken and builds its lease, and its release (run exactly once). */
    const holding = (key: CacheKey.CacheKey, redisKey: string, token: string, fused?: Fused) =>
      Effect.withFiber((owner) =>
        Effect.map(renewal.hold(redisKey, token), (renewing): TakenLock => {
          const state: RedisLease.LeaseState = { released: false }
          // Fused with the backend: the store of the value releases the lock (`LockedStore.ts`).
          const pending = fused === undefined ? undefined : pendingRelease(owner, redisKey, token, state, renewing)
          if (fused !== undefined && pending !== undefined) fused.shared.pending.set(fused.valueKey, pending)
          const released = Effect.suspend(() => {
            renewal.drop(renewing)
            if (fused !== undefined && fused.shared.pending.get(fused.valueKey) === pending) {
              fused.shared.pending.delete(fused.valueKey)
            }
            return state.released ? Effect.void : settle(redisKey, token)
          })
          const lease = RedisLease.make({
            token,
            state,
            renewing,
            renewal,
            lostOnce: LostLock.reporter(key, policy, lost),
            check: redis.use("lock check", (c) => c.get(redisKey)),
            release: release.run([redisKey], [token, channel], { timeoutMillis: Math.max(1, releaseWaitMs) })
          })
          return { lease, release: released }
        })
      )

    /** Registers renewal and release in `scope` for a lock just taken, and builds its lease. */
    const hold = (key: CacheKey.CacheKey, redisKey: string, token: string, scope: Scope.Scope) =>
      Effect.flatMap(holding(key, redisKey, token), (held) => Effect.as(Scope.addFinalizer(scope, held.release), held.lease))

    /** One attempt (`LockAttempt.ts`): the local stage, then `remote`. */
    const staged = <E1, E2>(
      localStage: Effect.Effect<Option.Option<LockLease>, E1, Scope.Scope>,
      remote: (redisKey: string, token: string, attempt: Attempt) => Effect.Effect<boolean, E2>,
      key: CacheKey.CacheKey
    ) =>
      LockAttempt.staged({
        local: localStage,
        redisKey: () => keyOf(key),
        remote,
        settle,
        hold: (redisKey, token, scope) => hold(key, redisKey, token, scope)
      })

    /** One attempt without waiting, by `run`; a held lock's lease is kept for this process's next waiter. */
    const observed = <E>(redisKey: string, run: Effect.Effect<LockWaiters.Check, E>) =>
      Effect.suspend(() => {
        const observation = waiters.observe(redisKey)
        return Effect.onExit(run, (exit) =>
          Effect.clockWith((clock) => {
            waiters.record(redisKey, observation, exit._tag === "Success" ? exit.value : undefined, clock.currentTimeMillisUnsafe())
            return Effect.void
          }))
      })

    const tryOnce = (redisKey: string, token: string, attempt: Attempt) =>
      Effect.map(observed(redisKey, tryTake(redisKey, token, attempt)), (check) => check._tag === "Done")

    const tryAcquire = (key: CacheKey.CacheKey) => staged(local.tryAcquire(key), tryOnce, key)

    const acquire = (key: CacheKey.CacheKey, timeout: Duration.Input) =>
      Effect.gen(function*() {
        const { deadline, orTimedOut, timedOut, timeoutMs } = yield* LockAttempt.deadlineOf(key, timeout)
        const remote = (redisKey: string, token: string, attempt: Attempt) =>
          Effect.as(
            waiters.poll(redisKey, deadline, (remaining) => tryTake(redisKey, token, attempt, remaining), timedOut),
            true
          )
        const localStage = Effect.map(local.acquire(key, Duration.millis(timeoutMs)), Option.some)
        const lease = yield* staged(localStage, remote, key).pipe(Effect.catchTag("BackendError", orTimedOut))
        // `remote` either takes the lock or fails, so a lease is always there.
        return Option.getOrThrow(lease)
      })

    /** Whether the lock key is gone, else how long its lease has left (one `PTTL`). */
    const leaseLeft = (redisKey: string, remaining: number) =>
      Effect.map(
        redis.use("lock check", (c) => c.pttl(redisKey), remaining > 0 ? { timeoutMillis: remaining } : {}),
        heldFor
      )

    const awaitRelease = (key: CacheKey.CacheKey, timeout: Duration.Input) =>
      Effect.gen(function*() {
        const { deadline, orTimedOut, timedOut } = yield* LockAttempt.deadlineOf(key, timeout)
        const redisKey = keyOf(key)
        // A release announcement means free: no need to ask again. A failed `tryAcquire` of this process
        // answers the first check (`useObservation`): a waiter of a live holder sends nothing until woken.
        const check = (remaining: number, wake: LockWaiters.Wake | undefined) =>
          wake === "released" ? Effect.succeed(done) : leaseLeft(redisKey, remaining)
        yield* waiters.poll(redisKey, deadline, check, timedOut, true).pipe(
          Effect.catchTag("BackendError", orTimedOut)
        )
      })

    // Whether the lock is held anywhere, and how much of its lease is left (PTTL of the lock key).
    const status = (key: CacheKey.CacheKey) =>
      Effect.map(redis.use("lock status", (c) => c.pttl(keyOf(key))), (pttl): LockStatus =>
        pttl === -2 ? { _tag: "Free" } : pttl === -1 ? { _tag: "Held" } : { _tag: "Held", remainingMs: pttl })

    const lockedMiss = LockedStore.lockedMiss({
      redis,
      customNaming: options.lockKey !== undefined,
      keyOf,
      leaseMs,
      local: local.tryTake,
      hold: holding,
      settle,
      observed
    })

    return Lock.of({ name: `redis:${settings.name}`, tryAcquire, acquire, awaitRelease, status, lockedMiss })
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
