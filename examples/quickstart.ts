import { Region } from "@dogpile-effect/core"
import { RedisBackend, RedisClient, RedisLock } from "@dogpile-effect/redis"
import { Effect, Layer, Schema } from "effect"

const User = Schema.Struct({ id: Schema.Number, name: Schema.String })
const fetchUser = (id: number) => Effect.succeed({ id, name: `user ${id}` }) // your slow lookup

// A region is a service: declared once, with its Schema and options, built by its Layer.
class Users extends Region.Service<Users>()("app/Users", {
  name: "users",
  schema: User,
  expiration: "10 minutes" // fresh for 10 minutes; Redis keeps it 20 (the stale window), then drops it
}) {}

const program = Effect.gen(function*() {
  const users = yield* Users
  // 1,000 concurrent callers, one creator run (across processes too), everyone gets the value.
  const all = yield* Effect.forEach(Array.from({ length: 1000 }, () => 42), (id) =>
    users.getOrCreate(`user:${id}`, fetchUser(id)), { concurrency: "unbounded" })
  yield* Effect.log(`${all.length} callers got ${all[0]?.name}`)
})

const RedisLive = Layer.mergeAll(RedisBackend.layer(), RedisLock.layer()).pipe(
  Layer.provide(RedisClient.layerConfig()) // REDIS_URL, password kept Redacted
)
const UsersLive = Users.layer.pipe(Layer.provide(RedisLive))

Effect.runPromise(program.pipe(Effect.provide(UsersLive)))
