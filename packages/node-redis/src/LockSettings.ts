/**
 * Validation of `NodeRedisLock` options: every problem is an
 * `InvalidOptionError` raised when the Layer is built. The options every
 * Redis lock has are validated by `LockSettings` of
 * `@dogpile-effect/redis/lock-kit` (the rules `RedisLock` follows); this adds
 * `commandTimeout`.
 *
 * @since 0.1.0
 */
import { type CacheKey, type InvalidOptionError, Options } from "@dogpile-effect/core"
import { LockKey, LockSettings as Shared, type LostLock } from "@dogpile-effect/redis/lock-kit"
import { type Duration, Effect } from "effect"

const NODE_REDIS_LOCK: Shared.LockKind = { component: "NodeRedisLock", defaultName: "node-redis", legacyTtl: false }

/**
 * What to do when a lock turned out to be lost while its creator ran (expired
 * without renewal, `FLUSHALL`, server restart): the value is stored and
 * returned in every case; `"ignore"` says nothing, `"log"` logs a warning,
 * `"fail"` fails the creating caller with `LockLostError`.
 *
 * @example
 * ```ts
 * import type { NodeRedisLock } from "@dogpile-effect/node-redis"
 * const policy: NodeRedisLock.LostLockPolicy = "fail"
 * ```
 *
 * @since 0.1.0
 */
export type LostLockPolicy = LostLock.LostLockPolicy

/**
 * Options of the node-redis lock. The defaults, the lock keys and the release
 * channel are those of `RedisLock` (`@dogpile-effect/redis`), so processes on
 * either client exclude each other and hear each other's releases.
 *
 * @example
 * ```ts
 * import type { NodeRedisLock } from "@dogpile-effect/node-redis"
 * const options: NodeRedisLock.NodeRedisLockOptions = { leaseTtl: "30 seconds", onLost: "fail" }
 * ```
 *
 * @since 0.1.0
 */
export interface NodeRedisLockOptions {
  /** A label for metrics and logs. Default `"node-redis"`. */
  readonly name?: string | undefined
  /** Prefix of the lock keys; must not contain `{` or `}`. Default `"_lock:"`. */
  readonly prefix?: string | undefined
  /** The lease's TTL in Redis: how long a crashed holder blocks others (renewed while held). Default 10 seconds. */
  readonly leaseTtl?: Duration.Input | undefined
  /** How often a held lock's lease is renewed. Default a third of `leaseTtl`; must be shorter than it. */
  readonly renewEvery?: Duration.Input | undefined
  /** Default `"log"`. */
  readonly onLost?: LostLockPolicy | undefined
  /** First re-check delay of a waiter that heard no release. Default 5 ms. */
  readonly pollMin?: Duration.Input | undefined
  /** Longest re-check delay of a waiter that heard no release (the backoff cap). Default 50 ms. */
  readonly pollMax?: Duration.Input | undefined
  /** Pub/sub channel on which releases are announced. Default `prefix + "released"`. */
  readonly channel?: string | undefined
  /** The Redis key of the lock for a cache key. Default `(key) => lockKey(key, prefix)`. */
  readonly lockKey?: ((key: CacheKey.CacheKey) => string) | undefined
  /**
   * How long a failed or interrupted acquisition waits for Redis to confirm
   * the release of a lock it may have taken before it returns (a background
   * fiber finishes the release otherwise). Default 200 milliseconds.
   */
  readonly releaseWait?: Duration.Input | undefined
  /** The longest wait for one command's reply (a caller's own timeout may cut it shorter). Default 1 second. */
  readonly commandTimeout?: Duration.Input | undefined
}

/**
 * The resolved settings of a node-redis lock, in milliseconds.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * const settings: LockSettings = Effect.runSync(resolve({}))
 * settings.leaseMs // 10000
 * ```
 *
 * @category models
 * @since 0.1.0
 */
export interface LockSettings extends Shared.LockSettings {
  readonly commandTimeoutMs: number
}

/**
 * Validates the options of a node-redis lock.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * Effect.runSync(resolve({ leaseTtl: "30 seconds" })).renewMs // 10000
 * ```
 *
 * @category constructors
 * @since 0.1.0
 */
export const resolve = (options: NodeRedisLockOptions): Effect.Effect<LockSettings, InvalidOptionError> =>
  Effect.gen(function*() {
    const settings = yield* Shared.resolve(options, LockKey.lockKey, NODE_REDIS_LOCK)
    const commandTimeoutMs = yield* Options.millisOr(
      NODE_REDIS_LOCK.component,
      "commandTimeout",
      options.commandTimeout,
      "1 second"
    )
    return { ...settings, commandTimeoutMs }
  })
