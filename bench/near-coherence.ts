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
 * write itself, which the first view counts against the near cache (the last
 * column counts the stale reads whose write was not even acknowledged to its
 * writer within the bound). Both
 * processes read one clock (`performance.timeOrigin + performance.now()`).
 * Then the same with `redis-cli` as the writer (one process fed SET lines on
 * its standard input, its "OK" lines the replies), CLI_WRITES times (default
 * 1,000; REDIS_CLI_BIN picks the binary). Starts its own redis-server on a
 * free loopback port unless REDIS_URL is set.
 */
import { Backend } from "@dogpile-effect/core"
import { NearCache, RedisBackend, RedisClient } from "@dogpile-effect/redis"
import { Tracking } from "@dogpile-effect/redis/toolkit"
import { fork, spawn } from "node:child_process"
import { Context, Effect, Layer, Option } from "effect"
import { startRedisServer } from "../test-support/redis-server.ts"

const WRITES = Number(process.env["WRITES"] ?? 10_000)
const CLI_WRITES = Number(process.env["CLI_WRITES"] ?? 1_000)
const REDIS_CLI = process.env["REDIS_CLI_BIN"] ?? "redis-cli"
const BOUND_MS = 5
const external = process.env["REDIS_URL"]
const server = external === undefined ? await startRedisServer() : undefined
const url = external ?? (server as { url: string }).url

/** A clock both processes read. */
const wall = () => performance.timeOrigin + performance.now()

/** One SET by another client: when it was sent, and when its reply arrives. */
interface Writer {
  readonly write: (key: string, value: string) => Promise<{ readonly sentAt: number; readonly replied: Promise<number> }>
  readonly close: () => void
}

/** Lines (or messages) from a child process, awaited one at a time; the child's exit fails the wait. */
const inbox = <A>() => {
  const items: Array<A | Error> = []
  let arrived: (() => void) | undefined
  return {
    push: (item: A | Error) => {
      items.push(item)
      arrived?.()
    },
    next: async (): Promise<A> => {
      while (items.length === 0) await new Promise<void>((resolve) => (arrived = resolve))
      const item = items.shift() as A | Error
      if (item instanceof Error) throw item
      return item
    }
  }
}

/** `near-coherence-writer.ts` in another Node process, on a plain ioredis connection. */
const nodeWriter = async (): Promise<Writer> => {
  const child = fork(new URL("./near-coherence-writer.ts", import.meta.url), [url], { execArgv: ["--import", "tsx"] })
  const replies = inbox<Record<string, number | string | boolean>>()
  child.on("message", (message: Record<string, number | string | boolean>) =>
    replies.push("error" in message ? new Error(`writer: ${String(message["error"])}`) : message))
  child.on("exit", (code) => replies.push(new Error(`the writer process exited (code ${String(code)})`)))
  await replies.next() // ready
  return {
    write: async (key, value) => {
      child.send({ key, value })
      const sentAt = (await replies.next())["sentAt"] as number
      return { sentAt, replied: replies.next().then((reply) => reply["repliedAt"] as number) }
    },
    close: () => void (child.connected ? child.send("stop") : child.kill())
  }
}

/** One `redis-cli` process fed SET commands on its standard input; its "OK" lines are the replies. */
const cliWriter = (): Writer => {
  const port = new URL(url).port || "6379"
  const child = spawn(REDIS_CLI, ["-h", new URL(url).hostname, "-p", port], { stdio: ["pipe", "pipe", "inherit"] })
  const replies = inbox<number>()
  let pending = ""
  child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
    pending += chunk
    for (let end = pending.indexOf("\n"); end >= 0; end = pending.indexOf("\n")) {
      const line = pending.slice(0, end).trim()
      pending = pending.slice(end + 1)
      replies.push(line === "OK" ? wall() : new Error(`redis-cli: ${line}`))
    }
  })
  child.on("exit", (code) => replies.push(new Error(`redis-cli exited (code ${String(code)})`)))
  return {
    write: async (key, value) => {
      const sentAt = wall()
      child.stdin.write(`SET ${key} ${value}\n`)
      return { sentAt, replied: replies.next() }
    },
    close: () => void child.stdin.end()
  }
}

