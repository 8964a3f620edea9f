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
import type { Backend, BackendError, CacheKey, LockedMiss, LockedOutcome, LockLease, TakenLock } from "@dogpile-effect/core"
import { Effect, Option } from "effect"
import * as KeySlot from "./KeySlot.ts"
import { type Attempt, done, type Fused, heldFor, TAKEN } from "./LockScripts.ts"
import * as LockToken from "./LockToken.ts"
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
  /** This process's per-key lock, taken without a scope (the local lock's `tryTake`): none when held. */
  readonly local: (key: string) => Effect.Effect<Option.Option<TakenLock>>
  /** Starts holding the lock `token` just took on `redisKey`, its release fused as `fused` says: the lease and its release. */
  readonly hold: (key: string, redisKey: string, token: string, fused: Fused) => Effect.Effect<TakenLock>
  /** The token-checked release of a lock the attempt may have taken (its answer never came). */
  readonly settle: (redisKey: string, token: string) => Effect.Effect<void>
  /** Runs an attempt, keeping a held lock's lease for this process's next waiter. */
  readonly observed: (
    redisKey: string,
    run: Effect.Effect<LockWaiters.Check, BackendError>
  ) => Effect.Effect<LockWaiters.Check, BackendError>
}

/** `uninterruptibleMask`'s `restore`. */
type Restore = <A, E, R>(effect: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R>

/** One fused attempt on one key, past the checks that it can go this way. */
interface Absent {
  readonly parts: LockParts
  readonly script: RedisScript
  readonly shared: Shared
  readonly key: string
  readonly redisKey: string
}

const fallbackNow: Effect.Effect<LockedOutcome> = Effect.succeed("fallback")

/**
 * The {@link TRY_ABSENT} script as a lock attempt: whether `token` took the lock; `found` learns whether
 * the value was there, `attempt` whether the answer is still out.
 */
const tryRemote = (a: Absent, token: string, attempt: Attempt, found: { present: boolean }) =>
  Effect.suspend(() => {
    attempt.uncertain = true
    const run = Effect.map(a.script.run([a.key, a.redisKey], [token, a.parts.leaseMs]), (reply) => {
      attempt.uncertain = false
      found.present = reply === PRESENT
      return reply === TAKEN || found.present ? done : heldFor(reply)
    })
    return Effect.map(a.parts.observed(a.redisKey, run), (check) => check._tag === "Done" && !found.present)
  })

/**
 * The attempt: this process's per-key lock, then the script; `create` runs under the lock when both
 * took it, and the lock is released after (the store of the value has released it in Redis already).
 */
const absent = <E, R>(a: Absent, create: (lease: LockLease) => Effect.Effect<void, E, R>) =>
  Effect.uninterruptibleMask((restore): Effect.Effect<LockedOutcome, E | BackendError, R> =>
    Effect.flatMap(a.parts.local(a.key), (local) =>
      Option.isNone(local) ? Effect.succeed("held") : remoteAbsent(a, local.value.release, restore, create))
  )

/** {@link absent} once this process's lock is taken (`releaseLocal` gives it back). */
const remoteAbsent = <E, R>(
  a: Absent,
  releaseLocal: Effect.Effect<void>,
  restore: Restore,
  create: (lease: LockLease) => Effect.Effect<void, E, R>
): Effect.Effect<LockedOutcome, E | BackendError, R> => {
  const token = LockToken.next()
  const attempt: Attempt = { uncertain: false }
  const found = { present: false }
  const tried = restore(tryRemote(a, token, attempt, found)).pipe(
    Effect.onError(() => attempt.uncertain ? Effect.andThen(a.parts.settle(a.redisKey, token), releaseLocal) : releaseLocal)
  )
  return Effect.flatMap(tried, (taken): Effect.Effect<LockedOutcome, E | BackendError, R> =>
    taken
      ? createHeld(a, token, releaseLocal, restore, create)
      : Effect.as(releaseLocal, found.present ? "fallback" : "held"))
}

/** `create` under the lock `token` took; then the lock's release (if the store has not released it), then the local one. */
const createHeld = <E, R>(
  a: Absent,
  token: string,
  releaseLocal: Effect.Effect<void>,
  restore: Restore,
  create: (lease: LockLease) => Effect.Effect<void, E, R>
): Effect.Effect<LockedOutcome, E, R> =>
  Effect.flatMap(a.parts.hold(a.key, a.redisKey, token, { shared: a.shared, valueKey: a.key }), (held) =>
    Effect.as(
      Effect.onExit(restore(create(held.lease)), () => Effect.andThen(held.release, releaseLocal)),
      "created" as const
    ))

/**
 * The Redis lock's `lockedMiss`: for a Redis backend over the same client
 * (and the lock's default naming), `tryAbsent` checks the value is absent
 * and takes the lock in one script; a key whose value and lock are in
 * different Cluster slots, or a hash key, answers `"fallback"`.
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
  const { keyOf, redis } = parts
  const script = redis.script("dogpileLockTryAbsent", TRY_ABSENT, 2)
  return (backend: Backend["Service"]): LockedMiss | undefined => {
    const shared = sharedOf(backend)
    if (shared === undefined || shared.client !== redis || parts.customNaming) return undefined
    const tryAbsent = <E, R>(key: CacheKey.CacheKey, create: (lease: LockLease) => Effect.Effect<void, E, R>) => {
      if (typeof key !== "string") return fallbackNow
      const redisKey = keyOf(key)
      if (redis.isCluster && KeySlot.slot(key) !== KeySlot.slot(redisKey)) return fallbackNow
      return absent({ parts, script, shared, key, redisKey }, create)
    }
    return { tryAbsent }
  }
}
