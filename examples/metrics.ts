/**
 * Exporting a region's metrics. Every region reports its counters and its
 * lock-wait histogram to Effect's metric registry (`RegionMetrics`); this shows
 * both ways out: the Prometheus text format (here printed, in a service served
 * on `/metrics`) and OTLP push to an OpenTelemetry collector.
 */
import { Lock, MemoryBackend, Region } from "@dogpile-effect/core"
import { Effect, Layer } from "effect"
import { FetchHttpClient } from "effect/http"
import { OtlpMetrics, OtlpSerialization, PrometheusMetrics } from "effect/observability"

const program = Effect.gen(function*() {
  const users = yield* Region.make<string>({ name: "users", expiration: "10 minutes" })
  yield* users.getOrCreate("user:1", Effect.succeed("Ada")) // a miss, then a creation
  yield* users.getOrCreate("user:1", Effect.succeed("Ada")) // a hit
  // `# TYPE dogpile_hits_total counter` … `dogpile_hits_total{region="users"} 1` …
  yield* Effect.log(yield* PrometheusMetrics.format())
})

/**
 * Push to an OpenTelemetry collector (OTLP over HTTP, every 10 s, and once
 * more when the Layer closes). Add it to the application's Layers; the URL is
 * the collector's.
 */
export const OtlpMetricsLive = OtlpMetrics.layer({
  url: "http://127.0.0.1:4318/v1/metrics",
  resource: { serviceName: "users-service" },
  exportInterval: "10 seconds"
}).pipe(Layer.provide([OtlpSerialization.layerJson, FetchHttpClient.layer]))

Effect.runPromise(program.pipe(Effect.scoped, Effect.provide(Layer.mergeAll(MemoryBackend.layer(), Lock.layerLocal))))
