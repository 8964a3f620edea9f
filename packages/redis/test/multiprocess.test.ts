/**
 * Several processes against one Redis: the dogpile guarantees hold across
 * processes. Each test spawns worker processes (test/fixtures/worker.ts) that
 * share a cold key; creator calls are counted with INCR on the shared test
 * server, which is never flushed or stopped.
 */
import { assert, describe, it } from "@effect/vitest"
import { type ChildProcess, spawn } from "node:child_process"
import { fileURLToPath } from "node:url"
import { Redis } from "ioredis"
import { afterAll, inject } from "vitest"
import { startRedisServer } from "../../../test-support/redis-server.ts"
import type { WorkerArgs, WorkerResult } from "./fixtures/worker.ts"

const counterUrl = inject("redisUrl")
const repoRoot = fileURLToPath(new URL("../../../", import.meta.url))
const workerPath = fileURLToPath(new URL("./fixtures/worker.ts", import.meta.url))
const counter = new Redis(counterUrl)
afterAll(() => counter.disconnect())

const unique = `mp:${process.pid}:${Date.now().toString(36)}`
let n = 0
const fresh = (label: string) => ({ key: `${unique}:${label}:${n}`, counterKey: `${unique}:count:${label}:${n++}` })

interface Running {
  readonly child: ChildProcess
  readonly ready: Promise<void>
  readonly result: Promise<WorkerResult>
}

const spawnWorker = (args: WorkerArgs): Running => {
  const env = { ...process.env }
  delete env["NODE_OPTIONS"]
  const child = spawn(
    process.execPath,
    ["--conditions=@dogpile-effect/source", "--import", "tsx", workerPath, JSON.stringify(args)],
    { cwd: repoRoot, env, stdio: ["pipe", "pipe", "pipe"] }
  )
  let out = ""
  let err = ""
  let markReady: () => void = () => {}
  const ready = new Promise<void>((resolve) => {
    markReady = resolve
  })
  child.stdout?.on("data", (chunk: Buffer) => {
    out += chunk.toString()
    if (out.includes("ready\n")) markReady()
  })
  child.stderr?.on("data", (chunk: Buffer) => {
    err += chunk.toString()
  })
  const result = new Promise<WorkerResult>((resolve, reject) => {
    child.once("exit", (code) => {
      const line = out.split("\n").find((l) => l.startsWith("{\"pid\""))
      if (code === 0 && line !== undefined) resolve(JSON.parse(line) as WorkerResult)
      else reject(new Error(`worker exited with ${code}: ${err}\n${out}`))
    })
  })
  return { child, ready, result }
}

/** Starts `count` workers, waits until all are ready, says go, and collects their results. */
const runWorkers = async (
  count: number,
  args: (i: number) => WorkerArgs,
  during?: () => Promise<void>
): Promise<ReadonlyArray<WorkerResult>> => {
  const workers = Array.from({ length: count }, (_, i) => spawnWorker(args(i)))
  try {
    await Promise.all(workers.map((w) => w.ready))
    for (const w of workers) w.child.stdin?.write("go\n")
    const [results] = await Promise.all([Promise.all(workers.map((w) => w.result)), during?.()])
    return results
  } finally {
    for (const w of workers) if (w.child.exitCode === null) w.child.kill("SIGKILL")
  }
}

const sum = (record: Record<string, number>) => Object.values(record).reduce((a, b) => a + b, 0)
const creations = async (counterKey: string) => Number(await counter.get(counterKey))
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

describe("multi-process", () => {
  it("4 processes × 50 fibers on one cold key: exactly one creator call in total", async () => {
    const { counterKey, key } = fresh("cold")
    const results = await runWorkers(4, () => ({ url: counterUrl, counterUrl, counterKey, key, fibers: 50, creatorMs: 100 }))
    assert.strictEqual(await creations(counterKey), 1)
    for (const r of results) {
      assert.deepStrictEqual(r.values, { "value-1": 50 }, JSON.stringify(r))
      assert.deepStrictEqual(r.errors, {})
    }
  })

  it("a creator slower than the lock TTL keeps the lock (renewal): still one call", async () => {
    const { counterKey, key } = fresh("slow")
    const results = await runWorkers(3, () => ({
      url: counterUrl, counterUrl, counterKey, key, fibers: 30, creatorMs: 1_200, lockTtlMs: 250
    }))
    assert.strictEqual(await creations(counterKey), 1)
    for (const r of results) {
      assert.deepStrictEqual(r.values, { "value-1": 30 })
      assert.strictEqual(r.lost, 0)
    }
  })

  for (const policy of ["log", "fail"] as const) {
    it(`FLUSHALL during creation: callers get values; policy "${policy}" applied to the lost lock`, async () => {
      const server = await startRedisServer()
      try {
        const { counterKey, key } = fresh(`flush-${policy}`)
        const results = await runWorkers(
          3,
          () => ({ url: server.url, counterUrl, counterKey, key, fibers: 20, creatorMs: 600, onLost: policy }),
          async () => {
            await sleep(300)
            const admin = new Redis(server.url)
            await admin.flushall()
            admin.disconnect()
          }
        )
        const lost = results.reduce((a, r) => a + r.lost, 0)
        const errors = results.reduce((a, r) => a + sum(r.errors), 0)
        const values = results.reduce((a, r) => a + sum(r.values), 0)
        // The flush dropped the lock: another process may have started a second creator.
        const calls = await creations(counterKey)
        assert.isAtLeast(lost, 1, "the creator's lost lock was detected and counted")
        assert.isAtMost(lost, calls)
        if (policy === "log") {
          assert.strictEqual(errors, 0, JSON.stringify(results))
          assert.strictEqual(values, 60)
        } else {
          // Only the creating callers of a lost lock fail; every other caller gets a value.
          for (const r of results) assert.deepStrictEqual(Object.keys(r.errors).filter((t) => t !== "LockLostError"), [])
          assert.strictEqual(errors, lost)
          assert.strictEqual(values, 60 - lost)
        }
      } finally {
        await server.dispose()
      }
    })
  }

  it("stopping the server mid-run: every call answers within the bound; the same Layers recover after restart", async () => {
    const server = await startRedisServer()
    try {
      const { counterKey, key } = fresh("restart")
      const bound = 1_000
      const results = await runWorkers(
        4,
        (i) => ({
          url: server.url, counterUrl, counterKey, key, fibers: 20, creatorMs: 20, keys: 5,
          // After the restart, reconnection may wait one full backoff step (maxReconnectDelay, 1 s):
          // leave ~2 s after it so a loaded machine still sees the recovery.
          durationMs: 4_000, commandTimeoutMs: 500,
          onBackendError: i % 2 === 0 ? "fail" : "bypass"
        }),
        async () => {
          await sleep(1_000)
          await server.stop()
          await sleep(800)
          await server.start()
        }
      )
      results.forEach((r, i) => {
        assert.isBelow(r.maxLatencyMs, bound, `slowest call of worker ${i}: ${r.maxLatencyMs} ms`)
        assert.isTrue(r.lastOk, `worker ${i} recovered after the restart: ${JSON.stringify(r)}`)
        assert.isAbove(r.calls, 100)
        if (i % 2 === 0) {
          // fail mode: the outage shows up as typed BackendErrors only.
          assert.deepStrictEqual(Object.keys(r.errors), ["BackendError"], JSON.stringify(r))
        } else {
          // bypass mode: every call returned a value.
          assert.deepStrictEqual(r.errors, {}, JSON.stringify(r))
        }
      })
    } finally {
      await server.dispose()
    }
  })
})
