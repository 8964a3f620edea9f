/**
 * Load against a running service: for each route, the same requests without
 * the cache (`?cache=off`) and with it, side by side: database calls (from
 * `GET /source/calls`), p50 and p99 latency. The first cached round ("cold")
 * uses ids not cached yet, so its database calls are one per distinct id; the
 * second ("warm") repeats it, all hits.
 *
 *   SERVICE_URL=http://127.0.0.1:3000 REQUESTS=2000 CONCURRENCY=50 KEYS=100 pnpm service:load
 *
 * Latencies depend on the machine and its load (state `uptime` with them);
 * the database call counts do not.
 */
import { NodeRuntime } from "@effect/platform-node"
import { Clock, Config, Console, Effect, Random, Schema } from "effect"
import { FetchHttpClient, HttpClient, HttpClientResponse } from "effect/http"

const Calls = Schema.Struct({ products: Schema.Number, stock: Schema.Number })

const settings = Config.all({
  url: Config.String("SERVICE_URL").pipe(Config.withDefault("http://127.0.0.1:3000")),
  requests: Config.Int("REQUESTS").pipe(Config.withDefault(2000)),
  concurrency: Config.Int("CONCURRENCY").pipe(Config.withDefault(50)),
  keys: Config.Int("KEYS").pipe(Config.withDefault(100))
})

type Route = "products" | "stock"

/** Without the cache; with it, starting cold (fresh ids); with it again over the same ids (warm). */
type Mode = "no cache" | "cold" | "warm"

interface Row {
  readonly route: Route
  readonly mode: Mode
  readonly requests: number
  readonly sourceCalls: number
  readonly p50: number
  readonly p99: number
}

/** The `q`-quantile of sorted `values` (nearest rank). */
const quantile = (sorted: ReadonlyArray<number>, q: number): number =>
  sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))] ?? Number.NaN

const sourceCalls = (url: string) =>
  Effect.flatMap(HttpClient.get(`${url}/source/calls`), HttpClientResponse.schemaBodyJson(Calls))

/** One request, timed in milliseconds; a non-2xx answer fails. */
const timed = (url: string) =>
  Effect.gen(function*() {
    const start = yield* Clock.currentTimeNanos
    const response = yield* HttpClient.get(url).pipe(Effect.flatMap(HttpClientResponse.filterStatusOk))
    yield* response.text
    return Number((yield* Clock.currentTimeNanos) - start) / 1e6
  })

/** `requests` calls over `keys` ids from `base`, `concurrency` at a time. */
const round = Effect.fn("load.round")(function*(route: Route, mode: Mode, base: number) {
  const cached = mode !== "no cache"
  const { concurrency, keys, requests, url } = yield* settings
  const before = yield* sourceCalls(url)
  const latencies = yield* Effect.forEach(
    Array.from({ length: requests }, (_, i) => base + (i % keys)),
    (id) => timed(`${url}/${route}/${id}${cached ? "" : "?cache=off"}`),
    { concurrency }
  )
  const after = yield* sourceCalls(url)
  const sorted = [...latencies].sort((a, b) => a - b)
  const row: Row = {
    route,
    mode,
    requests,
    sourceCalls: after[route] - before[route],
    p50: quantile(sorted, 0.5),
    p99: quantile(sorted, 0.99)
  }
  return row
})

const format = (row: Row): string =>
  [
    row.route.padEnd(9),
    row.mode.padEnd(9),
    String(row.requests).padStart(8),
    String(row.sourceCalls).padStart(13),
    row.p50.toFixed(1).padStart(8),
    row.p99.toFixed(1).padStart(8)
  ].join("  ")

const program = Effect.gen(function*() {
  const rows: Array<Row> = []
  for (const route of ["products", "stock"] as const) {
    // Fresh ids per run, so the cached round starts cold.
    const base = yield* Random.nextIntBetween(1_000_000, 1_000_000_000)
    rows.push(yield* round(route, "no cache", base))
    rows.push(yield* round(route, "cold", base))
    rows.push(yield* round(route, "warm", base))
  }
  yield* Console.log(
    ["route    ", "mode     ", "requests", "source calls", "p50 ms", "p99 ms"].join("  ") + "\n" +
      rows.map(format).join("\n")
  )
})

program.pipe(Effect.provide(FetchHttpClient.layer), NodeRuntime.runMain)
