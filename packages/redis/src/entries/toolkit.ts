/**
 * `@dogpile-effect/redis/toolkit`: the machinery the storage adapters share,
 * for other adapters over the same `RedisClient` (`@dogpile-effect/hstore`
 * builds its reads with {@link GetBatcher}) and for measuring the near cache
 * ({@link Tracking}). Applications use the root `@dogpile-effect/redis`
 * (`RedisClient`, `RedisBackend`, `RedisLock`, `NearCache`, ...); this entry
 * point follows the adapters' needs and may change in a minor release.
 *
 * @example
 * ```ts
 * import { GetBatcher } from "@dogpile-effect/redis/toolkit"
 * ```
 *
 * @since 0.1.0
 */
export * as GetBatcher from "../GetBatcher.ts"
export * as Tracking from "../Tracking.ts"
