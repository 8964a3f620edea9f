/**
 * Near-cache coherence: how long after another client's write the reader's
 * local copy is gone, and whether any read after that still sees the old value.
 *
 *   pnpm bench near-coherence
 *   (or, after `pnpm build`: node --import tsx bench/near-coherence.ts)
 *
 * A reader (NearCache over RedisBackend, its own connection) keeps a key; a
 * writer on another connection (another process's view) overwrites it, WRITES
 * times (default 10,000). Per write: the time from the writer's SET being sent
 * to the reader's invalidation arriving, and a read through the near cache
 * 5 ms after the SET was sent, which must return the new value (a stale read
 * is counted). Starts its
 * own redis-server on a free loopback port unless REDIS_URL is set.
 */
import { Backend } from "@dogpile-effect/core"
import { NearCache, RedisBackend, RedisClient, Tracking } from "@dogpile-effect/redis"
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
  const writer = (yield* RedisClient.make({ url })).client
  const key = "coherence:k"
  const decoder = new TextDecoder()
  let waiting: { readonly key: string; readonly resolve: () => void } | undefined
  tracking.listen({
    invalidate: (keys) => {
      if (waiting !== undefined && keys.includes(waiting.key)) waiting.resolve()
    },
    flush: () => {}
  })
  const latencies: Array<number> = []
  let stale = 0
  yield* Effect.promise(() => writer.set(key, "0"))
  for (let i = 1; i <= WRITES; i++) {
    // Keep the current value locally (a read right after a write may be overtaken by that write's invalidation).
    while ((yield* near.entries) === 0) yield* backend.get(key)
    let heardAt = Number.NaN
    const heard = new Promise<void>((resolve) => (waiting = { key, resolve: () => resolve(void (heardAt = performance.now())) }))
    const start = performance.now()
    yield* Effect.promise(() => writer.set(key, String(i)))
    // The bound: 5 ms after the SET was sent, a read must see the new value.
    yield* Effect.promise(() => Promise.race([heard, new Promise((resolve) => setTimeout(resolve, Math.max(0, start + BOUND_MS - performance.now())))]))
    while (performance.now() - start < BOUND_MS) yield* Effect.promise(() => new Promise((resolve) => setImmediate(resolve)))
    const seen = Option.map(yield* backend.get(key), (bytes) => decoder.decode(bytes))
    yield* Effect.promise(() => heard)
    latencies.push(heardAt - start)
    waiting = undefined
    if (Option.getOrUndefined(seen) !== String(i)) stale++
  }
  const sorted = latencies.sort((a, b) => a - b)
  const at = (q: number) => (sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? NaN).toFixed(3)
  return [
    `| writes | invalidation after SET sent: p50 | p99 | p99.9 | max | stale reads 5 ms after the SET |`,
    "|---:|---:|---:|---:|---:|---:|",
    `| ${WRITES.toLocaleString("en-US")} | ${at(0.5)} ms | ${at(0.99)} ms | ${at(0.999)} ms | ${at(1)} ms | ${stale} |`
  ].join("\n")
})

try {
  const table = await Effect.runPromise(Effect.scoped(program))
  console.log(`Near-cache coherence on loopback, Node ${process.version}\n`)
  console.log(table)
} finally {
  await server?.dispose()
}
