/**
 * The region-as-a-service contract (core's `regionContract`) against Redis:
 * RedisBackend + RedisLock on one client; store TTLs read with PTTL.
 */
import { RedisBackend, RedisClient, RedisLock } from "@dogpile-effect/redis"
import { Effect, Layer } from "effect"
import { Redis } from "ioredis"
import { afterAll, inject } from "vitest"
import { regionContract } from "../../core/test/regionContract.ts"

const url = inject("redisUrl")
const client = new Redis(url)

regionContract({
  name: "redis",
  layer: () =>
    Layer.mergeAll(RedisBackend.layer(), RedisLock.layer()).pipe(
      Layer.provideMerge(RedisClient.layer({ url })),
      Layer.orDie
    ),
  storeTtl: (key) => Effect.promise(() => client.pttl(key))
})

afterAll(async () => {
  await client.quit()
})
