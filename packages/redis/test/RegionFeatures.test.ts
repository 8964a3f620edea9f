/**
 * Core's features suite (tags, early refresh, own expiration, creator
 * timeouts, introspection, events) against Redis: RedisBackend + RedisLock.
 */
import { RedisBackend, RedisClient, RedisLock } from "@dogpile-effect/redis"
import { Layer } from "effect"
import { inject } from "vitest"
import { regionFeatures } from "../../core/test/regionFeatures.ts"

const url = inject("redisUrl")

regionFeatures({
  name: "redis",
  layer: () => Layer.mergeAll(RedisBackend.layer(), RedisLock.layer()).pipe(Layer.provide(RedisClient.layer({ url }))),
  xfetchPeriods: 3
})
