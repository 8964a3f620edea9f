/**
 * The HTTP API. Every read route takes `?cache=off` to call the database
 * directly (the load script's baseline).
 *
 * - `GET /products/:id`, `GET /stock/:id`: one value, JSON;
 * - `GET /prices?ids=1,2,3`: prices in one request batch, JSON array;
 * - `GET /source/calls`: database calls so far, JSON;
 * - `GET /metrics`: every metric in the Prometheus text format;
 * - `GET /health`: `ok`.
 */
import { Effect, Layer, Schema } from "effect"
import { HttpRouter, HttpServerRequest, HttpServerResponse } from "effect/http"
import { PrometheusMetrics } from "effect/observability"
import { Catalogue, GetPrice } from "./Catalogue.ts"
import { PriceLookup, Products, Stock } from "./Regions.ts"

const IdParams = Schema.Struct({ id: Schema.FiniteFromString })
const PriceQuery = Schema.Struct({ ids: Schema.String, cache: Schema.optional(Schema.String) })
const CacheQuery = Schema.Struct({ cache: Schema.optional(Schema.String) })

/** Whether the request asks to bypass the cache (`?cache=off`). */
const bypassed = Effect.map(
  HttpServerRequest.schemaSearchParams(CacheQuery),
  (query) => query.cache === "off"
)

const badRequest = (reason: string) => HttpServerResponse.text(reason, { status: 400 })

const product = Effect.gen(function*() {
  const { id } = yield* HttpRouter.schemaPathParams(IdParams)
  const catalogue = yield* Catalogue
  if (yield* bypassed) return HttpServerResponse.jsonUnsafe(yield* catalogue.product(id))
  const products = yield* Products
  return HttpServerResponse.jsonUnsafe(yield* products.getOrCreate(String(id), catalogue.product(id)))
}).pipe(Effect.catchTag("SchemaError", () => Effect.succeed(badRequest("id must be a number"))))

const stock = Effect.gen(function*() {
  const { id } = yield* HttpRouter.schemaPathParams(IdParams)
  const catalogue = yield* Catalogue
  if (yield* bypassed) return HttpServerResponse.jsonUnsafe(yield* catalogue.stock(id))
  const region = yield* Stock
  return HttpServerResponse.jsonUnsafe(yield* region.getOrCreate(String(id), catalogue.stock(id)))
}).pipe(Effect.catchTag("SchemaError", () => Effect.succeed(badRequest("id must be a number"))))

const parseIds = (text: string): ReadonlyArray<number> | undefined => {
  const ids = text.split(",").map(Number)
  return ids.length > 0 && ids.every(Number.isSafeInteger) ? ids : undefined
}

const prices = Effect.gen(function*() {
  const query = yield* HttpServerRequest.schemaSearchParams(PriceQuery)
  const ids = parseIds(query.ids)
  if (ids === undefined) return badRequest("ids must be a comma-separated list of integers")
  const resolver = query.cache === "off" ? (yield* Catalogue).prices : yield* PriceLookup
  const values = yield* Effect.forEach(ids, (id) => Effect.request(GetPrice({ id }), resolver), {
    concurrency: "unbounded"
  })
  return HttpServerResponse.jsonUnsafe(values)
}).pipe(Effect.catchTag("SchemaError", () => Effect.succeed(badRequest("ids is required"))))

const calls = Effect.gen(function*() {
  const catalogue = yield* Catalogue
  return HttpServerResponse.jsonUnsafe(yield* catalogue.calls)
})

/** The routes, and `/metrics`. */
export const layer = Layer.mergeAll(
  HttpRouter.add("GET", "/products/:id", product),
  HttpRouter.add("GET", "/stock/:id", stock),
  HttpRouter.add("GET", "/prices", prices),
  HttpRouter.add("GET", "/source/calls", calls),
  HttpRouter.add("GET", "/health", HttpServerResponse.text("ok")),
  PrometheusMetrics.layerHttp({ path: "/metrics" })
)
