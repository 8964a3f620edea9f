/**
 * Cross-process stampede: PROCESSES (default 16) processes × CALLERS (default
 * 50) concurrent callers ask for the same cold key; the creator takes 200 ms.
 * Goals: one creator call in total, the slowest caller answered within 215 ms
 * of the start, at most 3 Redis commands per waiting process.
 *
 *   pnpm exec tsx --conditions=@dogpile-effect/source bench/stampede.ts
 *   CLUSTER=1 ...   (a local 3-master Cluster instead of one server)
 *
 * The parent starts a redis-server (or a Cluster), spawns the workers (this
 * same file with the argument "worker"), waits until each has built its
 * Layers and warmed up, then runs ROUNDS rounds, each on a fresh key: it sends
 * "go <key>" to every worker at once; each worker times its callers from the
 * moment it reads the line. Creator calls are counted with INCR in Redis.
 * Commands are counted per process: each worker names its connections
 * (`connectionName`), a raw `MONITOR` connection per node sees every
 * top-level command with its client's address (what scripts call shows as
 * "lua" and is not counted), and `CLIENT LIST` maps addresses to names. The
 * invalidation marks are read at the warm-up only (`refresh: 1 hour`), so the
 * counts are the value's and the lock's; with the default 1 s refresh a
 * process idle for over a second also reloads them (one MGET, in the same
 * round trip as its first read).
 */
import { Codec, Invalidation, Region } from "@dogpile-effect/core"
import { RedisBackend, RedisClient, RedisLock } from "@dogpile-effect/redis"
import { Effect, Layer, Schedule } from "effect"
import { Cluster, Redis } from "ioredis"
import { spawn } from "node:child_process"
import { connect } from "node:net"
import { createInterface } from "node:readline"
import { fileURLToPath } from "node:url"
import { startRedisCluster, startRedisServer } from "../test-support/redis-server.ts"

const PROCESSES = Number(process.env["PROCESSES"] ?? 16)
const CALLERS = Number(process.env["CALLERS"] ?? 50)
const CREATOR_MS = 200
const ROUNDS = Number(process.env["ROUNDS"] ?? 5)
const TAG = "{stampede}"

interface RoundResult {
  readonly slowestMs: number
  readonly medianMs: number
  readonly errors: number
  readonly created: number
}

type Where = { readonly url: string } | { readonly nodes: ReadonlyArray<{ host: string; port: number }> }

const worker = async (where: Where, name: string) => {
  const program = Effect.gen(function*() {
    const redis = yield* RedisClient.RedisClient
    const region = yield* Region.make<string>({ name: "stampede", namespace: "stampede", expiration: "1 hour" })
    // Retried while the connections come up (a loaded machine).
    yield* region.getOrCreate(`${TAG}:warm`, Effect.succeed("warm")).pipe(
      Effect.retry({ schedule: Schedule.spaced("200 millis"), times: 50 })
    )
    const lines = createInterface({ input: process.stdin })
    const next = () => new Promise<string | undefined>((resolve) => {
      lines.once("line", resolve)
      lines.once("close", () => resolve(undefined))
    })
    process.stdout.write("ready\n")
    while (true) {
      const line = yield* Effect.promise(next)
      if (line === undefined || !line.startsWith("go ")) return
      const key = line.slice(3)
      const start = performance.now()
      let created = 0
      const creator = Effect.gen(function*() {
        created++
        yield* Effect.orDie(redis.use("incr", (c) => c.incr(`${key}:creations`)))
        yield* Effect.sleep(CREATOR_MS)
        return "value"
      })
      const latencies = yield* Effect.forEach(
        Array.from({ length: CALLERS }),
        () => Effect.map(Effect.exit(region.getOrCreate(key, creator)), (exit) => ({ ok: exit._tag === "Success", ms: performance.now() - start })),
        { concurrency: "unbounded" }
      )
      const sorted = latencies.map((l) => l.ms).sort((a, b) => a - b)
      const result: RoundResult = {
        slowestMs: sorted[sorted.length - 1] ?? Number.NaN,
        medianMs: sorted[Math.floor(sorted.length / 2)] ?? Number.NaN,
        errors: latencies.filter((l) => !l.ok).length,
        created
      }
      process.stdout.write(`${JSON.stringify(result)}\n`)
    }
  })
  const client = RedisClient.layer({ ...where, connectionName: name, connectTimeout: "10 seconds", commandTimeout: "5 seconds" })
  const layers = Layer.mergeAll(
    RedisBackend.layer(),
    RedisLock.layer(),
    Codec.layerJson,
    Layer.succeed(Invalidation.CurrentInvalidation, Invalidation.shared({ refresh: "1 hour" }))
  ).pipe(Layer.provideMerge(client))
  await Effect.runPromise(program.pipe(Effect.scoped, Effect.provide(layers)))
}

// ---- counting commands ------------------------------------------------------

