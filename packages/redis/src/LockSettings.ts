/**
 * Validation of the options every Redis lock has (`RedisLock`,
 * `NodeRedisLock`), whatever its client: every problem is an
 * `InvalidOptionError` raised when the Layer is built.
 *
 * @since 0.1.0
 */
import { type CacheKey, InvalidOptionError, Options } from "@dogpile-effect/core"
import { Duration, Effect } from "effect"
import type { LostLockPolicy } from "./LostLock.ts"

/**
 * The options every Redis lock has, as its options interface declares them
 * (`RedisLockOptions`, `NodeRedisLockOptions`): documented there.
 *
 * @example
 * ```ts
 * import type { LockSettings } from "@dogpile-effect/redis/lock-kit"
 * const options: LockSettings.LockOptions = { leaseTtl: "30 seconds", onLost: "fail" }
 * ```
 *
 * @category models
 * @since 0.1.0
 */
export type LockOptions =
  & { readonly [K in "name" | "prefix" | "channel"]?: string | undefined }
  & { readonly [K in DurationOption]?: Duration.Input | undefined }
  & {
    readonly onLost?: LostLockPolicy | undefined
    readonly lockKey?: ((key: CacheKey.CacheKey) => string) | undefined
  }

/** The options that are durations; `ttl` (the deprecated name of `leaseTtl`) is read only under {@link LockKind} `legacyTtl`. */
type DurationOption = "leaseTtl" | "ttl" | "renewEvery" | "pollMin" | "pollMax" | "releaseWait"

/**
 * Which lock the options are for: the component named in its errors, its
 * default `name`, and whether it still reads the deprecated `ttl`.
 *
 * @example
 * ```ts
 * import type { LockSettings } from "@dogpile-effect/redis/lock-kit"
 * const kind: LockSettings.LockKind = { component: "NodeRedisLock", defaultName: "node-redis", legacyTtl: false }
 * ```
 *
 * @category models
 * @since 0.1.0
 */
export interface LockKind {
  readonly component: string
  readonly defaultName: string
  readonly legacyTtl: boolean
}

/**
 * `RedisLock` of `@dogpile-effect/redis`.
 *
 * @example
 * ```ts
 * import { LockSettings } from "@dogpile-effect/redis/lock-kit"
 * LockSettings.REDIS_LOCK.defaultName // "redis"
 * ```
 *
 * @since 0.1.0
 */
export const REDIS_LOCK: LockKind = { component: "RedisLock", defaultName: "redis", legacyTtl: true }

/**
 * The resolved settings of a Redis lock, in milliseconds.
 *
 * @example
 * ```ts
 * import { LockSettings } from "@dogpile-effect/redis/lock-kit"
 * import { Effect } from "effect"
 * const settings: LockSettings.LockSettings = Effect.runSync(LockSettings.resolve({}, (key) => String(key)))
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
  /** The Redis key of the lock of a cache key. */
  readonly keyOf: (key: CacheKey.CacheKey) => string
}

const POLICIES: ReadonlyArray<LostLockPolicy> = ["ignore", "log", "fail"]

const invalidFor = (kind: LockKind) => (option: string, reason: string) =>
  Effect.fail(new InvalidOptionError({ component: kind.component, option, reason }))

const prefixOf = (kind: LockKind, input: unknown) => {
  if (input === undefined) return Effect.succeed("_lock:")
  if (typeof input !== "string") return invalidFor(kind)("prefix", `must be a string, got ${typeof input}`)
  if (input.includes("{") || input.includes("}")) {
    return invalidFor(kind)(
      "prefix",
      `must not contain braces (they would change the lock's cluster slot), got ${JSON.stringify(input)}`
    )
  }
  return Effect.succeed(input)
}

const leaseOf = (kind: LockKind, options: LockOptions) => {
  const ttl = kind.legacyTtl ? options.ttl : undefined
  if (options.leaseTtl !== undefined && ttl !== undefined) {
    return invalidFor(kind)("ttl", "is the deprecated name of leaseTtl: give only leaseTtl")
  }
  const option = ttl !== undefined ? "ttl" : "leaseTtl"
  return Effect.map(
    Options.millisOr(kind.component, option, options.leaseTtl ?? ttl, "10 seconds"),
    (ms) => Math.max(1, Math.round(ms))
  )
}

/**
 * Validates the options of a Redis lock (by default `RedisLock`'s; another
 * lock passes its own {@link LockKind}). `defaultKeyOf` names the lock of a
 * cache key unless the options give `lockKey`.
 *
 * @example
 * ```ts
 * import { LockKey, LockSettings } from "@dogpile-effect/redis/lock-kit"
 * import { Effect } from "effect"
 * Effect.runSync(LockSettings.resolve({ leaseTtl: "30 seconds" }, LockKey.lockKey)).renewMs // 10000
 * ```
 *
 * @category constructors
 * @since 0.1.0
 */
export const resolve = (
  options: LockOptions,
  defaultKeyOf: (key: CacheKey.CacheKey, prefix: string) => string,
  kind: LockKind = REDIS_LOCK
): Effect.Effect<LockSettings, InvalidOptionError> =>
  Effect.gen(function*() {
    const { component } = kind
    const invalid = invalidFor(kind)
    const name = yield* Options.nonEmpty(component, "name", options.name, kind.defaultName)
    const prefix = yield* prefixOf(kind, options.prefix)
    const leaseMs = yield* leaseOf(kind, options)
    const renewMs = options.renewEvery === undefined
      ? Math.max(1, Math.floor(leaseMs / 3))
      : yield* Options.millis(component, "renewEvery", options.renewEvery)
    if (renewMs >= leaseMs) {
      return yield* invalid("renewEvery", `(${renewMs} ms) must be shorter than leaseTtl (${leaseMs} ms)`)
    }
    const pollMinMs = yield* Options.millisOr(component, "pollMin", options.pollMin, "5 millis")
    const pollMaxMs = yield* Options.millisOr(component, "pollMax", options.pollMax, "50 millis")
    if (pollMaxMs < pollMinMs) {
      return yield* invalid("pollMax", `(${pollMaxMs} ms) must not be shorter than pollMin (${pollMinMs} ms)`)
    }
    const onLost = options.onLost ?? "log"
    if (!POLICIES.includes(onLost)) {
      return yield* invalid("onLost", `must be one of ${POLICIES.join(", ")}, got ${JSON.stringify(onLost)}`)
    }
    const channel = yield* Options.nonEmpty(component, "channel", options.channel, `${prefix}released`)
    if (options.lockKey !== undefined && typeof options.lockKey !== "function") {
      return yield* invalid("lockKey", "must be a function from a cache key to a Redis key")
    }
    const releaseWaitMs = yield* Options.millisOr(component, "releaseWait", options.releaseWait, "200 millis", {
      zero: true
    })
    const custom = options.lockKey
    const keyOf = custom ?? ((key: CacheKey.CacheKey) => defaultKeyOf(key, prefix))
    return { name, prefix, leaseMs, renewMs, pollMinMs, pollMaxMs, onLost, channel, releaseWaitMs, keyOf }
  })

/**
 * Milliseconds of a caller's timeout (`Lock.acquire`, `Lock.awaitRelease`).
 *
 * @example
 * ```ts
 * import { LockSettings } from "@dogpile-effect/redis/lock-kit"
 * LockSettings.toMillis("2 seconds") // 2000
 * ```
 *
 * @since 0.1.0
 */
export const toMillis = (input: Duration.Input): number => Duration.toMillis(Duration.fromInputUnsafe(input))
