/**
 * The core behaviour suite, unchanged, against the Redis Layer set
 * (RedisBackend + JSON codec + RedisLock on one RedisClient): on the shared
 * standalone server, and on a local 3-master cluster.
 */
import { Codec } from "@dogpile-effect/core"
import { RedisBackend, RedisClient, RedisLock } from "@dogpile-effect/redis"
import { Layer } from "effect"
import { afterAll, beforeAll, inject } from "vitest"
import { behaviourSuite } from "../../core/test/behaviour.ts"
import { type RedisCluster, startRedisCluster } from "../../../test-support/redis-server.ts"

const url = inject("redisUrl")

// The suite's layers cannot fail: a bad option or an unreachable database here is a broken test set-up.
const on = (client: () => Layer.Layer<RedisClient.RedisClient, unknown>) => () =>
  Layer.mergeAll(RedisBackend.layer(), RedisLock.layer(), Codec.layerJson).pipe(Layer.provide(client()), Layer.orDie)

behaviourSuite({ name: "redis, plain keys", layer: on(() => RedisClient.layer({ url })) })

let cluster: RedisCluster | undefined
beforeAll(async () => {
  cluster = await startRedisCluster()
})
afterAll(async () => {
  await cluster?.dispose()
})

behaviourSuite({
  name: "redis cluster (3 masters), plain keys",
  // beforeAll has started the cluster before any test builds a Layer.
  layer: on(() => RedisClient.layer({ nodes: (cluster as RedisCluster).nodes }))
})
