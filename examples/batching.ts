/**
 * Request batching with a cache in between: `RegionResolver.make` wraps a
 * batched `RequestResolver` (one query for many ids) so that each request is
 * answered from a region when its key is fresh, and the rest still go to the
 * database together, in one query. `docs/guides/batching.md` walks through it.
 *
 *   REDIS_URL=redis://127.0.0.1:6379 pnpm exec tsx --conditions=@dogpile-effect/source examples/batching.ts
 */
import { Region, RegionResolver } from "@dogpile-effect/core"
import { RedisBackend, RedisClient, RedisLock } from "@dogpile-effect/redis"
import { Context, Effect, Exit, Layer, Request, RequestResolver, Schema } from "effect"

// 1. The request and the batched resolver, as for any Effect data source.
class UserNotFound extends Schema.TaggedError<UserNotFound>()("UserNotFound", { id: Schema.Number }) {}

interface GetUser extends Request.Request<string, UserNotFound> {
  readonly _tag: "GetUser"
  readonly id: number
}
const GetUser = Request.tagged<GetUser>("GetUser")

const queries: Array<number> = [] // the size of each query the database receives

const UsersById = RequestResolver.make<GetUser>((entries) =>
  Effect.sync(() => {
    queries.push(entries.length) // SELECT id, name FROM users WHERE id IN (...)
    for (const entry of entries) {
      const id = entry.request.id
      entry.completeUnsafe(id > 0 ? Exit.succeed(`user ${id}`) : Exit.fail(new UserNotFound({ id })))
    }
  })
)

// 2. A region for the values, and the cached resolver as a service.
class Users extends Region.Service<Users>()("app/Users", {
  name: "users",
  schema: Schema.String,
  expiration: "10 minutes"
}) {}

class UserLookup extends Context.Service<UserLookup, RequestResolver.RequestResolver<GetUser>>()("app/UserLookup") {
  static readonly layer = Layer.effect(
    UserLookup,
    Effect.gen(function*() {
      return yield* RegionResolver.make(yield* Users, UsersById, { key: (request) => `user:${request.id}` })
    })
  )
}

// 3. Callers use `Effect.request` as before: concurrent requests still form one batch.
const getUser = Effect.fn("getUser")(function*(id: number) {
  return yield* Effect.request(GetUser({ id }), yield* UserLookup)
})

const round = (label: string, ids: ReadonlyArray<number>) =>
  Effect.gen(function*() {
    const before = queries.length
    const users = yield* Effect.forEach(ids, getUser, { concurrency: "unbounded" })
    const sizes = queries.slice(before)
    yield* Effect.log(`${label}: ${users.length} users, ${sizes.length} queries (${sizes.join(", ") || "none"})`)
  })

const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i)

const program = Effect.gen(function*() {
  const users = yield* Users
  yield* users.deleteMany(range(1, 550).map((id) => `user:${id}`)) // start cold
  yield* round("cold", range(1, 500)) // cold: 500 users, 1 queries (500)
  yield* round("warm", range(1, 500)) // warm: 500 users, 0 queries (none)
  yield* round("half", range(451, 550)) // half: 100 users, 1 queries (50)
  const missing = yield* Effect.flip(getUser(-1))
  // Failures reach their caller, typed, and are not stored: "missing: UserNotFound, cached: false"
  yield* Effect.log(`missing: ${missing._tag}, cached: ${yield* users.has("user:-1")}`)
})

const RedisLive = Layer.mergeAll(RedisBackend.layer(), RedisLock.layer()).pipe(Layer.provide(RedisClient.layerConfig()))
const MainLive = UserLookup.layer.pipe(Layer.provideMerge(Users.layer), Layer.provide(RedisLive))

Effect.runPromise(program.pipe(Effect.provide(MainLive)))
