/**
 * The Redis lock fused with the Redis backend for a locked miss (core's
 * `Lock.lockedMiss`): the backend shows the lock, through a symbol-keyed
 * member, the client it writes through and a table of pending releases. A
 * lock taken by `tryAbsent` registers its release under the value's key;
 * the backend's next `set` of that key stores the value, releases the lock if
 * it still holds its token and announces the release, all in one script.
 *
 * Only where a value and its lock can be touched by one script: one server,
 * or a Cluster key whose value and lock share a slot (a `{tag}`); the lock's
 * default key naming only (a custom `lockKey`, e.g. the Python presets'
 * dogpile names, keeps the usual protocol).
 *
 * @since 0.1.0
 */
import type { Backend, BackendError, BackendFailure, CacheKey, LockedAttempt, LockedMiss, LockLease } from "@dogpile-effect/core"
import { Effect, Option, type Scope } from "effect"
import * as KeySlot from "./KeySlot.ts"
import { type Attempt, done, type Fused, heldFor, TAKEN } from "./LockScripts.ts"
import type * as LockWaiters from "./LockWaiters.ts"
import type { RedisClient, RedisScript } from "./RedisClient.ts"

/**
 * Takes the lock if the value is absent. KEYS: value, lock. ARGV: token,
 * lease ms. Answers {@link PRESENT}, `TAKEN` (-3), or the lock's PTTL.
 */
export const TRY_ABSENT = `
if redis.call("EXISTS", KEYS[1]) == 1 then
  return -4
end
if redis.call("SET", KEYS[2], ARGV[1], "NX", "PX", ARGV[2]) then
  return -3
end
return redis.call("PTTL", KEYS[2])`

/** {@link TRY_ABSENT}'s answer when the value exists. */
export const PRESENT = -4

/**
 * Stores the value and releases the lock if it still holds the token, then
 * announces the release. KEYS: value, lock. ARGV: bytes, PX ("" for none),
 * token, channel. Answers 1 when the lock was ours, else 0.
 */
export const STORE_RELEASE = `
if ARGV[2] == "" then
  redis.call("SET", KEYS[1], ARGV[1])
else
  redis.call("SET", KEYS[1], ARGV[1], "PX", ARGV[2])
end
if redis.call("GET", KEYS[2]) == ARGV[3] then
  redis.call("DEL", KEYS[2])
  redis.call("PUBLISH", ARGV[4], KEYS[2])
  return 1
end
return 0`

/**
 * A lock whose release waits for its value's store.
 *
 * @category models
 * @since 0.1.0
 */
export interface PendingRelease {
  /**
   * The fiber that took the lock: only its store of the value releases the
   * lock. A `set` of the same key from another fiber (another caller's plain
   * write) is a plain SET, or it would free the lock under the creator.
   */
  readonly owner: unknown
  readonly lockKey: string
  readonly token: string
  readonly channel: string
  /** The store-and-release script answered (1: the lock was still ours). */
  readonly released: (reply: unknown) => void
}

/**
 * What the Redis backend shows the Redis lock.
 *
 * @category models
 * @since 0.1.0
 */
export interface Shared {
  readonly client: RedisClient["Service"]
  /** Pending releases by value key. */
  readonly pending: Map<string, PendingRelease>
}

/**
 * The symbol under which the Redis backend carries its {@link Shared} part.
 *
 * @category symbols
 * @since 0.1.0
 */
export const SharedKey: unique symbol = Symbol.for("@dogpile-effect/redis/LockedStore")

/**
 * The {@link Shared} part of a backend, if it is the Redis one.
 *
 * @example
 * ```ts
 * // In RedisLock's `lockedMiss(backend)`: `sharedOf(backend)?.client === redis`.
 * ```
 *
 * @category getters
 * @since 0.1.0
 */
export const sharedOf = (backend: Backend["Service"]): Shared | undefined => {
  const shared = (backend as { readonly [SharedKey]?: Shared })[SharedKey]
  return shared
}

