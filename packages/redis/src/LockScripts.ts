/**
 * The Lua scripts of the Redis lock, and what their answers mean. Each
 * touches only the keys it is given.
 *
 * @since 0.4.0
 */
import type * as LockedStore from "./LockedStore.ts"
import type * as LockWaiters from "./LockWaiters.ts"

/**
 * A lock attempt whose outcome is not known yet: sent, but neither "taken"
 * nor "not taken" has come back (a timeout, a dropped connection, an
 * interruption); its token must then be released.
 *
 * @category models
 * @since 0.4.0
 */
export interface Attempt {
  uncertain: boolean
}

/**
 * A lock taken through the backend fusion: its value's key, and where its
 * release waits for the store.
 *
 * @category models
 * @since 0.4.0
 */
export interface Fused {
  readonly shared: LockedStore.Shared
  readonly valueKey: string
}

/** Deletes the lock if it still holds our token, and announces the release. */
export const RELEASE = `
if redis.call("GET", KEYS[1]) == ARGV[1] then
  redis.call("DEL", KEYS[1])
  redis.call("PUBLISH", ARGV[2], KEYS[1])
  return 1
end
return 0`

/**
 * Takes the lock (`SET NX PX`), or answers how long the holder's lease has
 * left: -3 when taken, else the key's PTTL (-1: a key without a TTL).
 */
export const TRY = `
if redis.call("SET", KEYS[1], ARGV[1], "NX", "PX", ARGV[2]) then
  return -3
end
return redis.call("PTTL", KEYS[1])`

/** The answer of {@link TRY} when it took the lock. */
export const TAKEN = -3

/** Extends the lock's TTL if it still holds our token. */
export const EXTEND = `
if redis.call("GET", KEYS[1]) == ARGV[1] then
  return redis.call("PEXPIRE", KEYS[1], ARGV[2])
end
return 0`

/** A check that found the lock taken or free. */
export const done: LockWaiters.Check = { _tag: "Done" }

/** A held lock whose key's PTTL is `pttl` (-1: no TTL, its lease unknown; -2: gone, i.e. free). */
export const heldFor = (pttl: unknown): LockWaiters.Check =>
  pttl === -2
    ? done
    : { _tag: "Held", leaseMs: typeof pttl === "number" && pttl >= 0 ? pttl : undefined }

