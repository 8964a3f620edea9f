/**
 * Conditional refresh (docs/conditional-refresh.md): a cached HTTP document
 * refreshed with `If-None-Match`. A local `node:http` server (a free loopback
 * port) serves a ~200 KB JSON document with an `ETag` and answers `304 Not
 * Modified` when the client already has it; it counts the response body bytes
 * it sends. The region's entry expires every second; 20 expiries later
 * (under `TestClock`), the document changed once.
 *
 * - Without conditional refresh, every expiry downloads and decodes the whole
 *   document again, and the region encodes and writes it again.
 * - With `Conditional.make`, the creator sends the stored `ETag`; a `304`
 *   renews the cached entry (header only rewritten, no encoding) and the
 *   server sends no body.
 *
 * Printed: requests, full (200) and not-modified (304) responses, the body
 * bytes the server sent, and the creator's summed wall time, for both runs.
 * Run: `tsx examples/conditional-refresh.ts` (in-memory store), or with
 * `REDIS_URL` set to cache in Redis. `packages/redis/test/ConditionalRefreshExample.test.ts`
 * runs it against Redis and checks the counts.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http"
import type { AddressInfo } from "node:net"
import { performance } from "node:perf_hooks"
import { pathToFileURL } from "node:url"
import { Backend, Conditional, Lock, MemoryBackend, Region } from "@dogpile-effect/core"
import { RedisBackend, RedisClient } from "@dogpile-effect/redis"
import { Context, Effect, Layer, Option, Schema, type Scope } from "effect"
import { FetchHttpClient, HttpClient } from "effect/http"
import { TestClock } from "effect/testing"

/** The document: a version and ~200 KB of items. */
const Document = Schema.Struct({
  version: Schema.Number,
  items: Schema.Array(Schema.Struct({ id: Schema.Number, name: Schema.String }))
})
type Document = typeof Document.Type

const documentOf = (version: number): string =>
  JSON.stringify({
    version,
    items: Array.from({ length: 4000 }, (_, id) => ({ id, name: `item ${id} of version ${version}`.padEnd(32, ".") }))
  })

/** What the server sent. */
export interface Served {
  requests: number
  full: number
  notModified: number
  bodyBytes: number
}

/** The source: a local HTTP server whose document is at `state.version`. */
const source = (state: { version: number }, served: Served) =>
  Effect.acquireRelease(
    Effect.callback<Server>((resume) => {
      const server = createServer((request: IncomingMessage, response: ServerResponse) => {
        served.requests++
        const etag = `"v${state.version}"`
        if (request.headers["if-none-match"] === etag) {
          served.notModified++
          response.writeHead(304, { etag })
          return response.end()
        }
        const body = Buffer.from(documentOf(state.version))
        served.full++
        served.bodyBytes += body.length
        response.writeHead(200, { etag, "content-type": "application/json", "content-length": body.length })
        response.end(body)
      })
      server.listen(0, "127.0.0.1", () => resume(Effect.succeed(server)))
    }),
    (server) => Effect.callback<void>((resume) => void server.close(() => resume(Effect.void)))
  )

/** The shared store: Redis when `redisUrl` is given, else in memory. */
const store = (redisUrl?: string): Effect.Effect<Backend["Service"], unknown, Scope.Scope> =>
  redisUrl === undefined
    ? MemoryBackend.make()
    : Effect.map(
      Layer.build(RedisBackend.layer().pipe(Layer.provide(RedisClient.layer({ url: redisUrl })))),
      (ctx) => Context.get(ctx, Backend)
    )

/** Times `effect` in wall-clock milliseconds (the creator's real cost; `TestClock` moves only the cache's time). */
const timed = <A, E, R>(effect: Effect.Effect<A, E, R>, total: { ms: number }) =>
  Effect.suspend(() => {
    const start = performance.now()
    return Effect.ensuring(effect, Effect.sync(() => (total.ms += performance.now() - start)))
  })

const decode = Schema.decodeUnknownEffect(Document)

/** The plain creator: the whole document, every time. */
const fetchAll = (url: string, total: { ms: number }) =>
  timed(
    Effect.flatMap(HttpClient.get(url), (response) => Effect.flatMap(response.json, decode)),
    total
  )

/** One conditional request: the stored ETag sent as `If-None-Match`; a 304 renews the cached document. */
const revalidate = (url: string, previous: Option.Option<Conditional.Previous<Document>>) =>
  Effect.gen(function*() {
    const etag = Option.flatMap(previous, (p) => Option.fromNullishOr(p.validator))
    const response = yield* HttpClient.get(url, {
      headers: Option.isSome(etag) ? { "if-none-match": etag.value } : {}
    })
    if (response.status === 304) return Conditional.notModified
    const document = yield* Effect.flatMap(response.json, decode)
    return Conditional.fresh(document, { validator: response.headers["etag"] })
  })

/** The conditional creator, timed. */
const fetchIfChanged = (url: string, total: { ms: number }) =>
  Conditional.make((previous: Option.Option<Conditional.Previous<Document>>) => timed(revalidate(url, previous), total))

/** 21 reads, one per expiry (20 expiries, TestClock), the document changing once; what the server sent. */
export const measure = (backend: Backend["Service"], conditional: boolean) =>
  Effect.gen(function*() {
    const served: Served = { requests: 0, full: 0, notModified: 0, bodyBytes: 0 }
    const state = { version: 1 }
    const server = yield* source(state, served)
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/document`
    const region = yield* Region.make({
      name: `conditional-example-${conditional ? "on" : "off"}-${process.pid}-${Date.now().toString(36)}`,
      schema: Document,
      expiration: "1 second"
    }).pipe(Effect.provide(Layer.mergeAll(Layer.succeed(Backend, backend), Lock.layerLocal)))
    const creatorTime = { ms: 0 }
    const versions: Array<number> = []
    for (let round = 0; round <= 20; round++) {
      if (round === 10) state.version = 2
      const document = yield* region.getOrCreate(
        "document",
        conditional ? fetchIfChanged(url, creatorTime) : fetchAll(url, creatorTime)
      )
      versions.push(document.version)
      yield* TestClock.adjust("1500 millis")
    }
    return { served, creatorMs: creatorTime.ms, versions }
  }).pipe(Effect.scoped)

const line = (label: string, r: Effect.Success<ReturnType<typeof measure>>) =>
  `${label}: ${r.served.requests} requests, ${r.served.full} full, ${r.served.notModified} not modified, ` +
  `${r.served.bodyBytes} body bytes, creator time ${r.creatorMs.toFixed(1)} ms, versions ${r.versions[0]}..${r.versions.at(-1)}`

const main = Effect.gen(function*() {
  const url = process.env["REDIS_URL"]
  const backend = yield* store(url)
  const without = yield* measure(backend, false)
  const withIt = yield* measure(backend, true)
  yield* Effect.log(line("without conditional refresh", without))
  yield* Effect.log(line("with conditional refresh", withIt))
  yield* Effect.log(
    `body bytes saved: ${without.served.bodyBytes - withIt.served.bodyBytes} ` +
      `(${(withIt.served.bodyBytes / without.served.bodyBytes).toFixed(3)} of the plain refresh); store: ${url === undefined ? "memory" : "redis"}`
  )
}).pipe(Effect.scoped)

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  Effect.runPromise(main.pipe(Effect.provide(Layer.mergeAll(TestClock.layer(), FetchHttpClient.layer))))
}
