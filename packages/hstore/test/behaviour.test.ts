/**
 * The core behaviour suite, unchanged, against HashBackend + RedisLock + JSON
 * on one RedisClient, with hash-addressed keys (and plain keys, which the hash
 * backend stores as strings): on the shared standalone server and on a local
 * 3-master cluster.
 */
import { CacheKey, Codec } from "@dogpile-effect/core"
import { HashBackend, HashExpiry } from "@dogpile-effect/hstore"
import { RedisClient, RedisLock } from "@dogpile-effect/redis"
import { Layer } from "effect"
import { afterAll, beforeAll, inject } from "vitest"
import { behaviourSuite } from "../../core/test/behaviour.ts"
import { type RedisCluster, startRedisCluster } from "../../../test-support/redis-server.ts"

const url = inject("redisUrl")

// The suite takes Layers that cannot fail: a bad option here is a bug in this file, so it dies.
const on = (client: () => Layer.Layer<RedisClient.RedisClient, unknown>, options: HashBackend.HashBackendOptions = {}) => () =>
  Layer.mergeAll(HashBackend.layer(options), RedisLock.layer(), Codec.layerJson).pipe(Layer.provide(client()), Layer.orDie)

const standalone = () => RedisClient.layer({ url })
const inBucket = (name: string) => CacheKey.hash("bucket", name)

behaviourSuite({ name: "hstore, hash keys", layer: on(standalone), key: inBucket })
behaviourSuite({ name: "hstore, plain keys", layer: on(standalone) })
behaviourSuite({
  name: "hstore, hash keys, entry expiry on (age limit: the store TTL) and hash expiry on create",
  layer: on(standalone, { entryExpiry: {}, hashExpiry: HashExpiry.onCreate("1 hour") }),
  key: inBucket
})

let cluster: RedisCluster | undefined
beforeAll(async () => {
  cluster = await startRedisCluster()
})
afterAll(async () => {
  await cluster?.dispose()
})

behaviourSuite({
  name: "hstore on a 3-master cluster, hash keys",
  // beforeAll has started the cluster before any test builds a Layer.
  layer: on(() => RedisClient.layer({ nodes: (cluster as RedisCluster).nodes })),
  key: inBucket
})
