/**
 * The core behaviour suite, unchanged, against the node-redis Layer set
 * (NodeRedisBackend + JSON codec + NodeRedisLock over Effect's NodeRedis), on
 * the project's redis-server: the same suite the ioredis packages pass.
 */
import { Codec } from "@dogpile-effect/core"
import { NodeRedisBackend, NodeRedisLock } from "@dogpile-effect/node-redis"
import { Layer } from "effect"
import { inject } from "vitest"
import { nodeRedis } from "./clients.ts"
import { behaviourSuite } from "../../core/test/behaviour.ts"

const url = inject("redisUrl")

behaviourSuite({
  name: "node-redis, plain keys",
  // The suite's layers cannot fail: a bad option or an unreachable server here is a broken test set-up.
  layer: () =>
    Layer.mergeAll(NodeRedisBackend.layer(), NodeRedisLock.layer(), Codec.layerJson).pipe(
      Layer.provide(nodeRedis(url)),
      Layer.orDie
    )
})
