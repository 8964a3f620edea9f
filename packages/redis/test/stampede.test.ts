/**
 * Stampedes across real processes (issue 22, item 3): 16 processes × 50
 * callers against one cold key, on one server and on a 3-master Cluster.
 * Exactly one creator run, and the Redis commands of every waiting process
 * counted per connection: each worker names its connections, a `MONITOR` on
 * every node sees each top-level command with its client's address (commands
 * a script calls show as "lua" and are not counted), and `CLIENT LIST` maps
 * the addresses to the names. A waiter of a live holder sends nothing until
 * the release wakes it, so a waiting process costs its read, its lock attempt
 * and its read after the release.
 */
import { type ChildProcess, spawn } from "node:child_process"
import { connect } from "node:net"
import { createInterface } from "node:readline"
import { fileURLToPath } from "node:url"
import { Redis } from "ioredis"
import { afterAll, assert, beforeAll, describe, inject, it } from "vitest"
import { type RedisCluster, type RedisServer, startRedisCluster, startRedisServer } from "../../../test-support/redis-server.ts"
import type { StampedeArgs, StampedeResult } from "./fixtures/stampede-worker.ts"

const counterUrl = inject("redisUrl")
const repoRoot = fileURLToPath(new URL("../../../", import.meta.url))
const workerPath = fileURLToPath(new URL("./fixtures/stampede-worker.ts", import.meta.url))
const counter = new Redis(counterUrl)
const unique = `st:${process.pid}:${Date.now().toString(36)}`

const PROCESSES = 16
const LEASE_MS = 3_000
const IGNORED = new Set(["cluster", "quit"])
const CALLERS = 50

let server: RedisServer | undefined
let cluster: RedisCluster | undefined
beforeAll(async () => {
  ;[server, cluster] = await Promise.all([startRedisServer(), startRedisCluster()])
}, 60_000)
afterAll(async () => {
  counter.disconnect()
  await Promise.all([server?.dispose(), cluster?.dispose()])
})

interface Worker {
  readonly child: ChildProcess
  readonly ready: Promise<void>
  /** Sends "go", resolves with the round's result line. */
  readonly go: (key: string, creatorMs: number) => Promise<StampedeResult>
}

const spawnWorker = (args: StampedeArgs): Worker => {
  const env = { ...process.env }
  delete env["NODE_OPTIONS"]
  const child = spawn(
    process.execPath,
    ["--conditions=@dogpile-effect/source", "--import", "tsx", workerPath, JSON.stringify(args)],
    { cwd: repoRoot, env, stdio: ["pipe", "pipe", "pipe"] }
  )
  let err = ""
  child.stderr?.on("data", (chunk: Buffer) => {
    err += chunk.toString()
  })
  const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream })
  const next = () =>
    new Promise<string>((resolve, reject) => {
      const onExit = (code: number | null, signal: string | null) =>
        reject(new Error(`worker exited with ${code ?? signal}: ${err}`))
      child.once("exit", onExit)
      // Log lines (a slow first connection warns) are not answers.
      const onLine = (line: string) => {
        if (line !== "ready" && !line.startsWith("{")) return
        lines.off("line", onLine)
        child.off("exit", onExit)
        resolve(line)
      }
      lines.on("line", onLine)
    })
  const ready = next().then((line) => assert.strictEqual(line, "ready"))
  const go = (key: string, creatorMs: number) => {
    const result = next().then((line) => JSON.parse(line) as StampedeResult)
    child.stdin?.write(`go ${key} ${creatorMs}\n`)
    return result
  }
  return { child, ready, go }
}

