/**
 * Near-cache coherence: how long after another client's write the reader's
 * local copy is gone, and whether any read after that still sees the old value.
 *
 *   pnpm bench near-coherence
 *   (or, after `pnpm build`: node --import tsx bench/near-coherence.ts)
 *
 * A reader (NearCache over RedisBackend, its own connection) keeps a key; a
 * writer in another process (`near-coherence-writer.ts`, plain ioredis)
 * overwrites it, WRITES times (default 10,000). Per write: the time from the
 * writer sending its SET to the reader's invalidation arriving, and a read
 * through the near cache 5 ms after the SET was sent, which must return the
 * new value (a stale read is counted). The same from the SET's reply (the
 * write done at the server): a stall of the server or the machine delays the
 * write itself, which the first view counts against the near cache. Both
 * processes read one clock (`performance.timeOrigin + performance.now()`).
 * Starts its
 * own redis-server on a free loopback port unless REDIS_URL is set.
 */
import { Backend } from "@dogpile-effect/core"
import { NearCache, RedisBackend, RedisClient, Tracking } from "@dogpile-effect/redis"
import { fork } from "node:child_process"
import { Context, Effect, Layer, Option } from "effect"
import { startRedisServer } from "../test-support/redis-server.ts"

const WRITES = Number(process.env["WRITES"] ?? 10_000)
const BOUND_MS = 5
const external = process.env["REDIS_URL"]
const server = external === undefined ? await startRedisServer() : undefined
const url = external ?? (server as { url: string }).url

const program = Effect.gen(function*() {
  const reader = yield* Layer.build(
    NearCache.layer({ maxAge: "never" }).pipe(Layer.provide(RedisBackend.layer()), Layer.provideMerge(RedisClient.layer({ url })))
  )
  const backend = Context.get(reader, Backend)
  const near = Context.get(reader, NearCache.NearCache)
  const tracking = yield* Tracking.acquire(Context.get(reader, RedisClient.RedisClient).client as Tracking.Connection, { settleMs: 1_000, heartbeatMs: 1_000 })
  const writer = yield* Effect.acquireRelease(
    Effect.sync(() => fork(new URL("./near-coherence-writer.ts", import.meta.url), [url], { execArgv: ["--import", "tsx"] })),
    (child) => Effect.sync(() => child.connected ? child.send("stop") : child.kill())
  )
  const replies: Array<Record<string, number | string | boolean>> = []
  let replyArrived: (() => void) | undefined
  writer.on("message", (message: Record<string, number | string | boolean>) => {
    replies.push(message)
    replyArrived?.()
  })
  writer.on("exit", (code) => {
    replies.push({ error: `the writer process exited (code ${String(code)})` })
    replyArrived?.()
  })
  const nextReply = Effect.promise(async () => {
    while (replies.length === 0) await new Promise<void>((resolve) => (replyArrived = resolve))
    const reply = replies.shift() as Record<string, number | string | boolean>
    if ("error" in reply) throw new Error(`writer: ${String(reply["error"])}`)
    return reply
  })
  yield* nextReply // ready
  const wall = () => performance.timeOrigin + performance.now()
  const key = "coherence:k"
  const decoder = new TextDecoder()
  let waiting: { readonly key: string; readonly resolve: () => void } | undefined
  tracking.listen({
    invalidate: (keys) => {
      if (waiting !== undefined && keys.includes(waiting.key)) waiting.resolve()
    },
    flush: () => {}
  })
  /** What a read through the near cache returns at `deadline` (or at once if the invalidation came first). */
  const readAt = (deadline: number, heard: Promise<void>) =>
    Effect.gen(function*() {
      yield* Effect.promise(() => Promise.race([heard, new Promise((resolve) => setTimeout(resolve, Math.max(0, deadline - wall())))]))
      while (wall() < deadline) yield* Effect.promise(() => new Promise((resolve) => setImmediate(resolve)))
      return Option.getOrUndefined(Option.map(yield* backend.get(key), (bytes) => decoder.decode(bytes)))
    })
  const afterSend: Array<number> = []
  const afterReply: Array<number> = []
  let stale = 0
  let staleAfterReply = 0
  writer.send({ key, value: "0" })
  yield* nextReply
  yield* nextReply
  for (let i = 1; i <= WRITES; i++) {
    // Keep the current value locally (a read right after a write may be overtaken by that write's invalidation).
    while ((yield* near.entries) === 0) yield* backend.get(key)
    let heardAt = Number.NaN
    const heard = new Promise<void>((resolve) => (waiting = { key, resolve: () => resolve(void (heardAt = wall())) }))
    writer.send({ key, value: String(i) })
    const sentAt = (yield* nextReply)["sentAt"] as number
    // The bound: 5 ms after the SET was sent, a read must see the new value; and 5 ms after its reply.
    const seenAfterSend = yield* readAt(sentAt + BOUND_MS, heard)
    const repliedAt = (yield* nextReply)["repliedAt"] as number
    const seenAfterReply = yield* readAt(repliedAt + BOUND_MS, heard)
    yield* Effect.promise(() => heard)
    afterSend.push(heardAt - sentAt)
    afterReply.push(heardAt - repliedAt)
    waiting = undefined
    if (seenAfterSend !== String(i)) stale++
    if (seenAfterReply !== String(i)) staleAfterReply++
  }
  const quantiles = (values: Array<number>) => {
    const sorted = values.sort((a, b) => a - b)
    const at = (q: number) => Math.max(0, sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? NaN).toFixed(3)
    return `${at(0.5)} ms | ${at(0.99)} ms | ${at(0.999)} ms | ${at(1)} ms`
  }
  return [
    `| ${WRITES.toLocaleString("en-US")} writes, invalidation heard after | p50 | p99 | p99.9 | max | stale reads 5 ms after |`,
    "|---|---:|---:|---:|---:|---:|",
    `| the SET was sent | ${quantiles(afterSend)} | ${stale} |`,
    `| the SET's reply (the write done) | ${quantiles(afterReply)} | ${staleAfterReply} |`
  ].join("\n")
})

try {
  const table = await Effect.runPromise(Effect.scoped(program))
  console.log(`Near-cache coherence on loopback, Node ${process.version}\n`)
  console.log(table)
} finally {
  await server?.dispose()
}
