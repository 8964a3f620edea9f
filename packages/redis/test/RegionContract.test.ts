/**
 * The region-as-a-service contract (core's `regionContract`) against Redis:
 * RedisBackend + RedisLock on one client; store TTLs read with PTTL.
 */
import { RedisBackend, RedisClient, RedisLock } from "@dogpile-effect/redis"
import { Effect, Layer } from "effect"
import { inject } from "vitest"
import { regionContract } from "../../core/test/regionContract.ts"

const url = inject("redisUrl")

regionContract({
  name: "redis",
  layer: () =>
    Layer.mergeAll(RedisBackend.layer(), RedisLock.layer()).pipe(
      Layer.provideMerge(RedisClient.layer({ url })),
      Layer.orDie
    ),
  storeTtl: (key) => Effect.flatMap(RedisClient.RedisClient, (redis) => redis.use("pttl", (client) => client.pttl(key)))
})
