/**
 * The Redis key of a cache key's lock, placed in the cache key's cluster slot.
 *
 * @since 0.1.0
 */
import type { CacheKey } from "@dogpile-effect/core"
import * as KeySlot from "./KeySlot.ts"

/**
 * The Redis key of the lock for a cache key.
 *
 * - A plain key: `prefix + key`, so a `{tag}` in the key keeps the lock in the
 *   key's cluster slot.
 * - A hash key: `prefix + "{" + hash + "}" + U+0000 + field`, so the lock lives
 *   in the slot of the hash (its bucket). When the hash name has a `{tag}` of
 *   its own, that tag leads instead: `prefix + hash + U+0000 + field`. (A hash
 *   name with a `}` but no tag cannot be tagged; its lock may live elsewhere.)
 *
 * @example
 * ```ts
 * import { CacheKey } from "@dogpile-effect/core"
 * import { RedisLock } from "@dogpile-effect/redis"
 * RedisLock.lockKey("user:{42}") // "_lock:user:{42}"
 * RedisLock.lockKey(CacheKey.hash("users", "42")) // "_lock:{users}\u000042"
 * ```
 *
 * @since 0.1.0
 */
export const lockKey = (key: CacheKey.CacheKey, prefix = "_lock:"): string => {
  if (typeof key === "string") return prefix + key
  const { field, hash } = key
  if (KeySlot.tagOf(hash) === undefined && !hash.includes("}")) return `${prefix}{${hash}}\u0000${field}`
  return `${prefix}${hash}\u0000${field}`
}
