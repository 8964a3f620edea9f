/**
 * Validation of `RedisLock` options: every problem is an
 * `InvalidOptionError` raised when the Layer is built.
 *
 * @since 0.2.0
 */
import { type CacheKey, InvalidOptionError, Options } from "@dogpile-effect/core"
import { Effect } from "effect"
import type { LostLockPolicy, RedisLockOptions } from "./RedisLock.ts"

const COMPONENT = "RedisLock"

/**
 * The resolved settings of a Redis lock, in milliseconds.
 *
 * @category models
 * @since 0.2.0
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

const leaseOf = (options: RedisLockOptions) => {
  if (options.leaseTtl !== undefined && options.ttl !== undefined) {
    return invalid("ttl", "is the deprecated name of leaseTtl: give only leaseTtl")
  }
  const option = options.ttl !== undefined ? "ttl" : "leaseTtl"
  return Effect.map(
    Options.millisOr(COMPONENT, option, options.leaseTtl ?? options.ttl, "10 seconds"),
    (ms) => Math.max(1, Math.round(ms))
  )
}

/**
 * Validates the options of a Redis lock.
 *
 * @example
 * ```ts
 * import { LockSettings } from "@dogpile-effect/redis"
 * import { Effect } from "effect"
 * Effect.runSync(LockSettings.resolve({ leaseTtl: "30 seconds" })).renewMs // 10000
 * ```
 *
 * @category constructors
 * @since 0.2.0
 */
export const resolve = (
  options: RedisLockOptions,
  defaultKeyOf: (key: CacheKey.CacheKey, prefix: string) => string
): Effect.Effect<LockSettings, InvalidOptionError> =>
  Effect.gen(function*() {
    const name = yield* Options.nonEmpty(COMPONENT, "name", options.name, "redis")
    const prefix = yield* prefixOf(options.prefix)
    const leaseMs = yield* leaseOf(options)
    const renewMs = options.renewEvery === undefined
      ? Math.max(1, Math.floor(leaseMs / 3))
      : yield* Options.millis(COMPONENT, "renewEvery", options.renewEvery)
    if (renewMs >= leaseMs) {
      return yield* invalid("renewEvery", `(${renewMs} ms) must be shorter than leaseTtl (${leaseMs} ms)`)
    }
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
    const releaseWaitMs = yield* Options.millisOr(COMPONENT, "releaseWait", options.releaseWait, "200 millis", {
      zero: true
    })
    const custom = options.lockKey
    const keyOf = custom ?? ((key: CacheKey.CacheKey) => defaultKeyOf(key, prefix))
    return { name, prefix, leaseMs, renewMs, pollMinMs, pollMaxMs, onLost, channel, releaseWaitMs, keyOf }
  })
