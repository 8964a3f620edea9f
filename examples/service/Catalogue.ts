/**
 * The slow source the regions cache: a simulated database whose every call
 * takes `SOURCE_DELAY`. It counts its calls (per table, and per batch for the
 * batched price lookup) in the metric `catalogue_calls_total` and in plain
 * counters served on `GET /source/calls`.
 */
import { Context, Effect, Exit, Layer, Metric, Request, RequestResolver, Schema } from "effect"
import * as Settings from "./Settings.ts"

/** A product as the database returns it. */
export const Product = Schema.Struct({ id: Schema.Number, name: Schema.String, description: Schema.String })
export type Product = typeof Product.Type

/** The stock of one product. */
export const Stock = Schema.Struct({ id: Schema.Number, available: Schema.Number })
export type Stock = typeof Stock.Type

/** A price lookup, batched: one query answers every price request of a batch. */
export interface GetPrice extends Request.Request<number> {
  readonly _tag: "GetPrice"
  readonly id: number
}
export const GetPrice = Request.tagged<GetPrice>("GetPrice")

/** Calls made to the database so far. */
export interface Calls {
  readonly products: number
  readonly stock: number
  /** Price batches (queries), and the prices they looked up. */
  readonly priceBatches: number
  readonly prices: number
}

const calls = Metric.counter("catalogue_calls_total", {
  description: "Queries sent to the (simulated) database",
  incremental: true
})

const count = (table: string) => Metric.update(Metric.withAttributes(calls, { table }), 1)

/** The database. */
export class Catalogue extends Context.Service<Catalogue, {
  readonly product: (id: number) => Effect.Effect<Product>
  readonly stock: (id: number) => Effect.Effect<Stock>
  /** Prices, one query per batch of requests. */
  readonly prices: RequestResolver.RequestResolver<GetPrice>
  readonly calls: Effect.Effect<Calls>
}>()("service/Catalogue") {}

const productOf = (id: number): Product => ({ id, name: `product ${id}`, description: `the ${id}th product` })
const stockOf = (id: number): Stock => ({ id, available: (id * 7) % 50 })
const priceOf = (id: number): number => 100 + id

const make = Effect.gen(function*() {
  const delay = yield* Settings.sourceDelay
  const counts = { products: 0, stock: 0, priceBatches: 0, prices: 0 }
  const query = <A>(table: "products" | "stock", value: () => A) =>
    Effect.sleep(delay).pipe(
      Effect.andThen(count(table)),
      Effect.andThen(Effect.sync(() => {
        counts[table]++
        return value()
      })),
      Effect.withSpan(`Catalogue.${table}`)
    )
  const prices = RequestResolver.make<GetPrice>((entries) =>
    Effect.sleep(delay).pipe(
      Effect.andThen(count("prices")),
      Effect.andThen(Effect.sync(() => {
        counts.priceBatches++
        counts.prices += entries.length
        for (const entry of entries) entry.completeUnsafe(Exit.succeed(priceOf(entry.request.id)))
      })),
      Effect.withSpan("Catalogue.prices", { attributes: { batch: entries.length } })
    )
  )
  return Catalogue.of({
    product: (id) => query("products", () => productOf(id)),
    stock: (id) => query("stock", () => stockOf(id)),
    prices,
    calls: Effect.sync(() => ({ ...counts }))
  })
})

/** The simulated database, its latency from `SOURCE_DELAY`. */
export const layer = Layer.effect(Catalogue, make)
