/**
 * Testing an application when its cache fails (docs/testing-with-faults.md).
 *
 * The application: a price service with a cache in front of a slow catalogue.
 * The checks: with the cache down it answers from the catalogue, with writes
 * failing it serves the stale price, a strict variant surfaces the typed
 * `BackendError` (which the application turns into "unavailable"), and with
 * a fifth of reads failing (seeded `Random`) every request is answered.
 * `Faults.backend` makes the cache fail; `TestClock` moves time.
 *
 * Run: `tsx examples/faults.ts` (in-memory cache), or with `REDIS_URL` set to
 * put the faults in front of Redis. `packages/redis/test/FaultsGuide.test.ts`
 * runs the same scenarios under `@effect/vitest`.
 */
import { pathToFileURL } from "node:url"
import { Backend, Faults, Lock, MemoryBackend, Region } from "@dogpile-effect/core"
import { RedisBackend, RedisClient } from "@dogpile-effect/redis"
import { Context, Effect, Layer, Metric, Random, Schema } from "effect"
import { TestClock } from "effect/testing"

// --- The application -------------------------------------------------------

/** The source of truth: slow, so prices are cached. */
export class Catalogue extends Context.Service<Catalogue, {
  readonly price: (sku: string) => Effect.Effect<number>
}>()("example/Catalogue") {}

/**
 * The cache of prices: a region declared as a service, fresh for a minute.
 * It must never take the application down: when the store fails, the
 * catalogue answers (`onBackendError: "bypass"`).
 */
export class PriceCache extends Region.Service<PriceCache>()("example/PriceCache", {
  name: "prices",
  schema: Schema.Number,
  expiration: "1 minute",
  onBackendError: "bypass"
}) {}

/**
 * A variant that prefers the last known price: when refreshing an expired
 * price fails (here: the store rejects the write), the stale price is served
 * (`staleIfError`). With `bypass` too, the fresh price would be returned.
 */
export class StalePriceCache extends Region.Service<StalePriceCache>()("example/StalePriceCache", {
  name: "prices",
  schema: Schema.Number,
  expiration: "1 minute",
  staleIfError: true
}) {}

/** The same cache without the safety nets: store errors reach the caller. */
export class StrictPriceCache extends Region.Service<StrictPriceCache>()("example/StrictPriceCache", {
  name: "prices",
  schema: Schema.Number,
  expiration: "1 minute"
}) {}

/** A price read through the cache. */
export const price = (sku: string) =>
  Effect.gen(function*() {
    const cache = yield* PriceCache
    const catalogue = yield* Catalogue
    return yield* cache.getOrCreate(sku, catalogue.price(sku))
  })

/** A price read through the cache that serves stale prices. */
export const stalePrice = (sku: string) =>
  Effect.gen(function*() {
    const cache = yield* StalePriceCache
    const catalogue = yield* Catalogue
    return yield* cache.getOrCreate(sku, catalogue.price(sku))
  })

/** A price read through the strict cache: "unavailable" when the cache fails. */
export const strictPrice = (sku: string) =>
  Effect.gen(function*() {
    const cache = yield* StrictPriceCache
    const catalogue = yield* Catalogue
    return yield* cache.getOrCreate(sku, catalogue.price(sku))
  }).pipe(Effect.catchTag("BackendError", () => Effect.succeed("unavailable" as const)))

// --- Test doubles --------------------------------------------------------------

/** A catalogue whose price goes up by one at each call, counting its calls. */
export const countingCatalogue = () => {
  let calls = 0
  const layer = Layer.succeed(Catalogue, Catalogue.of({ price: () => Effect.sync(() => 100 + ++calls) }))
  return { layer, calls: () => calls }
}

/** The store the scenarios wrap: Redis when `redisUrl` is given, else the in-memory backend. */
export const store = (redisUrl?: string): Layer.Layer<Backend, unknown> =>
  redisUrl === undefined
    ? MemoryBackend.layer()
    : RedisBackend.layer().pipe(Layer.provide(RedisClient.layer({ url: redisUrl })))

