/**
 * docs/guides/node-redis.md: a region on Effect's own node-redis client
 * (`NodeRedis` from @effect/platform-node), no ioredis. Run against the Redis
 * in REDIS_URL:
 *
 *   node --import tsx --conditions=@dogpile-effect/source examples/guides/node-redis.ts
 *
 * It prints how many callers got the value, how many times the creator ran,
 * and a counter the application keeps with the same client.
 */
import { Region } from "@dogpile-effect/core"
import { NodeRedisBackend, NodeRedisLock } from "@dogpile-effect/node-redis"
import { NodeRedis } from "@effect/platform-node"
import { Config, Effect, Layer, Schema } from "effect"
import { Redis } from "effect/persistence/Redis"

const User = Schema.Struct({ id: Schema.Number, name: Schema.String })
let creatorRuns = 0
const fetchUser = (id: number) =>
  Effect.sync(() => {
    creatorRuns++
    return { id, name: `user ${id}` }
  }).pipe(Effect.delay("50 millis")) // your slow lookup

class Users extends Region.Service<Users>()("app/Users", {
  name: "users",
  namespace: `guide-node-redis-${process.pid}`,
  schema: User,
  expiration: "10 minutes"
}) {}

// One node-redis client, configured through Config; it provides Effect's `Redis` and `NodeRedis`.
const RedisLive = NodeRedis.layerConfig({ url: Config.String("REDIS_URL") })

// The region's storage and dogpile lock on that client.
const CacheLive = Layer.mergeAll(NodeRedisBackend.layer(), NodeRedisLock.layer()).pipe(
  Layer.provide(RedisLive)
)

const program = Effect.gen(function*() {
  const users = yield* Users
  // 1,000 concurrent callers, one creator run (across processes too, ioredis ones included).
  const all = yield* Effect.forEach(Array.from({ length: 1000 }, () => 42), (id) =>
    users.getOrCreate(`user:${id}`, fetchUser(id)), { concurrency: "unbounded" })
  // The application's own commands go through the same client.
  const redis = yield* Redis
  const visits = yield* redis.send<number>("INCR", `guide-node-redis-${process.pid}:visits`)
  yield* Effect.log(`node-redis: ${all.length} callers got ${all[0]?.name}, ${creatorRuns} creator run, visits ${visits}`)
})

const AppLive = Layer.merge(Users.layer.pipe(Layer.provide(CacheLive)), RedisLive)

Effect.runPromise(program.pipe(Effect.provide(AppLive)))
