/**
 * What a region does beyond dogpile, against the Redis in REDIS_URL: tags, a
 * value's own expiration, creator timeouts, early refresh, introspection and
 * events. Each step prints one line; `packages/redis/test/examples.test.ts`
 * runs this file and checks them.
 */
import { CreatorTimeoutError, EntryMeta, Region } from "@dogpile-effect/core"
import { RedisBackend, RedisClient, RedisLock } from "@dogpile-effect/redis"
import { Effect, Fiber, Layer, Option, Schema, Stream } from "effect"

const Product = Schema.Struct({ id: Schema.Number, price: Schema.Number })

class Products extends Region.Service<Products>()("app/Products", {
  name: "products",
  namespace: `products-${process.pid}`,
  schema: Product,
  expiration: "2 seconds",
  earlyRefresh: true, // XFetch: a hot key is refreshed by one reader shortly before it expires
  hardTimeout: "1 second" // a creator never holds the lock longer than this
}) {}

const program = Effect.gen(function*() {
  const products = yield* Products
  const events = yield* products.subscribe
  const seen = yield* Effect.forkChild(Stream.runCollect(Stream.take(events, 3)))

  // Tags: one write per tag invalidates every entry that carries it, in every process.
  yield* products.getOrCreate("p:1", Effect.succeed({ id: 1, price: 10 }), { tags: ["catalog", "vendor:7"] })
  yield* products.getOrCreate("p:2", Effect.succeed({ id: 2, price: 20 }), { tags: ["catalog"] })
  yield* Effect.sleep("5 millis")
  yield* products.invalidateTags(["vendor:7"], { hard: true })
  const p1 = yield* products.get("p:1")
  const p2 = yield* products.get("p:2")
  yield* Effect.log(`tags: p:1 ${Option.isSome(p1) ? "kept" : "invalidated"}, p:2 ${Option.isSome(p2) ? "kept" : "invalidated"}`)

  // A value's own expiration, e.g. from an HTTP Cache-Control header.
  yield* products.getOrCreate("p:3", Effect.succeed(EntryMeta.expiresIn({ id: 3, price: 30 }, "100 millis")))
  const info = yield* products.inspect("p:3")
  yield* Effect.log(`own expiration: expires ${Option.match(info, { onNone: () => "?", onSome: (i) => `${(i.expiresAt ?? 0) - (i.createdAt ?? 0)} ms` })} after creation`)

  // A hard timeout: the creator is interrupted, nothing is stored, the lock is free again.
  const slow = yield* Effect.flip(products.getOrCreate("p:4", Effect.as(Effect.sleep("5 seconds"), { id: 4, price: 40 })))
  const lock = yield* products.lockStatus("p:4")
  yield* Effect.log(`hard timeout: ${slow instanceof CreatorTimeoutError ? "CreatorTimeoutError" : slow._tag}, lock ${lock._tag}`)

  // Early refresh: reading a hot key for three expiry periods never waits for its creator.
  let creations = 0
  let slowest = 0
  const creator = Effect.as(Effect.andThen(Effect.sync(() => creations++), Effect.sleep("100 millis")), { id: 5, price: 50 })
  yield* products.getOrCreate("p:5", creator) // the cold read: it waits for the first creation
  const until = Date.now() + 6000
  while (Date.now() < until) {
    const start = performance.now()
    yield* products.getOrCreate("p:5", creator)
    slowest = Math.max(slowest, performance.now() - start)
    yield* Effect.sleep("2 millis")
  }
  yield* Effect.log(`early refresh: ${creations} creations over 3 expiry periods; slowest warm read ${Math.round(slowest)} ms (a creator takes 100 ms)`)

  const first = yield* Fiber.join(seen)
  yield* Effect.log(`events: ${Array.from(first).map((e) => e._tag).join(", ")}`)
})

const RedisLive = Layer.mergeAll(RedisBackend.layer(), RedisLock.layer()).pipe(Layer.provide(RedisClient.layerConfig()))

Effect.runPromise(program.pipe(Effect.scoped, Effect.provide(Products.layer.pipe(Layer.provide(RedisLive)))))
