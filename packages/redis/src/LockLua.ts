/**
 * The Lua texts of the Redis lock protocol, for any client (ioredis's
 * `defineCommand`, Effect's `Redis.script`): every lock that shares a server
 * runs the same scripts, so they lock each other out. Each touches only
 * `KEYS[1]`, the lock key.
 *
 * @since 0.1.0
 */

/**
 * Deletes the lock if it still holds our token, and announces the release.
 * `KEYS[1]` the lock key; `ARGV` token, channel; answers 1 when released, 0
 * when the key held another token (or none).
 *
 * @example
 * ```ts
 * import { LockLua } from "@dogpile-effect/redis/lock-kit"
 * const release = { lua: LockLua.RELEASE, numberOfKeys: 1 }
 * ```
 *
 * @since 0.1.0
 */
export const RELEASE = `
if redis.call("GET", KEYS[1]) == ARGV[1] then
  redis.call("DEL", KEYS[1])
  redis.call("PUBLISH", ARGV[2], KEYS[1])
  return 1
end
return 0`

/**
 * Takes the lock (`SET NX PX`), or answers how long the holder's lease has
 * left: {@link TAKEN} when taken, else the key's PTTL (-1: a key without a
 * TTL). `KEYS[1]` the lock key; `ARGV` token, lease in ms.
 *
 * @example
 * ```ts
 * import { LockLua } from "@dogpile-effect/redis/lock-kit"
 * const tryLock = { lua: LockLua.TRY, numberOfKeys: 1 }
 * ```
 *
 * @since 0.1.0
 */
export const TRY = `
if redis.call("SET", KEYS[1], ARGV[1], "NX", "PX", ARGV[2]) then
  return -3
end
return redis.call("PTTL", KEYS[1])`

/**
 * The answer of {@link TRY} when it took the lock.
 *
 * @example
 * ```ts
 * import { LockLua } from "@dogpile-effect/redis/lock-kit"
 * const taken = (reply: unknown) => reply === LockLua.TAKEN
 * ```
 *
 * @since 0.1.0
 */
export const TAKEN = -3

/**
 * Extends the lock's TTL if it still holds our token. `KEYS[1]` the lock
 * key; `ARGV` token, lease in ms; answers 1 when extended, 0 otherwise.
 *
 * @example
 * ```ts
 * import { LockLua } from "@dogpile-effect/redis/lock-kit"
 * const extend = { lua: LockLua.EXTEND, numberOfKeys: 1 }
 * ```
 *
 * @since 0.1.0
 */
export const EXTEND = `
if redis.call("GET", KEYS[1]) == ARGV[1] then
  return redis.call("PEXPIRE", KEYS[1], ARGV[2])
end
return 0`
