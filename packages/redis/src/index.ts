/**
 * @dogpile-effect/redis: the Redis client, backend and distributed dogpile lock.
 *
 * @since 0.1.0
 */
export * as RedisClient from "./RedisClient.ts"
export * as KeySlot from "./KeySlot.ts"
export * as RedisBackend from "./RedisBackend.ts"
export * as GetBatcher from "./GetBatcher.ts"
export * as RedisLock from "./RedisLock.ts"
export * as ClusterTracking from "./ClusterTracking.ts"
export * as NearCache from "./NearCache.ts"
export * as NearCacheMetrics from "./NearCacheMetrics.ts"
export * as LoopTurn from "./LoopTurn.ts"
export * as NearStore from "./NearStore.ts"
export * as Tracking from "./Tracking.ts"
export * as ServerSilence from "./ServerSilence.ts"
