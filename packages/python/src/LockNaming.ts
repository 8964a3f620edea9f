/**
 * The Redis keys Python's dogpile locks use, so a TypeScript creator and a
 * Python creator of the same cache key take the same lock.
 *
 * @since 0.1.0
 */
import { CacheKey } from "@dogpile-effect/core"

/**
 * The default lock prefix of `dogpile.cache.redis` (its `lock_template`
 * `"_lock{0}"`).
 *
 * @example
 * ```ts
 * import { LockNaming } from "@dogpile-effect/python"
 * console.log(LockNaming.DOGPILE_PREFIX) // "_lock"
 * ```
 *
 * @category lock keys
 * @since 0.1.0
 */
export const DOGPILE_PREFIX = "_lock"

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
 * @since 0.1.0
 */
export const dogpileRedis = (key: CacheKey.CacheKey): string => `${DOGPILE_PREFIX}${CacheKey.render(key)}`

/**
 * The lock key of `dogpile.cache.redis` given a `lock_prefix` (dogpile.cache
 * ≥ 1.5): `prefix` + the key.
 *
 * @example
 * ```ts
 * import { LockNaming } from "@dogpile-effect/python"
 * LockNaming.dogpileRedisPrefixed("_dpl.")("user:42") // "_dpl.user:42"
 * ```
 *
 * @category lock keys
 * @since 0.1.0
 */
export const dogpileRedisPrefixed = (prefix: string) => (key: CacheKey.CacheKey): string =>
  `${prefix}${CacheKey.render(key)}`

/**
 * The `lock_prefix` values dogpile.cache 1.5 accepts (its `RE_VALID_PREFIX`,
 * restricted to ASCII word characters): 2 to 10 of `A-Z a-z 0-9 _ - . :`.
 *
 * @example
 * ```ts
 * import { LockNaming } from "@dogpile-effect/python"
 * LockNaming.VALID_PREFIX.test("_lok.") // true
 * ```
 *
 * @category lock keys
 * @since 0.1.0
 */
export const VALID_PREFIX = /^[\w\-.:]{2,10}$/

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
 * @since 0.1.0
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
 * @since 0.1.0
 */
export const redisAdvanced = (prefix: string = ADVANCED_PREFIX) => (key: CacheKey.CacheKey): string =>
  typeof key === "string" ? prefix + key : `${prefix}${key.hash},${key.field}`
