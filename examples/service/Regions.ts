/**
 * The service's three regions over one Redis, each with its own storage:
 *
 * - `Products`: plain keys behind a near cache (`NearCache`: reads served from
 *   process memory, kept coherent by Redis `CLIENT TRACKING`);
 * - `Stock`: many small entries as fields of Redis hashes (`HashBackend`,
 *   128 products per bucket);
 * - `Prices`: shared with Python services on `dogpile.cache.redis` (the
 *   `Presets.dogpileRedis` preset: JSON values in dogpile's layout, plain
 *   keys, Python's lock naming), read through a batching `RegionResolver`.
 *
 * A region takes the `Backend` and `Lock` in its context, so each region's
 * Layer is given its own storage Layer; the single `RedisClient` is provided
 * once, below all of them, so the three share one set of connections. The
 * lock Layer of the first two is one value (`LockLive`): Layers are memoized
 * by reference, so it is built once.
 */
import { Region, RegionResolver } from "@dogpile-effect/core"
import { Bucketing, HashBackend } from "@dogpile-effect/hstore"
import { Presets } from "@dogpile-effect/python"
import { NearCache, RedisBackend, RedisClient, RedisLock } from "@dogpile-effect/redis"
import { Config, Context, Effect, Layer, type RequestResolver, Schema } from "effect"
import { Catalogue, type GetPrice, Product, Stock as StockValue } from "./Catalogue.ts"
import * as Settings from "./Settings.ts"

/** Products, near-cached. */
export class Products extends Context.Service<Products, Region.Region<Product>>()("service/Products") {}

/** Stock levels, in hash buckets. */
export class Stock extends Context.Service<Stock, Region.Region<StockValue>>()("service/Stock") {}

/** Prices, in the layout Python's dogpile.cache reads and writes. */
export class Prices extends Context.Service<Prices, Region.Region<number>>()("service/Prices") {}

/** The price lookup: `Catalogue.prices` cached per request in `Prices`, batches kept. */
export class PriceLookup extends Context.Service<PriceLookup, RequestResolver.RequestResolver<GetPrice>>()(
  "service/PriceLookup"
) {}

/** One connection (plus the subscribers the near cache and the locks open), named for `CLIENT LIST`. */
export const RedisLive = RedisClient.layerConfig({
  ...RedisClient.defaultConfig,
  connectionName: Config.succeed("dogpile-service")
})

const LockLive = RedisLock.layer()

const NearCacheLive = NearCache.layer({ maxEntries: 10_000, maxAge: "10 seconds" }).pipe(
  Layer.provide(RedisBackend.layer())
)

const HashLive = HashBackend.layer({ bucketing: Bucketing.byNumber({ size: 128 }) })

const shared = Presets.dogpileRedis({ format: "json" })

const ProductsLive = Layer.unwrap(Effect.map(Settings.expirations, (expiration) =>
  Region.layer(Products, { name: "products", schema: Product, expiration: expiration.products })
)).pipe(Layer.provide(Layer.mergeAll(NearCacheLive, LockLive)))

const StockLive = Layer.unwrap(Effect.map(Settings.expirations, (expiration) =>
  Region.layer(Stock, { name: "stock", schema: StockValue, expiration: expiration.stock })
)).pipe(Layer.provide(Layer.mergeAll(HashLive, LockLive)))

const PricesLive = Layer.unwrap(Effect.map(Settings.expirations, (expiration) =>
  Region.layer(Prices, { ...shared.region, name: "prices", schema: Schema.Number, expiration: expiration.prices })
)).pipe(Layer.provide(shared.layer))

const PriceLookupLive = Layer.effect(
  PriceLookup,
  Effect.gen(function*() {
    const catalogue = yield* Catalogue
    return yield* RegionResolver.make(yield* Prices, catalogue.prices, { key: (request) => `price:${request.id}` })
  })
)

/** The three regions and the price lookup, over one `RedisClient` from `REDIS_URL`. */
export const layer = Layer.mergeAll(ProductsLive, StockLive, PriceLookupLive.pipe(Layer.provideMerge(PricesLive))).pipe(
  Layer.provide(RedisLive)
)
