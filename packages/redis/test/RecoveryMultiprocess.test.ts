/**
 * Issue 26 item 1 across real processes: the test process is A (it
 * invalidates and writes during the outage); B and C are child processes
 * (`fixtures/recovery-worker.ts`) with their own region, connections, marks
 * and near cache, warm with the pre-outage values. Redis is `SAVE`d and
 * SIGKILLed, A issues `invalidate({ hard: true })` and 1,000 `set`s, Redis
 * restarts from the snapshot (old values, old marks); once A's queue has
 * replayed, A, B and C serve 0 values older than the invalidation and every
 * `set`, with and without the near cache.
 */
import { type ChildProcessWithoutNullStreams, spawn } from "node:child_process"
import { createInterface } from "node:readline"
import { fileURLToPath } from "node:url"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Logger, Option } from "effect"
import { Redis } from "ioredis"
import { keys, processOn, type Served, served } from "./recoveryProcess.ts"
import { privateServer } from "./silentServer.ts"

const worker = fileURLToPath(new URL("./fixtures/recovery-worker.ts", import.meta.url))

/** A child process and a way to send it a command and read its one-line JSON answer. */
interface Child {
  readonly ask: (command: string) => Promise<unknown>
  readonly next: () => Promise<unknown>
  readonly process: ChildProcessWithoutNullStreams
}

const startChild = (url: string, near: boolean): Child => {
  const child = spawn(process.execPath, ["--conditions=@dogpile-effect/source", "--import", "tsx", worker, JSON.stringify({ url, near })])
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]()
  let stderr = ""
  child.stderr.on("data", (chunk: Buffer) => {
    stderr += chunk.toString()
  })
  const next = async () => {
    for (;;) {
      const line = await lines.next()
      if (line.done === true) throw new Error(`worker exited: ${stderr}`)
      if (line.value.startsWith("{")) return JSON.parse(line.value) as unknown
    }
  }
  const ask = (command: string) => {
    child.stdin.write(`${command}\n`)
    return next()
  }
  return { ask, next, process: child }
}

/** Two children, killed when the scope closes. */
const children = (url: string, near: boolean) =>
  Effect.acquireRelease(
    Effect.promise(async () => {
      const started: readonly [Child, Child] = [startChild(url, near), startChild(url, near)]
      await Promise.all(started.map((child) => child.next()))
      return started
    }),
    (started) =>
      Effect.sync(() => {
        for (const child of started) if (child.process.exitCode === null) child.process.kill("SIGKILL")
      })
  )

const raw = <A>(url: string, f: (client: Redis) => Promise<A>) =>
  Effect.promise(async () => {
    const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 })
    await client.connect()
    try {
      return await f(client)
    } finally {
      client.disconnect()
    }
  })

describe("Recovery across 3 processes, Redis SIGKILLed and restarted from a pre-outage snapshot", () => {
  for (const near of [false, true]) {
    it.live(`${near ? "near cache on" : "no near cache"}: 0 stale values and 1,000/1,000 sets in each of 3 processes after the replay`, () =>
      Effect.gen(function*() {
        const server = yield* privateServer
        const a = yield* processOn(server.url, { near, recovery: true })
        const [b, c] = yield* children(server.url, near)
        yield* a.region.setMany(keys(0, 2000).map((k) => [k, "old"] as const))
        const warm = yield* Effect.promise(() => Promise.all([b.ask("read"), c.ask("read")]))
        assert.deepStrictEqual(warm, [{ visible: 0, stale: 2000 }, { visible: 0, stale: 2000 }])
        yield* raw(server.url, (client) => client.save())
        yield* Effect.promise(() => server.kill())

        yield* Effect.sleep("20 millis")
        yield* a.region.invalidate({ hard: true })
        yield* Effect.sleep("2 millis")
        for (const k of keys(0, 1000)) yield* a.region.set(k, "new")

        yield* Effect.promise(() => server.start())
        const restored = yield* raw(server.url, (client) => client.dbsize())
        const recovery = Option.getOrThrow(a.recovery)
        yield* Effect.timeout(recovery.awaitDrained, "20 seconds")
        yield* Effect.sleep("1200 millis")
        const after: ReadonlyArray<Served | unknown> = [
          yield* served(a.region),
          ...(yield* Effect.promise(() => Promise.all([b.ask("read"), c.ask("read")])))
        ]
        const stats = yield* recovery.stats
        console.log(`3 processes (${near ? "near cache" : "redis"}): restored ${restored} keys; replayed ${stats.replayed} ` +
          `after ${stats.failedAttempts} failed probes; served ${JSON.stringify(after)}`)
        assert.isAtLeast(restored, 2000)
        assert.strictEqual(stats.replayed, 1001)
        assert.deepStrictEqual(after, [{ visible: 1000, stale: 0 }, { visible: 1000, stale: 0 }, { visible: 1000, stale: 0 }])
      }).pipe(Effect.scoped, Effect.provide(Logger.layer([]))), 120_000)
  }
})
