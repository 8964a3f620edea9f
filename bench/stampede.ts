/**
 * Cross-process stampede: 4 processes × 250 concurrent callers ask for the same
 * cold key; the creator takes 200 ms. Goal: one creator call in total, and the
 * slowest caller answered within 230 ms of the start.
 *
 *   pnpm build && pnpm exec tsx bench/stampede.ts
 *
 * The parent starts a redis-server (unless REDIS_URL is set), spawns the
 * workers (this same file with the argument "worker"), waits until each has
 * built its Layers, then runs ROUNDS rounds, each on a fresh key: it sends
 * "go <key>" to every worker at once; each worker times its callers from the
 * moment it reads the line. Creator calls are counted with INCR in Redis.
 */
import { Codec, Region } from "@dogpile-effect/core"
import { RedisBackend, RedisClient, RedisLock } from "@dogpile-effect/redis"
import { Effect, Layer } from "effect"
import { spawn } from "node:child_process"
import { createInterface } from "node:readline"
import { fileURLToPath } from "node:url"
import { startRedisServer } from "../test-support/redis-server.ts"

const PROCESSES = 4
const CALLERS = 250
const CREATOR_MS = 200
const ROUNDS = Number(process.env["ROUNDS"] ?? 5)

interface RoundResult {
  readonly slowestMs: number
  readonly medianMs: number
  readonly errors: number
}

const worker = async (url: string) => {
  const program = Effect.gen(function*() {
    const redis = yield* RedisClient.RedisClient
    const region = yield* Region.make<string>({ name: "stampede", namespace: "stampede", expiration: "1 hour" })
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
      const creator = Effect.gen(function*() {
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
        errors: latencies.filter((l) => !l.ok).length
      }
      process.stdout.write(`${JSON.stringify(result)}\n`)
    }
  })
  const layers = Layer.mergeAll(RedisBackend.layer(), RedisLock.layer(), Codec.layerJson).pipe(
    Layer.provideMerge(RedisClient.layer({ url }))
  )
  await Effect.runPromise(program.pipe(Effect.scoped, Effect.provide(layers)))
}

const parent = async () => {
  const external = process.env["REDIS_URL"]
  const server = external === undefined ? await startRedisServer() : undefined
  const url = external ?? (server as { url: string }).url
  const countOf = (key: string) =>
    Effect.runPromise(
      RedisClient.RedisClient.use((redis) => redis.use("get", (c) => c.get(key))).pipe(
        Effect.provide(RedisClient.layer({ url }))
      )
    )
  const self = fileURLToPath(import.meta.url)
  const children = Array.from({ length: PROCESSES }, () =>
    spawn(process.execPath, [...process.execArgv, self, "worker", url], { stdio: ["pipe", "pipe", "inherit"] }))
  try {
    const readers = children.map((child) => createInterface({ input: child.stdout }))
    const nextLine = (i: number) => new Promise<string>((resolve) => readers[i]?.once("line", resolve))
    await Promise.all(children.map((_, i) => nextLine(i))) // "ready"
    const rows: Array<string> = []
    const summary = { maxCreations: 0, worstSlowest: 0 }
    for (let round = 0; round < ROUNDS; round++) {
      const key = `stampede:${Date.now().toString(36)}:${round}`
      const replies = children.map((_, i) => nextLine(i))
      for (const child of children) child.stdin.write(`go ${key}\n`)
      const results = (await Promise.all(replies)).map((line) => JSON.parse(line) as RoundResult)
      const creations = Number(await countOf(`${key}:creations`))
      const slowest = Math.max(...results.map((r) => r.slowestMs))
      const medians = results.map((r) => r.medianMs.toFixed(0)).join(" / ")
      const errors = results.reduce((a, r) => a + r.errors, 0)
      summary.maxCreations = Math.max(summary.maxCreations, creations)
      summary.worstSlowest = Math.max(summary.worstSlowest, slowest)
      rows.push(`| ${round + 1} | ${creations} | ${slowest.toFixed(1)} | ${medians} | ${errors} |`)
    }
    console.log(`Cross-process stampede: ${PROCESSES} processes × ${CALLERS} callers, ${CREATOR_MS} ms creator, Node ${process.version}\n`)
    console.log("| round | creator calls | slowest caller (ms) | median per process (ms) | errors |")
    console.log("|---:|---:|---:|---|---:|")
    for (const row of rows) console.log(row)
    console.log(`\nworst round: ${summary.maxCreations} creator call(s), slowest caller ${summary.worstSlowest.toFixed(1)} ms`)
  } finally {
    for (const child of children) child.stdin.end()
    await Promise.all(children.map((child) => new Promise((resolve) => child.exitCode !== null ? resolve(null) : child.once("exit", resolve))))
    await server?.dispose()
  }
}

if (process.argv[2] === "worker") await worker(process.argv[3] as string)
else await parent()
