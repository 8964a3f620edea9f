/**
 * Core's features suite (tags, early refresh, own expiration, creator
 * timeouts, introspection, events) against NodeRedisBackend + NodeRedisLock.
 */
import { NodeRedisBackend, NodeRedisLock } from "@dogpile-effect/node-redis"
import { Layer } from "effect"
import { inject } from "vitest"
import { nodeRedis } from "./clients.ts"
import { regionFeatures } from "../../core/test/regionFeatures.ts"

const url = inject("redisUrl")

regionFeatures({
  name: "node-redis",
  layer: () =>
    Layer.mergeAll(NodeRedisBackend.layer(), NodeRedisLock.layer()).pipe(Layer.provide(nodeRedis(url))),
  xfetchPeriods: 3
})
