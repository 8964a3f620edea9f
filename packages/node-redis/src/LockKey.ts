/**
 * The Redis key of a cache key's lock: the same names `RedisLock` of
 * `@dogpile-effect/redis` uses, so a node-redis process and an ioredis process
 * lock each other out on one server. Written here rather than imported: the
 * redis package's entry point loads ioredis, which a node-redis app does not
 * install.
 *
 * @since 0.1.0
 */
import type { CacheKey } from "@dogpile-effect/core"

/** Whether `name` has a non-empty `{tag}` (Redis Cluster's hash-tag rule: the first `{`, the next `}`). */
const hasTag = (name: string): boolean => {
  const open = name.indexOf("{")
  if (open === -1) return false
  const close = name.indexOf("}", open + 1)
  return close > open + 1
}

/**
 * The Redis key of the lock for a cache key.
 *
 * - A plain key: `prefix + key` (a `{tag}` in the key keeps the lock in the
 *   key's cluster slot).
 * - A hash key: `prefix + "{" + hash + "}" + U+0000 + field`, in the slot of
 *   the hash; when the hash name has a `{tag}` of its own (or a `}` that
 *   cannot be wrapped), `prefix + hash + U+0000 + field`.
 *
 * @example
 * ```ts
 * import { CacheKey } from "@dogpile-effect/core"
 * import { NodeRedisLock } from "@dogpile-effect/node-redis"
 * NodeRedisLock.lockKey("user:{42}") // "_lock:user:{42}"
 * NodeRedisLock.lockKey(CacheKey.hash("users", "42")) // "_lock:{users}\u000042"
 * ```
 *
 * @since 0.1.0
 */
export const lockKey = (key: CacheKey.CacheKey, prefix = "_lock:"): string => {
  if (typeof key === "string") return prefix + key
  const { field, hash } = key
  if (!hasTag(hash) && !hash.includes("}")) return `${prefix}{${hash}}\u0000${field}`
  return `${prefix}${hash}\u0000${field}`
}
