/**
 * @dogpile-effect/redis: the Redis client, backend and distributed dogpile
 * lock, and the near cache over them. The machinery other storage adapters
 * share is in `@dogpile-effect/redis/toolkit`.
 *
 * @since 0.1.0
 */
export * as RedisClient from "./RedisClient.ts"
export * as RedisBackend from "./RedisBackend.ts"
export * as RedisLock from "./RedisLock.ts"
export * as NearCache from "./NearCache.ts"
export * as RedisStorage from "./RedisStorage.ts"
export * as NearCacheMetrics from "./NearCacheMetrics.ts"
export * as KeySlot from "./KeySlot.ts"
