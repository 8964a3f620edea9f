/**
 * The guide's tests (docs/testing-with-faults.md): the application of
 * `examples/faults.ts` checked under `@effect/vitest` while its cache fails,
 * on the in-memory backend and on Redis. `it.effect` provides `TestClock`, so
 * the scenarios move time without waiting.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { inject } from "vitest"
import { cacheDown, flakyReads, staleWhileDown, store, typedError } from "../../../examples/faults.ts"

const url = inject("redisUrl")
let counter = 0
const sku = (label: string) => `guide-${label}-${process.pid}-${counter++}`

for (const [name, backend] of [["memory", store()], ["redis", store(url)]] as const) {
  describe(`an application whose cache fails (${name})`, () => {
    it.effect("the cache is down: every request is answered by the catalogue", () =>
      Effect.gen(function*() {
        const { prices, catalogueCalls } = yield* cacheDown(backend, sku("down"))
        assert.deepStrictEqual(prices, [101, 102, 103])
        assert.strictEqual(catalogueCalls, 3)
      }))

    it.effect("writes fail after the price expired: the stale price is served", () =>
      Effect.gen(function*() {
        const { cached, stale, catalogueCalls } = yield* staleWhileDown(backend, sku("stale"))
        assert.strictEqual(cached, 101)
        assert.strictEqual(stale, 101, "the refresh (102) could not be stored: the stale price is served")
        assert.strictEqual(catalogueCalls, 2)
      }))

    it.effect("reads fail: the strict variant answers \"unavailable\" from the typed BackendError", () =>
      Effect.gen(function*() {
        const { answer, catalogueCalls } = yield* typedError(backend, sku("typed"))
        assert.strictEqual(answer, "unavailable")
        assert.strictEqual(catalogueCalls, 0)
      }))

    it.effect("a fifth of the reads fail (seed 42): 100 requests answered, 22 bypassed, 1 + 22 catalogue calls", () =>
      Effect.gen(function*() {
        const { answered, bypassed, catalogueCalls } = yield* flakyReads(backend, sku("flaky"))
        assert.strictEqual(answered, 100)
        assert.strictEqual(bypassed, 22)
        assert.strictEqual(catalogueCalls, 1 + bypassed)
      }))
  })
}