/** Top-level commands per client address on the monitored nodes (a raw `MONITOR` connection each), until `stop()`. */
const monitorNodes = async (urls: ReadonlyArray<string>) => {
  const monitors = await Promise.all(urls.map(async (url) => {
    // A raw connection in MONITOR mode: every line is a RESP simple string ("+OK", then one per command).
    const socket = connect(Number(new URL(url).port), "127.0.0.1")
    let out = ""
    const started = new Promise<void>((resolve) => {
      socket.on("data", (chunk: Buffer) => {
        out += chunk.toString()
        if (out.startsWith("+OK")) resolve()
      })
    })
    socket.write("MONITOR\r\n")
    await started
    // The workers' connections are open (they are ready): their names, by address.
    const admin = new Redis(url)
    const list = String(await admin.call("CLIENT", "LIST"))
    admin.disconnect()
    const names = new Map(list.split("\n").flatMap((line) => {
      const addr = /addr=(\S+)/.exec(line)?.[1]
      return addr === undefined ? [] : [[addr, /name=(\S*)/.exec(line)?.[1] ?? ""] as const]
    }))
    return { url, socket, lines: () => out.split("\r\n").map((line) => line.slice(1)), names }
  }))
  /** Stops monitoring; commands per connection name (`CLIENT LIST`), unnamed ones under "". */
  const stop = async (): Promise<Map<string, number>> => {
    // A marker command: once every monitor has seen it, every command before it has been seen.
    const admins = monitors.map(({ url }) => new Redis(url))
    const marker = `monitor-end-${Date.now()}`
    await Promise.all(admins.map((admin) => admin.echo(marker)))
    await until(async () => monitors.every(({ lines }) => lines().some((line) => line.includes(marker))), "the monitors")
    const byName = new Map<string, number>()
    for (const [i, { lines, names, socket }] of monitors.entries()) {
      for (const line of lines()) {
        const match = /^\d+\.\d+ \[\d+ (\S+)\] "([^"]*)"/.exec(line)
        if (match === null || line.includes(marker)) continue
        const [, source, command] = match
        // Not the stampede's: commands scripts call, the Cluster's slot refreshes, the workers' QUIT on exit.
        if (source === "lua" || IGNORED.has(command?.toLowerCase() ?? "")) continue
        const name = names.get(source as string) ?? ""
        byName.set(name, (byName.get(name) ?? 0) + 1)
      }
      socket.destroy()
      ;(admins[i] as Redis).disconnect()
    }
    return byName
  }
  return { stop }
}

interface Target {
  readonly urls: ReadonlyArray<string>
  readonly connect: Pick<StampedeArgs, "url" | "nodes">
}

