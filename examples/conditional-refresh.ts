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
 * - With it on a store that cannot renew in place (no `Backend.restampMany`),
 *   each `304` re-reads the entry and writes it whole again; with one that can
 *   (memory, Redis), one call carries the entry's old and new headers only.
 *
 * Printed: requests, full (200) and not-modified (304) responses, the body
 * bytes the server sent, the creator's summed wall time, and what the region
 * sent the store (calls by operation, bytes written), for the three runs.
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

/** What the region sent the store: calls by operation, bytes written (values, or headers renewed in place). */
export interface Sent {
  readonly calls: Record<string, number>
  bytes: number
}

/** `backend` with its calls counted in `sent`; without `restampMany` unless `inPlace`. */
const counted = (backend: Backend["Service"], sent: Sent, inPlace: boolean): Backend["Service"] => {
  const count = (operation: string, bytes = 0) => {
    sent.calls[operation] = (sent.calls[operation] ?? 0) + 1
    sent.bytes += bytes
  }
  const { restampMany, ...rest } = backend
  return Backend.of({
    ...rest,
    get: (key) => (count("get"), backend.get(key)),
    getMany: (keys) => (count("getMany"), backend.getMany(keys)),
    set: (key, value, ttl) => (count("set", value.length), backend.set(key, value, ttl)),
    setMany: (entries) => (count("setMany", entries.reduce((n, e) => n + e.value.length, 0)), backend.setMany(entries)),
    ...(restampMany === undefined || !inPlace ? {} : {
      restampMany: (entries: Parameters<typeof restampMany>[0]) => (
        count("restampMany", entries.reduce((n, e) => n + e.expected.length + e.header.length, 0)), restampMany(entries)
      )
    })
  })
}

/** The shared store, and on Redis the server's count of bytes received (`INFO stats`), exact when nothing else uses it. */
interface Store {
  readonly backend: Backend["Service"]
  readonly bytesIn?: Effect.Effect<number, unknown>
}

/** The server's `total_net_input_bytes`. */
const bytesIn = (redis: RedisClient.RedisClient["Service"]) =>
  Effect.map(redis.use("info", (c) => c.info("stats")), (info) => Number(/total_net_input_bytes:(\d+)/.exec(info)?.[1] ?? 0))

/** The shared store: Redis when `redisUrl` is given, else in memory. */
const store = (redisUrl?: string): Effect.Effect<Store, unknown, Scope.Scope> =>
  redisUrl === undefined
    ? Effect.map(MemoryBackend.make(), (backend) => ({ backend }))
    : Effect.map(
      Layer.build(RedisBackend.layer().pipe(Layer.provideMerge(RedisClient.layer({ url: redisUrl })))),
      (ctx) => ({ backend: Context.get(ctx, Backend), bytesIn: bytesIn(Context.get(ctx, RedisClient.RedisClient)) })
    )

/** `run`, and the bytes the Redis server received meanwhile (`undefined` in memory). */
const received = <A, E, R>(s: Store, run: Effect.Effect<A, E, R>) => {
  const counter = s.bytesIn
  return counter === undefined
    ? Effect.map(run, (result) => [result, undefined] as const)
    : Effect.gen(function*() {
      const before = yield* counter
      const result = yield* run
      return [result, (yield* counter) - before] as const
    })
}

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

/** How a run refreshes: the whole document, or conditionally (renewing by a whole rewrite, or in place). */
export type Mode = "plain" | "conditional, rewritten" | "conditional, in place"

/** 21 reads, one per expiry (20 expiries, TestClock), the document changing once; what the server and the store were sent. */
export const measure = (store: Backend["Service"], mode: Mode) =>
  Effect.gen(function*() {
    const conditional = mode !== "plain"
    const sent: Sent = { calls: {}, bytes: 0 }
    const backend = counted(store, sent, mode === "conditional, in place")
    const served: Served = { requests: 0, full: 0, notModified: 0, bodyBytes: 0 }
    const state = { version: 1 }
    const server = yield* source(state, served)
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/document`
    const region = yield* Region.make({
      name: `conditional-example-${mode.replace(/\W+/g, "-")}-${process.pid}-${Date.now().toString(36)}`,
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
    return { served, creatorMs: creatorTime.ms, versions, sent }
  }).pipe(Effect.scoped)

const line = (label: string, r: Effect.Success<ReturnType<typeof measure>>) =>
  `${label}: ${r.served.requests} requests, ${r.served.full} full, ${r.served.notModified} not modified, ` +
  `${r.served.bodyBytes} body bytes, creator time ${r.creatorMs.toFixed(1)} ms, versions ${r.versions[0]}..${r.versions.at(-1)}`

const storeLine = (label: string, r: Effect.Success<ReturnType<typeof measure>>, serverBytes: number | undefined) => {
  const calls = Object.entries(r.sent.calls).sort(([a], [b]) => a.localeCompare(b)).map(([op, n]) => `${op} ${n}`).join(", ")
  const server = serverBytes === undefined ? "" : `; the server received ${serverBytes} bytes`
  return `${label}, to the store: ${r.sent.bytes} bytes written; calls: ${calls}${server}`
}

const main = Effect.gen(function*() {
  const url = process.env["REDIS_URL"]
  const s = yield* store(url)
  const [without, withoutIn] = yield* received(s, measure(s.backend, "plain"))
  const [rewritten, rewrittenIn] = yield* received(s, measure(s.backend, "conditional, rewritten"))
  const [withIt, withIn] = yield* received(s, measure(s.backend, "conditional, in place"))
  yield* Effect.log(line("without conditional refresh", without))
  yield* Effect.log(line("with conditional refresh", withIt))
  yield* Effect.log(
    `body bytes saved: ${without.served.bodyBytes - withIt.served.bodyBytes} ` +
      `(${(withIt.served.bodyBytes / without.served.bodyBytes).toFixed(3)} of the plain refresh); store: ${url === undefined ? "memory" : "redis"}`
  )
  yield* Effect.log(storeLine("without conditional refresh", without, withoutIn))
  yield* Effect.log(storeLine("conditional, renewals rewritten", rewritten, rewrittenIn))
  yield* Effect.log(storeLine("conditional, renewals in place", withIt, withIn))
}).pipe(Effect.scoped)

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  Effect.runPromise(main.pipe(Effect.provide(Layer.mergeAll(TestClock.layer(), FetchHttpClient.layer))))
}
