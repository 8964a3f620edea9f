/**
 * Validation of `NodeRedisLock` options: every problem is an
 * `InvalidOptionError` raised when the Layer is built.
 *
 * @since 0.1.0
 */
import { type CacheKey, InvalidOptionError, Options } from "@dogpile-effect/core"
import { Duration, Effect } from "effect"
import { lockKey } from "./LockKey.ts"

const COMPONENT = "NodeRedisLock"

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
export type LostLockPolicy = "ignore" | "log" | "fail"

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
export interface LockSettings {
  readonly name: string
  readonly prefix: string
  readonly leaseMs: number
  readonly renewMs: number
  readonly pollMinMs: number
  readonly pollMaxMs: number
  readonly onLost: LostLockPolicy
  readonly channel: string
  readonly releaseWaitMs: number
  readonly commandTimeoutMs: number
  /** The Redis key of the lock of a cache key. */
  readonly keyOf: (key: CacheKey.CacheKey) => string
}

const invalid = (option: string, reason: string) =>
  Effect.fail(new InvalidOptionError({ component: COMPONENT, option, reason }))

const POLICIES: ReadonlyArray<LostLockPolicy> = ["ignore", "log", "fail"]

const prefixOf = (input: unknown) => {
  if (input === undefined) return Effect.succeed("_lock:")
  if (typeof input !== "string") return invalid("prefix", `must be a string, got ${typeof input}`)
  if (input.includes("{") || input.includes("}")) {
    return invalid("prefix", `must not contain braces (they would change the lock's cluster slot), got ${JSON.stringify(input)}`)
  }
  return Effect.succeed(input)
}

const renewOf = (input: Duration.Input | undefined, leaseMs: number) =>
  input === undefined
    ? Effect.succeed(Math.max(1, Math.floor(leaseMs / 3)))
    : Effect.flatMap(Options.millis(COMPONENT, "renewEvery", input), (ms) =>
      ms >= leaseMs ? invalid("renewEvery", `(${ms} ms) must be shorter than leaseTtl (${leaseMs} ms)`) : Effect.succeed(ms))

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
    const name = yield* Options.nonEmpty(COMPONENT, "name", options.name, "node-redis")
    const prefix = yield* prefixOf(options.prefix)
    const leaseMs = Math.max(1, Math.round(yield* Options.millisOr(COMPONENT, "leaseTtl", options.leaseTtl, "10 seconds")))
    const renewMs = yield* renewOf(options.renewEvery, leaseMs)
    const pollMinMs = yield* Options.millisOr(COMPONENT, "pollMin", options.pollMin, "5 millis")
    const pollMaxMs = yield* Options.millisOr(COMPONENT, "pollMax", options.pollMax, "50 millis")
    if (pollMaxMs < pollMinMs) {
      return yield* invalid("pollMax", `(${pollMaxMs} ms) must not be shorter than pollMin (${pollMinMs} ms)`)
    }
    const onLost = options.onLost ?? "log"
    if (!POLICIES.includes(onLost)) {
      return yield* invalid("onLost", `must be one of ${POLICIES.join(", ")}, got ${JSON.stringify(onLost)}`)
    }
    const channel = yield* Options.nonEmpty(COMPONENT, "channel", options.channel, `${prefix}released`)
    if (options.lockKey !== undefined && typeof options.lockKey !== "function") {
      return yield* invalid("lockKey", "must be a function from a cache key to a Redis key")
    }
    const releaseWaitMs = yield* Options.millisOr(COMPONENT, "releaseWait", options.releaseWait, "200 millis", { zero: true })
    const commandTimeoutMs = yield* Options.millisOr(COMPONENT, "commandTimeout", options.commandTimeout, "1 second")
    const custom = options.lockKey
    const keyOf = custom ?? ((key: CacheKey.CacheKey) => lockKey(key, prefix))
    return { name, prefix, leaseMs, renewMs, pollMinMs, pollMaxMs, onLost, channel, releaseWaitMs, commandTimeoutMs, keyOf }
  })

/**
 * Milliseconds of a caller's timeout (`Lock.acquire`, `Lock.awaitRelease`).
 *
 * @example
 * ```ts
 * toMillis("2 seconds") // 2000
 * ```
 *
 * @since 0.1.0
 */
export const toMillis = (input: Duration.Input): number => Duration.toMillis(Duration.fromInputUnsafe(input))
