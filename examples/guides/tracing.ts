/**
 * docs/guides/tracing.md: the spans a region opens, under a tracer that
 * records them (run it: it prints the span tree), and the Layer that exports
 * the same spans to an OpenTelemetry collector.
 *
 *   node --import tsx --conditions=@dogpile-effect/source examples/guides/tracing.ts
 */
import { Lock, MemoryBackend, Region } from "@dogpile-effect/core"
import { Effect, Layer, Option, Schema, Tracer } from "effect"
import { FetchHttpClient } from "effect/http"
import { Otlp, OtlpSerialization } from "effect/observability"

class Users extends Region.Service<Users>()("app/Users", {
  name: "users",
  schema: Schema.Struct({ id: Schema.Number, name: Schema.String }),
  expiration: "10 minutes"
}) {}

/** Your handler: its own span, with the region's spans beneath it. */
const getUser = Effect.fn("GET /users/:id")(function*(id: number) {
  const users = yield* Users
  return yield* users.getOrCreate(`user:${id}`, Effect.succeed({ id, name: "Ada" }).pipe(Effect.withSpan("db.findUser")))
})

/**
 * Production: every span (yours and the regions') goes to an OpenTelemetry
 * collector over OTLP/HTTP. Add this Layer to the application's Layers.
 */
export const TracingLive = Otlp.layer({
  baseUrl: "http://127.0.0.1:4318",
  resource: { serviceName: "users-service" }
}).pipe(Layer.provide([OtlpSerialization.layerJson, FetchHttpClient.layer]))

/** Here: a tracer that keeps the spans, to print them. */
const recorded: Array<Tracer.NativeSpan> = []
const recording = Tracer.make({
  span: (options) => {
    const span = new Tracer.NativeSpan(options)
    recorded.push(span)
    return span
  }
})

const depth = (span: Tracer.AnySpan): number =>
  span._tag === "Span" ? Option.match(span.parent, { onNone: () => 0, onSome: (parent) => 1 + depth(parent) }) : 0

const program = Effect.gen(function*() {
  yield* getUser(42) // a miss: the creator runs
  yield* getUser(42) // a hit
}).pipe(Effect.withTracer(recording))

const UsersLive = Users.layer.pipe(Layer.provide(Layer.mergeAll(MemoryBackend.layer(), Lock.layerLocal)))

/** A span's line: its name, indented under its parent, and the region's attributes on it. */
const line = (span: Tracer.NativeSpan): string => {
  const region = span.attributes.get("dogpile.region")
  const outcome = span.attributes.get("dogpile.outcome")
  const about = region === undefined ? "" : ` region=${String(region)} outcome=${String(outcome)}`
  return `tracing: ${"  ".repeat(depth(span))}${span.name}${about}`
}

Effect.runPromise(program.pipe(Effect.provide(UsersLive))).then(() => {
  for (const span of recorded) console.log(line(span))
})