/** The three caches over `backend` with `faults`, and the local lock. */
export const cacheWithFaults = (faults: Faults.BackendFaultsConfig, backend: Layer.Layer<Backend, unknown>) =>
  Layer.mergeAll(PriceCache.layer, StalePriceCache.layer, StrictPriceCache.layer).pipe(
    Layer.provide(Layer.mergeAll(Faults.backend(faults).pipe(Layer.provide(backend)), Lock.layerLocal))
  )

// --- Scenarios (each needs TestClock: `it.effect` provides it) ----------------

/** The cache is down: every request is answered by the catalogue. */
export const cacheDown = (backend: Layer.Layer<Backend, unknown>, sku: string) =>
  Effect.gen(function*() {
    const catalogue = countingCatalogue()
    const prices = yield* Effect.forEach([1, 2, 3], () => price(sku)).pipe(
      Effect.provide(Layer.merge(cacheWithFaults({ all: { fail: 1 } }, backend), catalogue.layer))
    )
    return { prices, catalogueCalls: catalogue.calls() }
  })

/** Writes fail from t = 90 s: the price cached at t = 0, expired after a minute (kept two by the store), is served stale. */
export const staleWhileDown = (backend: Layer.Layer<Backend, unknown>, sku: string) =>
  Effect.gen(function*() {
    const catalogue = countingCatalogue()
    const layer = Layer.merge(cacheWithFaults({ writes: { fail: 1, during: { from: "90 seconds" } } }, backend), catalogue.layer)
    return yield* Effect.gen(function*() {
      const cached = yield* stalePrice(sku)
      yield* TestClock.adjust("90 seconds")
      const stale = yield* stalePrice(sku)
      return { cached, stale, catalogueCalls: catalogue.calls() }
    }).pipe(Effect.provide(layer))
  })

/** Reads fail: the strict variant reports "unavailable" instead of a price. */
export const typedError = (backend: Layer.Layer<Backend, unknown>, sku: string) =>
  Effect.gen(function*() {
    const catalogue = countingCatalogue()
    const answer = yield* strictPrice(sku).pipe(
      Effect.provide(Layer.merge(cacheWithFaults({ reads: { fail: 1 } }, backend), catalogue.layer))
    )
    return { answer, catalogueCalls: catalogue.calls() }
  })

/**
 * A fifth of the reads fail, drawn with seed 42: all 100 requests are
 * answered; the catalogue is called once to fill the cache and once per
 * bypassed request (the region's `bypassed` counter).
 */
export const flakyReads = (backend: Layer.Layer<Backend, unknown>, sku: string) =>
  Effect.gen(function*() {
    const catalogue = countingCatalogue()
    return yield* Effect.gen(function*() {
      const bypassed = Metric.value((yield* PriceCache).metrics.bypassed)
      const before = (yield* bypassed).count
      const prices = yield* Effect.forEach(Array.from({ length: 100 }, () => sku), price).pipe(Random.withSeed(42))
      return { answered: prices.length, bypassed: (yield* bypassed).count - before, catalogueCalls: catalogue.calls() }
    }).pipe(Effect.provide(Layer.merge(cacheWithFaults({ reads: { fail: 0.2 } }, backend), catalogue.layer)))
  })

// --- Run as a program -----------------------------------------------------------

const main = Effect.gen(function*() {
  const url = process.env["REDIS_URL"]
  const backend = store(url)
  const sku = (name: string) => `${name}-${process.pid}-${Date.now().toString(36)}`
  const down = yield* cacheDown(backend, sku("down"))
  yield* Effect.log(`cache down: prices ${down.prices.join(",")}, ${down.catalogueCalls} catalogue calls`)
  const stale = yield* staleWhileDown(backend, sku("stale"))
  yield* Effect.log(`stale while down: ${stale.cached} then ${stale.stale}, ${stale.catalogueCalls} catalogue calls`)
  const typed = yield* typedError(backend, sku("typed"))
  yield* Effect.log(`typed error: ${typed.answer}, ${typed.catalogueCalls} catalogue calls`)
  const flaky = yield* flakyReads(backend, sku("flaky"))
  yield* Effect.log(`flaky reads: ${flaky.answered} answered, ${flaky.bypassed} bypassed, ${flaky.catalogueCalls} catalogue calls`)
  yield* Effect.log(`store: ${url === undefined ? "memory" : "redis"}`)
})

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  Effect.runPromise(main.pipe(Effect.provide(TestClock.layer())))
}
