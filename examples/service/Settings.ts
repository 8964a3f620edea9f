/**
 * The service's configuration, read through `Config` (environment variables by
 * default): every value has a default, so `tsx examples/service/main.ts` runs
 * as it is against a Redis on 127.0.0.1:6379.
 *
 * | variable | default | |
 * |---|---|---|
 * | `PORT` | 3000 | HTTP port (0: any free port, printed at start) |
 * | `REDIS_URL` | `redis://127.0.0.1:6379` | read by `RedisClient.layerConfig` |
 * | `SOURCE_DELAY` | `50 millis` | latency of the simulated database |
 * | `PRODUCTS_EXPIRATION` | `5 minutes` | near-cached region |
 * | `STOCK_EXPIRATION` | `30 seconds` | hash-bucket region |
 * | `PRICES_EXPIRATION` | `10 minutes` | region shared with Python |
 * | `OTEL_EXPORTER_OTLP_ENDPOINT` + `OTEL_TRACES_EXPORTER` / `OTEL_METRICS_EXPORTER` = `otlp` | unset (no export) | OTLP/HTTP export (main.ts) |
 */
import { Config } from "effect"

/** Expirations of the three regions. */
export const expirations = Config.all({
  products: Config.Duration("PRODUCTS_EXPIRATION").pipe(Config.withDefault("5 minutes")),
  stock: Config.Duration("STOCK_EXPIRATION").pipe(Config.withDefault("30 seconds")),
  prices: Config.Duration("PRICES_EXPIRATION").pipe(Config.withDefault("10 minutes"))
})

/** How long each call to the simulated database takes. */
export const sourceDelay = Config.Duration("SOURCE_DELAY").pipe(Config.withDefault("50 millis"))

/** Where the HTTP server listens. */
export const server = {
  // An integer rather than `Config.Port`, which refuses 0 (any free port).
  port: Config.Int("PORT").pipe(Config.withDefault(3000)),
  host: Config.String("HOST").pipe(Config.withDefault("127.0.0.1"))
}