const onServer = (): Target => {
  const s = server as RedisServer
  return { urls: [s.url], connect: { url: s.url } }
}
const onCluster = (): Target => {
  const c = cluster as RedisCluster
  return { urls: c.servers.map((s) => s.url), connect: { nodes: c.nodes } }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/** Waits until `check` holds (a condition of the run, not a timing). */
const until = async (check: () => Promise<boolean>, what: string) => {
  for (let i = 0; i < 1200; i++) {
    if (await check()) return
    await sleep(50)
  }
  throw new Error(`timed out waiting for ${what}`)
}

/** The names of the subscribed connections (`sub=1`) on the nodes. */
const subscribedNames = async (urls: ReadonlyArray<string>) => {
  const names = new Set<string>()
  for (const url of urls) {
    const admin = new Redis(url)
    const list = String(await admin.call("CLIENT", "LIST"))
    admin.disconnect()
    for (const line of list.split("\n")) {
      const name = /name=(\S*)/.exec(line)?.[1]
      if (name !== undefined && / sub=[1-9]/.test(line)) names.add(name.replace(/^ioredis-cluster\(subscriber\):/, ""))
    }
  }
  return names
}

/** 16 workers on `target`, each with its connections named `<label>-w<i>`, ready and subscribed. */
const startWorkers = async (target: Target, label: string): Promise<ReadonlyArray<Worker>> => {
  const name = (i: number) => `${label}-w${i}`
  const workers = Array.from({ length: PROCESSES }, (_, i) =>
    spawnWorker({
      ...target.connect,
      connectionName: name(i),
      counterUrl,
      // The warm-up key shares the rounds' hash tag: their node has the scripts loaded.
      warmKey: `{${unique}:${label}}:warm`,
      fibers: CALLERS,
      leaseMs: LEASE_MS
    }))
  await Promise.all(workers.map((w) => w.ready))
  // A lock's subscriber connects on its own: the rounds start once every process hears releases.
  await until(async () => {
    const subscribed = await subscribedNames(target.urls)
    return workers.every((_, i) => subscribed.has(name(i)))
  }, "every worker's subscription")
  return workers
}

const keyOf = (label: string, round: string) => `{${unique}:${label}}:${round}`
const creations = async (key: string) => Number(await counter.get(`${key}:count`))

/** One stampede: every worker at once; commands counted per worker. */
const stampede = async (target: Target, workers: ReadonlyArray<Worker>, label: string) => {
  const key = keyOf(label, "cold")
  const monitor = await monitorNodes(target.urls)
  const results = await Promise.all(workers.map((w) => w.go(key, 200)))
  const commands = await monitor.stop()
  return { results, commands, creations: await creations(key), name: (i: number) => `${label}-w${i}` }
}

const checkStampede = (run: Awaited<ReturnType<typeof stampede>>) => {
  const { commands, creations, name, results } = run
  assert.strictEqual(creations, 1, "one creator run in all")
  assert.strictEqual(results.filter((r) => r.created > 0).length, 1)
  for (const r of results) {
    assert.deepStrictEqual(r.values, { "value-1": CALLERS }, JSON.stringify(r))
    assert.deepStrictEqual(r.errors, {})
  }
  const perProcess = results.map((_, i) => commands.get(name(i)) ?? 0)
  // Waiting processes: their attempt found the lock held, and they waited for its release.
  const waiting = results.flatMap((r, i) => (r.took === 0 && r.awaited > 0 ? [i] : []))
  console.log(
    `commands per process: ${perProcess.join(" ")}; waiting processes: ${waiting.join(" ")}; ` +
      `unattributed: ${commands.get("") ?? 0}`
  )
  assert.isAtLeast(waiting.length, 1)
  // A waiting process: its read (MGET), its lock attempt (answered "held", with the lease left), its read after
  // the release woke it. At least 2: the counting sees every process.
  for (const i of waiting) {
    assert.isAtMost(perProcess[i] as number, 3, `commands per process: ${perProcess.join(" ")}`)
    assert.isAtLeast(perProcess[i] as number, 2, `commands per process: ${perProcess.join(" ")}`)
  }
  // Any other process: the creator (the read, the attempt that took the lock, the store that releases it), or
  // one that read the miss before the store and tried after the release (at most 5 on the usual path).
  for (const count of perProcess) assert.isAtMost(count, 5)
}

/** A holder SIGKILLed mid-creation: the others wait for its lease to run out, then one of them creates. */
const killedHolder = async (workers: ReadonlyArray<Worker>, label: string) => {
  const key = keyOf(label, "killed")
  const [holder, ...others] = workers as [Worker, ...Array<Worker>]
  holder.go(key, 60_000).catch(() => {})
  await until(async () => (await creations(key)) === 1, "the holder's creator to start")
  const results = others.map((w) => w.go(key, 200))
  // The others are waiting once each has read the miss; the holder dies with the lock held.
  await sleep(300)
  holder.child.kill("SIGKILL")
  const done = await Promise.all(results)
  assert.strictEqual(await creations(key), 2, "the killed holder's run and exactly one new one")
  assert.strictEqual(done.reduce((a, r) => a + r.created, 0), 1)
  for (const r of done) {
    assert.deepStrictEqual(r.values, { "value-2": CALLERS }, JSON.stringify(r))
    assert.deepStrictEqual(r.errors, {})
  }
}

for (const [where, target, label] of [["one server", onServer, "one"], ["3-master cluster", onCluster, "cl"]] as const) {
  describe(`stampede on ${where}: 16 processes × 50 callers, 200 ms creator`, () => {
    let workers: ReadonlyArray<Worker> = []
    beforeAll(async () => {
      workers = await startWorkers(target(), label)
    }, 300_000)
    afterAll(() => {
      for (const w of workers) if (w.child.exitCode === null) w.child.kill("SIGKILL")
    })

    it("one creator run; a waiting process sends at most 3 commands (counted per connection)", async () => {
      checkStampede(await stampede(target(), workers, label))
    }, 120_000)

    it("a holder SIGKILLed mid-creation is replaced once its lease runs out, by exactly one creator run", async () => {
      await killedHolder(workers, label)
    }, 120_000)
  })
}
