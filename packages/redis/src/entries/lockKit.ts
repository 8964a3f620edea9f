/**
 * `@dogpile-effect/redis/lock-kit`: the client-agnostic parts of the Redis
 * lock and backend, shared by every adapter whatever its Redis client
 * (`RedisLock` over ioredis here, `NodeRedisLock` of
 * `@dogpile-effect/node-redis` over node-redis): option validation, the
 * lost-lock policy, lock key naming, the Lua texts, a taken lock's lease
 * (`confirm`, `confirmAndRelease`), the lease renewal loop
 * (given a function that runs the extend script), the store TTL in
 * milliseconds and the backend's in-place renewal script (`RestampLua`). Nothing reachable from this entry loads ioredis
 * (`test/LockKit.test.ts` checks the module graph). It follows the adapters'
 * needs and may change in a minor release.
 *
 * @example
 * ```ts
 * import { LockKey, LockLua } from "@dogpile-effect/redis/lock-kit"
 * LockKey.lockKey("user:42") // "_lock:user:42"
 * const release = { lua: LockLua.RELEASE, numberOfKeys: 1 }
 * ```
 *
 * @since 0.1.0
 */
export * as LockAttempt from "../LockAttempt.ts"
export * as LockKey from "../LockKey.ts"
export * as LockLua from "../LockLua.ts"
export * as LockRenewal from "../LockRenewal.ts"
export * as LockSettings from "../LockSettings.ts"
export * as LostLock from "../LostLock.ts"
export * as RedisLease from "../RedisLease.ts"
export * as RestampLua from "../RestampLua.ts"
export * as StoreTtl from "../StoreTtl.ts"