/**
 * Runs {@link STORE_RELEASE} for a pending release.
 *
 * @example
 * ```ts
 * // In RedisBackend's `set`, when `shared.pending` has the key.
 * ```
 *
 * @category constructors
 * @since 0.1.0
 */
export const storeAndRelease = (
  script: RedisScript,
  valueKey: string,
  bytes: Buffer,
  px: number | undefined,
  pending: PendingRelease
) =>
  script.run([valueKey, pending.lockKey], [bytes, px === undefined ? "" : px, pending.token, pending.channel])

/**
 * What `lockedMiss` needs of the Redis lock it is part of.
 *
 * @category models
 * @since 0.1.0
 */
export interface LockParts {
  readonly redis: RedisClient["Service"]
  /** Whether the lock names its keys itself (`lockKey` option): then no fusion. */
  readonly customNaming: boolean
  readonly keyOf: (key: CacheKey.CacheKey) => string
  readonly leaseMs: number
  /** The local stage, then `remote`; the lease when both took the lock (its release fused as `fused` says). */
  readonly take: (
    key: string,
    remote: (redisKey: string, token: string, attempt: Attempt) => Effect.Effect<boolean, BackendError>,
    fused: Fused
  ) => Effect.Effect<Option.Option<LockLease>, BackendFailure, Scope.Scope>
  /** Runs an attempt, keeping a held lock's lease for this process's next waiter. */
  readonly observed: (
    redisKey: string,
    run: Effect.Effect<LockWaiters.Check, BackendError>
  ) => Effect.Effect<LockWaiters.Check, BackendError>
}

const fallback: LockedAttempt = { _tag: "Fallback" }
const heldElsewhere: LockedAttempt = { _tag: "Held" }

/**
 * The Redis lock's `lockedMiss`: for a Redis backend over the same client
 * (and the lock's default naming), `tryAbsent` checks the value is absent
 * and takes the lock in one script; a key whose value and lock are in
 * different Cluster slots, or a hash key, answers `Fallback`.
 *
 * @example
 * ```ts
 * // Built by RedisLock.make: `lockedMiss(parts)(backend)`.
 * ```
 *
 * @category constructors
 * @since 0.1.0
 */
export const lockedMiss = (parts: LockParts) => {
  const { keyOf, leaseMs, redis } = parts
  const script = redis.script("dogpileLockTryAbsent", TRY_ABSENT, 2)

  /** The attempt; `found` learns whether the value was there. */
  const remote = (valueKey: string, found: { present: boolean }) =>
  (redisKey: string, token: string, attempt: Attempt) =>
    Effect.suspend(() => {
      attempt.uncertain = true
      const run = Effect.map(script.run([valueKey, redisKey], [token, leaseMs]), (reply) => {
        attempt.uncertain = false
        found.present = reply === PRESENT
        return reply === TAKEN || found.present ? done : heldFor(reply)
      })
      return Effect.map(parts.observed(redisKey, run), (check) => check._tag === "Done" && !found.present)
    })

  return (backend: Backend["Service"]): LockedMiss | undefined => {
    const shared = sharedOf(backend)
    if (shared === undefined || shared.client !== redis || parts.customNaming) return undefined
    const tryAbsent = (key: CacheKey.CacheKey) => {
      if (typeof key !== "string") return Effect.succeed(fallback)
      const redisKey = keyOf(key)
      if (redis.isCluster && KeySlot.slot(key) !== KeySlot.slot(redisKey)) return Effect.succeed(fallback)
      const found = { present: false }
      return Effect.map(
        parts.take(key, remote(key, found), { shared, valueKey: key }),
        (lease): LockedAttempt =>
          Option.isSome(lease) ? { _tag: "Taken", lease: lease.value } : found.present ? fallback : heldElsewhere
      )
    }
    return { tryAbsent }
  }
}
