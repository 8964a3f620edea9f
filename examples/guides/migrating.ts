/**
 * docs/guides/migrating.md: the same cache written with Effect's `Cache`,
 * with bentocache, and with a dogpile-effect region. Each "before" runs as
 * it is; the region runs here on `MemoryBackend` (in an application: on
 * Redis, see examples/quickstart.ts). It prints the three results.
 *
 *   node --import tsx --conditions=@dogpile-effect/source examples/guides/migrating.ts
 */
import { CachedFunction, Lock, MemoryBackend, Region } from "@dogpile-effect/core"
import { BentoCache, bentostore } from "bentocache"
import { memoryDriver } from "bentocache/drivers/memory"
import { Cache, Effect, Layer, Schema } from "effect"

const User = Schema.Struct({ id: Schema.Number, name: Schema.String })
type User = typeof User.Type

/** The slow lookup being cached. */
const findUser = (id: number): Effect.Effect<User> => Effect.succeed({ id, name: `user ${id}` })

// ---- before: Effect's Cache (one process, in memory) ---------------------------------------------

const withEffectCache = Effect.gen(function*() {
  const users = yield* Cache.make({ lookup: findUser, capacity: 10_000, timeToLive: "10 minutes" })
  return yield* Cache.get(users, 42)
})

// ---- before: bentocache (memory tier; a Redis tier is one more store) ------------------------------

const bento = new BentoCache({
  default: "memory",
  stores: { memory: bentostore().useL1Layer(memoryDriver({ maxItems: 10_000 })) }
})

const withBentocache = Effect.promise(() =>
  bento.namespace("users").getOrSet({
    key: "user:42",
    factory: () => Effect.runPromise(findUser(42)),
    ttl: "10m",
    grace: "6h", // serve the old value for 6 h when the factory fails
    timeout: "200ms", // soft timeout: after 200 ms, serve the old value if there is one
    hardTimeout: "2s",
    tags: ["team:7"]
  })
)

// ---- after: a region ---------------------------------------------------------------------------

class Users extends Region.Service<Users>()("app/Users", {
  name: "users", // bentocache's namespace; also the key prefix (users:user:42)
  schema: User, // values are checked on read: a value that no longer matches is a miss
  expiration: "10 minutes", // Cache's timeToLive, bentocache's ttl
  storeTtl: "6 hours", // how long Redis keeps the value: the stale (grace) window
  staleIfError: true, // bentocache's grace: a failing creator serves the stale value
  softTimeout: "200 millis", // bentocache's timeout: after 200 ms a caller gets the stale value
  hardTimeout: "2 seconds" // bentocache's hardTimeout: the creator is interrupted
}) {}

const withRegion = Effect.gen(function*() {
  const users = yield* Users
  // Cache.get(users, 42) / bento.getOrSet({ key, factory }): the key is a string, the creator an Effect.
  const user = yield* users.getOrCreate("user:42", findUser(42), { tags: ["team:7"] })
  // bento.deleteByTag({ tags: ["team:7"] }) / Cache.invalidate(users, 42)
  yield* users.invalidateTags(["team:7"])
  yield* users.delete("user:42")
  return user
})

/** Closest to Cache.make({ lookup }): a function whose calls go through the region. */
export const cachedFindUser = Effect.map(Users, (users) => CachedFunction.cached(users, findUser, { namespace: "findUser" }))

const UsersLive = Users.layer.pipe(Layer.provide(Layer.mergeAll(MemoryBackend.layer(), Lock.layerLocal)))

const program = Effect.gen(function*() {
  const a = yield* withEffectCache
  const b = yield* withBentocache
  const c = yield* withRegion
  const viaFunction = yield* Effect.flatMap(cachedFindUser, (find) => find(42))
  yield* Effect.log(`migrating: Cache ${a.name}, bentocache ${b.name}, region ${c.name}, cached function ${viaFunction.name}`)
})

Effect.runPromise(program.pipe(Effect.provide(UsersLive))).finally(() => bento.disconnect())
