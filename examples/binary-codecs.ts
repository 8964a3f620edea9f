/**
 * MessagePack and CBOR regions on the Redis in REDIS_URL, importing the codecs
 * from their bundler-friendly entry points (`@dogpile-effect/codecs/msgpack`,
 * `@dogpile-effect/codecs/cbor`): an esbuild bundle of this file carries
 * msgpackr and cbor-x and runs without a node_modules beside it.
 * `packages/codecs/test/bundle.test.ts` bundles it and checks its output line.
 */
import { Cbor } from "@dogpile-effect/codecs/cbor"
import { Msgpack } from "@dogpile-effect/codecs/msgpack"
import { Region } from "@dogpile-effect/core"
import { RedisBackend, RedisClient, RedisLock } from "@dogpile-effect/redis"
import { Effect, Layer, Option, Schema } from "effect"

const Session = Schema.Struct({ user: Schema.Number, roles: Schema.Array(Schema.String) })

// MessagePack: compact, and the bytes Python's msgpack.packb writes for the same data.
class Sessions extends Region.Service<Sessions>()("app/Sessions", {
  name: "sessions",
  namespace: `sessions-${process.pid}`,
  schema: Session,
  codec: Msgpack.codec,
  expiration: "10 minutes"
}) {}

// CBOR: stores what JSON cannot (BigInt, Map, Date) as they are.
const Ledger = Schema.ReadonlyMap(Schema.String, Schema.BigInt)

class Ledgers extends Region.Service<Ledgers>()("app/Ledgers", {
  name: "ledgers",
  namespace: `ledgers-${process.pid}`,
  schema: Ledger,
  codec: Cbor.codec,
  expiration: "10 minutes"
}) {}

const program = Effect.gen(function*() {
  const sessions = yield* Sessions
  const ledgers = yield* Ledgers
  yield* sessions.set("s:1", { user: 7, roles: ["admin", "ops"] })
  const ledger = new Map<string, bigint>([["alice", 2n ** 70n], ["bob", -5n]])
  yield* ledgers.set("l:1", ledger)
  const session = yield* sessions.get("s:1")
  const stored = yield* ledgers.get("l:1")
  const balance = Option.map(stored, (value) => value.get("alice"))
  yield* Effect.log(
    `binary codecs: msgpack ${JSON.stringify(Option.getOrNull(session))}, cbor alice=${Option.getOrNull(balance)}`
  )
  yield* sessions.delete("s:1")
  yield* ledgers.delete("l:1")
})

const RedisLive = Layer.mergeAll(RedisBackend.layer(), RedisLock.layer()).pipe(
  Layer.provide(RedisClient.layerConfig())
)

Effect.runPromise(
  program.pipe(Effect.provide(Layer.mergeAll(Sessions.layer, Ledgers.layer).pipe(Layer.provide(RedisLive))))
)
