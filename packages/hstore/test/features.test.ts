/**
 * Core's features suite (tags, early refresh, own expiration, creator
 * timeouts, introspection, events) over hash buckets: HashBackend + RedisLock,
 * with hash keys and with automatic bucketing of plain keys.
 */
import { CacheKey } from "@dogpile-effect/core"
import { HashBackend } from "@dogpile-effect/hstore"
import { RedisClient, RedisLock } from "@dogpile-effect/redis"
import { Layer } from "effect"
import { inject } from "vitest"
import { regionFeatures } from "../../core/test/regionFeatures.ts"

const url = inject("redisUrl")

const layer = () => Layer.mergeAll(HashBackend.layer(), RedisLock.layer()).pipe(Layer.provide(RedisClient.layer({ url })))

regionFeatures({ name: "hstore, hash keys", layer, key: (name) => CacheKey.hash("bucket", name), xfetchPeriods: 2 })
regionFeatures({ name: "hstore, plain keys", layer, xfetchPeriods: 2 })
