/**
 * @dogpile-effect/node-redis: the Backend and the distributed dogpile lock
 * over Effect's own `Redis` / `NodeRedis` services (node-redis), for
 * applications that use node-redis and no ioredis. They share keys, lock
 * names and release notifications with `@dogpile-effect/redis`.
 *
 * @since 0.1.0
 */
export * as NodeRedisBackend from "./NodeRedisBackend.ts"
export * as NodeRedisLock from "./NodeRedisLock.ts"