/** `writes` writes by `writer`, each measured from the SET sent and from its reply; the table rows. */
const measure = (label: string, writes: number, open: () => Promise<Writer>) =>
  Effect.gen(function*() {
    const reader = yield* Layer.build(
      NearCache.layer({ maxAge: "never" }).pipe(Layer.provide(RedisBackend.layer()), Layer.provideMerge(RedisClient.layer({ url })))
    )
    const backend = Context.get(reader, Backend)
    const near = Context.get(reader, NearCache.NearCache)
    const tracking = yield* Tracking.acquire(Context.get(reader, RedisClient.RedisClient).client as Tracking.Connection, { settleMs: 1_000, heartbeatMs: 1_000 })
    const writer = yield* Effect.acquireRelease(Effect.promise(open), (w) => Effect.sync(w.close))
    const key = "coherence:k"
    const decoder = new TextDecoder()
    let waiting: { readonly key: string; readonly resolve: () => void } | undefined
    tracking.listen({
      invalidate: (keys) => {
        if (waiting !== undefined && keys.includes(waiting.key)) waiting.resolve()
      },
      flush: () => {}
    })
    /** How long after its deadline the last read was made (the reader's own delay). */
    let readLate = 0
    /** What a read through the near cache returns at `deadline` (or at once if the invalidation came first). */
    const readAt = (deadline: number, heard: Promise<void>) =>
      Effect.gen(function*() {
        yield* Effect.promise(() => Promise.race([heard, new Promise((resolve) => setTimeout(resolve, Math.max(0, deadline - wall())))]))
        while (wall() < deadline) yield* Effect.promise(() => new Promise((resolve) => setImmediate(resolve)))
        readLate = wall() - deadline
        return Option.getOrUndefined(Option.map(yield* backend.get(key), (bytes) => decoder.decode(bytes)))
      })
    const afterSend: Array<number> = []
    const afterReply: Array<number> = []
    let stale = 0
    let staleLateWrite = 0
    let staleAfterReply = 0
    yield* Effect.promise(() => writer.write(key, "0").then((w) => w.replied))
    for (let i = 1; i <= writes; i++) {
      // Keep the current value locally (a read right after a write may be overtaken by that write's invalidation).
      while ((yield* near.entries) === 0) yield* backend.get(key)
      let heardAt = Number.NaN
      const heard = new Promise<void>((resolve) => (waiting = { key, resolve: () => resolve(void (heardAt = wall())) }))
      const { sentAt, replied } = yield* Effect.promise(() => writer.write(key, String(i)))
      // The bound: 5 ms after the SET was sent, a read must see the new value; and 5 ms after its reply.
      const seenAfterSend = yield* readAt(sentAt + BOUND_MS, heard)
      const repliedAt = yield* Effect.promise(() => replied)
      const seenAfterReply = yield* readAt(repliedAt + BOUND_MS, heard)
      yield* Effect.promise(() => heard)
      afterSend.push(heardAt - sentAt)
      afterReply.push(heardAt - repliedAt)
      waiting = undefined
      if (seenAfterSend !== String(i)) {
        stale++
        if (repliedAt - sentAt > BOUND_MS) staleLateWrite++
      }
      if (seenAfterReply !== String(i)) {
        staleAfterReply++
        // Why: the invalidation heard this late after the reply, with the reader on time, was sent (or delivered) late.
        console.error(
          `${label}: stale 5 ms after the reply of write ${i}: invalidation heard ${(heardAt - repliedAt).toFixed(3)} ms ` +
            `after the reply; the read was made ${readLate.toFixed(3)} ms after its bound`
        )
      }
    }
    return [
      `| ${label}, ${writes.toLocaleString("en-US")} writes | the SET was sent | ${quantiles(afterSend)} | ${stale} | ${staleLateWrite} |`,
      `| ${label}, ${writes.toLocaleString("en-US")} writes | its reply (the write done) | ${quantiles(afterReply)} | ${staleAfterReply} | |`
    ]
  }).pipe(Effect.scoped)

const quantiles = (values: Array<number>) => {
  const sorted = values.sort((a, b) => a - b)
  const at = (q: number) => Math.max(0, sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? NaN).toFixed(3)
  return `${at(0.5)} ms | ${at(0.99)} ms | ${at(0.999)} ms | ${at(1)} ms`
}

const program = Effect.gen(function*() {
  const rows = [
    ...(yield* measure("Node + ioredis", WRITES, nodeWriter)),
    ...(CLI_WRITES > 0 ? yield* measure("redis-cli", CLI_WRITES, async () => cliWriter()) : [])
  ]
  return [
    "| writer | invalidation heard after | p50 | p99 | p99.9 | max | stale reads 5 ms after | of which the write's own reply came later than 5 ms |",
    "|---|---|---:|---:|---:|---:|---:|---:|",
    ...rows
  ].join("\n")
})

try {
  const table = await Effect.runPromise(program)
  console.log(`Near-cache coherence on loopback, Node ${process.version}\n`)
  console.log(table)
} finally {
  await server?.dispose()
}
