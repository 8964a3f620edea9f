import { Codec, Region } from "@dogpile-effect/core"
import { RedisBackend, RedisClient, RedisLock } from "@dogpile-effect/redis"
import { Effect, Layer } from "effect"

interface User { readonly id: number; readonly name: string }
const fetchUser = (id: number) => Effect.succeed<User>({ id, name: `user ${id}` }) // your slow lookup

const program = Effect.gen(function*() {
  const users = yield* Region.make<User>({ name: "users", namespace: "users", expiration: "10 minutes" })
  // 1,000 concurrent callers, one creator run (across processes too), everyone gets the value.
  const all = yield* Effect.forEach(Array.from({ length: 1000 }, () => 42), (id) =>
    users.getOrCreate(`user:${id}`, fetchUser(id)), { concurrency: "unbounded" })
  yield* Effect.log(`${all.length} callers got ${all[0]?.name}`)
})

const CacheLive = Layer.mergeAll(RedisBackend.layer(), RedisLock.layer(), Codec.layerJson).pipe(
  Layer.provide(RedisClient.layerConfig()) // REDIS_URL, password kept Redacted
)

Effect.runPromise(program.pipe(Effect.scoped, Effect.provide(CacheLive)))
