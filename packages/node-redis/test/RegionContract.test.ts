/**
 * The region-as-a-service contract (core's `regionContract`) against
 * NodeRedisBackend + NodeRedisLock on one node-redis client; store TTLs read
 * with PTTL.
 */
import { NodeRedisBackend, NodeRedisLock } from "@dogpile-effect/node-redis"
import { Effect, Layer } from "effect"
import { createClient } from "redis"
import { afterAll, beforeAll, inject } from "vitest"
import { nodeRedis } from "./clients.ts"
import { regionContract } from "../../core/test/regionContract.ts"

const url = inject("redisUrl")
const client = createClient({ url })

beforeAll(async () => {
  await client.connect()
})
afterAll(async () => {
  await client.close()
})

regionContract({
  name: "node-redis",
  layer: () =>
    Layer.mergeAll(NodeRedisBackend.layer(), NodeRedisLock.layer()).pipe(
      Layer.provideMerge(nodeRedis(url)),
      Layer.orDie
    ),
  storeTtl: (key) => Effect.promise(() => client.pTTL(key))
})
