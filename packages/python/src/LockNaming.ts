/**
 * The Redis keys Python's dogpile locks use, so a TypeScript creator and a
 * Python creator of the same cache key take the same lock.
 *
 * @since 0.2.0
 */
import { CacheKey } from "@dogpile-effect/core"

/**
 * The lock key of `dogpile.cache.redis` (`distributed_lock=True`):
 * `"_lock{0}".format(key)`, that is `_lock` + the key, no separator. Hash
 * keys do not exist in that backend; they render as `hash` U+0000 `field`.
 *
 * @example
 * ```ts
 * import { LockNaming } from "@dogpile-effect/python"
 * LockNaming.dogpileRedis("user:42") // "_lock" + "user:42"
 * ```
 *
 * @category lock keys
 * @since 0.2.0
 */
export const dogpileRedis = (key: CacheKey.CacheKey): string => `_lock${CacheKey.render(key)}`

/**
 * The default `lock_prefix` of dogpile_backend_redis_advanced 0.5.0.
 *
 * @example
 * ```ts
 * import { LockNaming } from "@dogpile-effect/python"
 * console.log(LockNaming.ADVANCED_PREFIX) // "_lok."
 * ```
 *
 * @category lock keys
 * @since 0.2.0
 */
export const ADVANCED_PREFIX = "_lok."

/**
 * The lock key of dogpile_backend_redis_advanced (and its hstore backend):
 * `prefix` + key for a plain key, `prefix` + `hash,field` for a hash key
 * (the plugin's tuple keys `(hash, field)`).
 *
 * @example
 * ```ts
 * import { CacheKey } from "@dogpile-effect/core"
 * import { LockNaming } from "@dogpile-effect/python"
 * const lockKey = LockNaming.redisAdvanced() // prefix "_lok."
 * lockKey(CacheKey.hash("user-15", "posts")) // "_lok.user-15,posts"
 * ```
 *
 * @category lock keys
 * @since 0.2.0
 */
export const redisAdvanced = (prefix: string = ADVANCED_PREFIX) => (key: CacheKey.CacheKey): string =>
  typeof key === "string" ? prefix + key : `${prefix}${key.hash},${key.field}`
