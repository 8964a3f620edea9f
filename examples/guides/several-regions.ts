/**
 * docs/guides/several-regions.md: three regions on one Redis, each with its
 * own storage, over one shared client. Run against the Redis in REDIS_URL:
 *
 *   node --import tsx --conditions=@dogpile-effect/source examples/guides/several-regions.ts
 *
 * It prints one line per region and the number of connections this process
 * holds (`CLIENT LIST`, by the connection name set below).
 */
import { Region } from "@dogpile-effect/core"
import { HashStorage } from "@dogpile-effect/hstore"
import { RedisClient, RedisLock, RedisStorage } from "@dogpile-effect/redis"
import { Config, Effect, Layer, Schema } from "effect"

const connectionName = `guide-regions-${process.pid}`

// ---- the regions: declared once, with their Schema, options and storage -----------------------

const User = Schema.Struct({ id: Schema.Number, name: Schema.String })

/** Read on every request: served from process memory (near cache) over plain Redis keys. */
class Users extends Region.Service<Users>()("app/Users", {
  name: "users",
  namespace: `users-${process.pid}`,
  schema: User,
  expiration: "10 minutes",
  storage: RedisStorage.near({ maxEntries: 10_000 })
}) {}

/** Written often, read once or twice: plain Redis keys, no local copy. */
class Sessions extends Region.Service<Sessions>()("app/Sessions", {
  name: "sessions",
  namespace: `sessions-${process.pid}`,
  schema: Schema.Struct({ user: Schema.Number }),
  expiration: "30 minutes",
  storage: RedisStorage.plain()
}) {}

/** Millions of tiny values: fields of Redis hashes, keys `…:<id>` grouped 100 to a hash by their number. */
class Prices extends Region.Service<Prices>()("app/Prices", {
  name: "prices",
  namespace: `prices-${process.pid}`,
  schema: Schema.Number,
  expiration: "1 hour",
  storage: HashStorage.storage({ bucketing: { by: "id" } })
}) {}

// ---- what they share: one client, one lock ------------------------------------------------------

/** One client for every region and the lock: REDIS_URL etc., plus a connection name. */
const RedisLive = RedisClient.layerConfig({ ...RedisClient.defaultConfig, connectionName: Config.succeed(connectionName) })

/** One lock for every region: lock keys carry the region's namespace. */
const LockLive = RedisLock.layer()

/** Each region builds its own storage over the client below; the client and the lock are built once. */
export const AppLive = Layer.mergeAll(Users.layer, Sessions.layer, Prices.layer).pipe(
  Layer.provide(LockLive),
  Layer.provideMerge(RedisLive)
)

// ---- using them ---------------------------------------------------------------------------------

const program = Effect.gen(function*() {
  const users = yield* Users
  const sessions = yield* Sessions
  const prices = yield* Prices
  const user = yield* users.getOrCreate("user:42", Effect.succeed({ id: 42, name: "Ada" }))
  yield* sessions.set("s:1", { user: user.id })
  const price = yield* prices.getOrCreate("4217", Effect.succeed(9.99))
  yield* Effect.log(`regions: users ${user.name}, sessions ${yield* sessions.has("s:1")}, prices ${price}`)

  const redis = yield* RedisClient.RedisClient
  const list = yield* redis.use("client", (client) => client.call("CLIENT", "LIST") as Promise<string>)
  const mine = list.split("\n").filter((line) => line.includes(`name=${connectionName}`)).length
  yield* Effect.log(`regions: 3 regions, ${mine} connections`)
  yield* Effect.forEach([users.delete("user:42"), sessions.delete("s:1"), prices.delete("4217")], (e) => e)
})

Effect.runPromise(program.pipe(Effect.provide(AppLive)))
