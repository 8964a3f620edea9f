/**
 * The reference service: an HTTP API on `@effect/platform-node` whose three
 * regions (near-cached, hash buckets, shared with Python) sit on one Redis in
 * front of a slow database. Configuration from `Config` (see `Settings.ts`),
 * metrics on `GET /metrics` (Prometheus text), traces, metrics and logs
 * exported over OTLP when the standard `OTEL_*` variables ask for it.
 *
 *   REDIS_URL=redis://127.0.0.1:6379 pnpm service
 */
import { NodeHttpServer, NodeRuntime } from "@effect/platform-node"
import { Layer } from "effect"
import { FetchHttpClient, HttpRouter } from "effect/http"
import { Otlp, OtlpSerialization } from "effect/observability"
import { createServer } from "node:http"
import * as Catalogue from "./Catalogue.ts"
import * as Regions from "./Regions.ts"
import * as Routes from "./Routes.ts"
import * as Settings from "./Settings.ts"

/**
 * Traces, metrics and logs over OTLP/HTTP, each enabled by the standard
 * OpenTelemetry variables (`OTEL_EXPORTER_OTLP_ENDPOINT` and
 * `OTEL_TRACES_EXPORTER=otlp`, `OTEL_METRICS_EXPORTER=otlp`,
 * `OTEL_LOGS_EXPORTER=otlp`); nothing is sent when they are unset. Logs still
 * go to the console too.
 */
const TelemetryLive = Otlp.layerFromConfig({
  resource: { serviceName: "dogpile-service" },
  loggerMergeWithExisting: true
}).pipe(Layer.provide([OtlpSerialization.layerJson, FetchHttpClient.layer]))

/** The database and the regions in front of it. */
const ServicesLive = Regions.layer.pipe(Layer.provideMerge(Catalogue.layer))

export const ServiceLive = HttpRouter.serve(Routes.layer).pipe(
  Layer.provide(ServicesLive),
  Layer.provide(NodeHttpServer.layerConfig(createServer, Settings.server)),
  Layer.provide(TelemetryLive)
)

Layer.launch(ServiceLive).pipe(NodeRuntime.runMain)