/** A raw MONITOR connection to each node, and the names of the clients connected there. */
const monitor = async (ports: ReadonlyArray<number>) => {
  const monitors = await Promise.all(ports.map(async (port) => {
    const admin = new Redis(port, "127.0.0.1")
    const list = String(await admin.call("CLIENT", "LIST"))
    const names = new Map(list.split("\n").flatMap((line) => {
      const addr = /addr=(\S+)/.exec(line)?.[1]
      return addr === undefined ? [] : [[addr, /name=(\S*)/.exec(line)?.[1] ?? ""] as const]
    }))
    const socket = connect(port, "127.0.0.1")
    let out = ""
    await new Promise<void>((resolve) => {
      socket.on("data", (chunk: Buffer) => {
        out += chunk.toString()
        if (out.startsWith("+OK")) resolve()
      })
      socket.write("MONITOR\r\n")
    })
    return { admin, socket, names, lines: () => out.split("\r\n") }
  }))
  /** Commands per connection name since the start (a marker ECHOed through every node ends the count). */
  const stop = async () => {
    const marker = `end-${Date.now()}`
    await Promise.all(monitors.map(({ admin }) => admin.echo(marker)))
    while (!monitors.every(({ lines }) => lines().some((l) => l.includes(marker)))) await new Promise((r) => setTimeout(r, 20))
    const counts = new Map<string, number>()
    for (const { admin, lines, names, socket } of monitors) {
      for (const line of lines()) {
        const match = /^\+\d+\.\d+ \[\d+ (\S+)\] "([^"]*)"/.exec(line)
        if (match === null || line.includes(marker)) continue
        const [, source, command] = match
        if (source === "lua" || ["cluster", "quit"].includes((command ?? "").toLowerCase())) continue
        const name = names.get(source as string) ?? ""
        counts.set(name, (counts.get(name) ?? 0) + 1)
      }
      socket.destroy()
      admin.disconnect()
    }
    return counts
  }
  return { stop }
}

// ---- the parent ---------------------------------------------------------------

const parent = async () => {
  const clustered = process.env["CLUSTER"] === "1"
  const server = clustered ? undefined : await startRedisServer()
  const cluster = clustered ? await startRedisCluster() : undefined
  const where: Where = cluster !== undefined ? { nodes: cluster.nodes } : { url: (server as { url: string }).url }
  const ports = cluster !== undefined ? cluster.nodes.map((n) => n.port) : [Number(new URL((server as { url: string }).url).port)]
  const counter = cluster !== undefined
    ? new Cluster(cluster.nodes.map(({ host, port }) => ({ host, port })))
    : new Redis((server as { url: string }).url)
  const self = fileURLToPath(import.meta.url)
  const name = (i: number) => `stampede-w${i}`
  const children = Array.from({ length: PROCESSES }, (_, i) =>
    spawn(process.execPath, [...process.execArgv, self, "worker", JSON.stringify(where), name(i)], {
      stdio: ["pipe", "pipe", "inherit"]
    }))
  try {
    const readers = children.map((child) => createInterface({ input: child.stdout }))
    // Log lines (a slow first connection warns) are not answers.
    const nextLine = (i: number) =>
      new Promise<string>((resolve, reject) => {
        const onExit = () => reject(new Error(`worker ${i} exited`))
        children[i]?.once("exit", onExit)
        const onLine = (line: string) => {
          if (line !== "ready" && !line.startsWith("{")) return
          readers[i]?.off("line", onLine)
          children[i]?.off("exit", onExit)
          resolve(line)
        }
        readers[i]?.on("line", onLine)
      })
    await Promise.all(children.map((_, i) => nextLine(i))) // "ready"
    // Each lock's subscriber connects on its own: start once every process hears releases.
    await new Promise((resolve) => setTimeout(resolve, 1_000))
    const rows: Array<string> = []
    const summary = { maxCreations: 0, slowest: [] as Array<number>, waiting: [] as Array<number> }
    for (let round = 0; round < ROUNDS; round++) {
      const key = `${TAG}:${Date.now().toString(36)}:${round}`
      const counting = await monitor(ports)
      const replies = children.map((_, i) => nextLine(i))
      for (const child of children) child.stdin.write(`go ${key}\n`)
      const results = (await Promise.all(replies)).map((line) => JSON.parse(line) as RoundResult)
      const commands = await counting.stop()
      const creations = Number(await counter.get(`${key}:creations`))
      const slowest = Math.max(...results.map((r) => r.slowestMs))
      const perProcess = results.map((_, i) => commands.get(name(i)) ?? 0)
      const waiting = perProcess.filter((_, i) => results[i]?.created === 0)
      const creator = perProcess.filter((_, i) => (results[i]?.created ?? 0) > 0)
      const errors = results.reduce((a, r) => a + r.errors, 0)
      summary.maxCreations = Math.max(summary.maxCreations, creations)
      summary.slowest.push(slowest)
      summary.waiting.push(Math.max(...waiting))
      rows.push(
        `| ${round + 1} | ${creations} | ${slowest.toFixed(1)} | ${Math.max(...waiting)} (${
          (waiting.reduce((a, b) => a + b, 0) / waiting.length).toFixed(2)
        }) | ${creator.join(", ")} | ${errors} |`
      )
    }
    console.log(
      `Cross-process stampede: ${PROCESSES} processes × ${CALLERS} callers, ${CREATOR_MS} ms creator, ${
        clustered ? "3-master Cluster" : "one server"
      }, Node ${process.version}\n`
    )
    console.log("| round | creator calls | slowest caller (ms) | commands per non-creating process: max (mean) | creator's commands | errors |")
    console.log("|---:|---:|---:|---:|---:|---:|")
    for (const row of rows) console.log(row)
    const sorted = [...summary.slowest].sort((a, b) => a - b)
    console.log(
      `\nat most ${summary.maxCreations} creator call(s) a round; slowest caller median ${
        sorted[Math.floor(sorted.length / 2)]?.toFixed(1)
      } ms (${sorted[0]?.toFixed(1)}–${sorted[sorted.length - 1]?.toFixed(1)}); at most ${
        Math.max(...summary.waiting)
      } commands per non-creating process`
    )
  } finally {
    for (const child of children) child.stdin.end()
    await Promise.all(children.map((child) => new Promise((resolve) => child.exitCode !== null ? resolve(null) : child.once("exit", resolve))))
    counter.disconnect()
    await server?.dispose()
    await cluster?.dispose()
  }
}

if (process.argv[2] === "worker") await worker(JSON.parse(process.argv[3] as string) as Where, process.argv[4] as string)
else await parent()
