/**
 * The goal of issue 24: under a silent server every public call returns
 * within its deadline + 10 %, counted over at least 1,000 calls with the
 * server paused (`CLIENT PAUSE … ALL`) and SIGSTOPped at random points: 0 over.
 *
 *   pnpm exec tsx --conditions=@dogpile-effect/source bench/silent-deadline.ts
 *   CALLS=2000 TARGET=cluster SEED=7 …   (TARGET: server, cluster or both; default both)
 *
 * Default settings everywhere (`commandTimeout` 1 s, the lock's defaults), two
 * Layers over their own connections (two "processes": one's calls can wait on
 * the other's lock). Each round makes a fresh region on both, and starts ten
 * kinds of public call on each (`getOrCreate` ×2, with tags, `getOrCreateMany`,
 * `get`, `getMany`, `set`, `delete`, `invalidateTags`, `has`), 0–5 ms apart,
 * creators of 10–59 ms. 0–60 ms after the first call the server (on a Cluster:
 * one master, drawn) is silenced for 0.2–2.5 s, by SIGSTOP or by
 * `CLIENT PAUSE`, drawn. Every draw comes from one seeded sequence.
 *
 * A call's deadline is `commandTimeout` plus, for the calls with a creator, the
 * longest creator (59 ms): the time the creator itself takes is the caller's,
 * not the server's. A call is over when it takes more than 1.1 × that. The
 * exit code is 1 when any call is over. The load average is printed at the
 * start and the end: a loaded machine's lag is in every number.
 */
import { Region } from "@dogpile-effect/core"
import { RedisBackend, RedisClient, RedisLock } from "@dogpile-effect/redis"
import { Context, Effect, Exit, Fiber, Layer, Logger, Schedule, Schema } from "effect"
import { Redis } from "ioredis"
import { loadavg } from "node:os"
import { type RedisCluster, type RedisServer, startRedisCluster, startRedisServer } from "../test-support/redis-server.ts"

const CALLS = Number(process.env["CALLS"] ?? 1_000)
const TARGET = process.env["TARGET"] ?? "both"
const SEED = Number(process.env["SEED"] ?? 24)
const COMMAND_TIMEOUT_MS = 1_000
const CREATOR_MAX_MS = 59
const MARGIN = 1.1
/** How many Layers (each with its own connections, like processes): 2 lets calls wait on the other's lock. */
const LAYERS = Number(process.env["LAYERS"] ?? 2)

/** One silenceable deployment: its clients' settings and a way to silence one of its servers. */
interface Target {
  readonly name: string
  readonly client: RedisClient.RedisClientOptions
  readonly servers: ReadonlyArray<RedisServer>
  readonly dispose: () => Promise<void>
}

/** A fixed pseudo-random sequence (an LCG): the same points on every run with one seed. */
const sequence = (seed: number) => {
  let state = seed
  return (n: number): number => {
    state = (state * 1_103_515_245 + 12_345) % 2 ** 31
    return state % n
  }
}

const sleep = (ms: number) => Effect.promise(() => new Promise<void>((resolve) => setTimeout(resolve, ms)))

interface Call {
  readonly kind: string
  /** When the call started (performance.now()). */
  readonly start: number
  readonly ms: number
  readonly bound: number
  readonly failed: boolean
  readonly cause: string
}

/** What happened in a round, to explain a call over its deadline. */
interface Round {
  readonly round: number
  readonly stop: boolean
  readonly silentMs: number
  readonly silencedAt: number
  readonly server: number
}

type Kind = readonly [string, boolean, (r: Region.Region<number>, next: (n: number) => number) => Effect.Effect<unknown, unknown>]

const creatorOf = (next: (n: number) => number) => Effect.suspend(() => Effect.as(sleep(10 + next(50)), 1))

/** The kinds of public call, each with whether it runs a creator. */
const kinds: ReadonlyArray<Kind> = [
  ["getOrCreate", true, (r, next) => r.getOrCreate("cold", creatorOf(next))],
  ["getOrCreate", true, (r, next) => r.getOrCreate("cold", creatorOf(next))],
  ["getOrCreate+tags", true, (r, next) => r.getOrCreate("tagged", creatorOf(next), { tags: ["t"] })],
  ["getOrCreateMany", true, (r, next) =>
    r.getOrCreateMany(["a", "b", "cold"], (keys) => Effect.as(sleep(10 + next(50)), keys.map(() => 1)))],
  ["get", false, (r) => r.get("warm")],
  ["set", false, (r) => r.set("w", 1)],
  ["delete", false, (r) => r.delete("w")],
  ["invalidateTags", false, (r) => r.invalidateTags(["t"])],
  ["getMany", false, (r) => r.getMany(["a", "warm"])],
  ["has", false, (r) => r.has("cold")]
]

const timedCall = (kind: Kind, region: Region.Region<number>, next: (n: number) => number) =>
  Effect.gen(function*() {
    const [name, creates, call] = kind
    const start = performance.now()
    const exit = yield* Effect.exit(call(region, next))
    const ms = performance.now() - start
    const bound = MARGIN * (COMMAND_TIMEOUT_MS + (creates ? CREATOR_MAX_MS : 0))
    return { kind: name, start, ms, bound, failed: Exit.isFailure(exit), cause: Exit.isFailure(exit) ? String(exit.cause).slice(0, 300) : "" }
  })

/** Silences one server for `ms`: SIGSTOP then SIGCONT, or CLIENT PAUSE over a connection of its own. */
const silence = (server: RedisServer, stop: boolean, ms: number) =>
  Effect.promise(async () => {
    if (stop) {
      server.signal("SIGSTOP")
      setTimeout(() => server.signal("SIGCONT"), ms)
      return
    }
    const control = new Redis({ port: server.port, lazyConnect: true, maxRetriesPerRequest: 0 })
    try {
      await control.connect()
      await control.call("CLIENT", "PAUSE", String(ms), "ALL")
    } finally {
      control.disconnect()
    }
  })

const layerOf = (target: Target) =>
  Layer.mergeAll(RedisBackend.layer(), RedisLock.layer()).pipe(Layer.provideMerge(RedisClient.layer(target.client)))

/** Runs rounds against one target until CALLS calls are done; returns every call. */
const runTarget = (target: Target) =>
  Effect.gen(function*() {
    const next = sequence(SEED)
    const contexts = []
    for (let i = 0; i < LAYERS; i++) contexts.push(yield* Layer.build(layerOf(target)))
    const clients = contexts.map((ctx) => Context.get(ctx, RedisClient.RedisClient))
    const calls: Array<Call & { readonly round: Round }> = []
    for (let round = 0; calls.length < CALLS; round++) {
      const regions = yield* Effect.forEach(contexts, (ctx) =>
        Region.make({ name: `silent-${round}`, schema: Schema.Number, expiration: "1 minute" }).pipe(
          Effect.provide(Layer.succeedContext(ctx))
        ))
      if (round % 3 !== 0) yield* Effect.forEach(regions, (r) => Effect.ignore(r.get("warm")))
      const server = target.servers[next(target.servers.length)] as RedisServer
      const stop = next(2) === 0
      const silentMs = 200 + next(2_300)
      let silencedAt = 0
      const silencer = yield* Effect.forkChild(Effect.andThen(
        sleep(next(60)),
        Effect.andThen(Effect.sync(() => {
          silencedAt = performance.now()
        }), silence(server, stop, silentMs))
      ))
      const fibers = []
      for (const kind of kinds) {
        for (const region of regions) {
          fibers.push(yield* Effect.forkChild(timedCall(kind, region, next)))
          yield* sleep(next(3))
        }
      }
      yield* Fiber.join(silencer)
      const info = { round, stop, silentMs, silencedAt, server: target.servers.indexOf(server) }
      calls.push(...(yield* Fiber.joinAll(fibers)).map((c) => ({ ...c, round: info })))
      // The silence is over and every client answers again before the next round.
      yield* sleep(silentMs)
      yield* Effect.forEach(clients, (redis) =>
        Effect.retry(redis.use("ping", (c) => c.ping()), { times: 400, schedule: Schedule.spaced("25 millis") }))
    }
    return calls
  }).pipe(Effect.scoped)

const report = (name: string, calls: ReadonlyArray<Call & { readonly round: Round }>) => {
  const over = calls.filter((c) => c.ms > c.bound)
  const sorted = calls.map((c) => c.ms).sort((a, b) => a - b)
  const at = (q: number) => Math.round(sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * q))] ?? 0)
  const failed = calls.filter((c) => c.failed).length
  console.log(
    `${name}: ${calls.length} calls, ${failed} failed (silenced), ${over.length} over their deadline + 10 % ` +
      `(${Math.round(MARGIN * COMMAND_TIMEOUT_MS)} ms, ${Math.round(MARGIN * (COMMAND_TIMEOUT_MS + CREATOR_MAX_MS))} ms with a creator); ` +
      `p50 ${at(0.5)} ms, p99 ${at(0.99)} ms, p99.9 ${at(0.999)} ms, max ${at(1)} ms`
  )
  const afterSilence = over.filter((c) => !c.failed && c.start + c.ms > c.round.silencedAt + c.round.silentMs)
  const failedAfterSilence = calls.filter((c) => c.failed && c.start + c.ms > c.round.silencedAt + c.round.silentMs + 5)
  console.log(`  calls failed after their silence had ended: ${failedAfterSilence.length}`)
  console.log(
    `  of those over: ${afterSilence.length} answered with a value after the silence had ended (a wait for the other ` +
      `Layer's creation: its deadline is lockTimeout, 30 s), ${over.length - afterSilence.length} other ` +
      `(${over.filter((c) => c.failed).length} failed)`
  )
  for (const c of over) {
    const r = c.round
    console.log(
      `  over: ${c.kind} ${Math.round(c.ms)} ms (bound ${Math.round(c.bound)} ms), round ${r.round}, server ${r.server} ` +
        `${r.stop ? "SIGSTOP" : "CLIENT PAUSE"} ${r.silentMs} ms, started ${Math.round(c.start - r.silencedAt)} ms after the silence; ${c.cause}`
    )
  }
  return over.length
}

const single = async (): Promise<Target> => {
  const server = await startRedisServer()
  return { name: "one server", client: { url: server.url }, servers: [server], dispose: server.dispose }
}

const cluster = async (): Promise<Target> => {
  // A long node timeout: the peers of a silenced master never fail it (no CLUSTERDOWN on the others).
  const c: RedisCluster = await startRedisCluster(3, { nodeTimeoutMs: 30_000 })
  return { name: "3-master Cluster", client: { nodes: c.nodes }, servers: c.servers, dispose: c.dispose }
}

const main = async () => {
  const load = () => loadavg().map((n) => n.toFixed(2)).join(" ")
  console.log(`silent-deadline: CALLS=${CALLS} TARGET=${TARGET} SEED=${SEED}; load average at start ${load()}`)
  const wanted = TARGET === "both" ? [single, cluster] : TARGET === "cluster" ? [cluster] : [single]
  let over = 0
  for (const start of wanted) {
    const target = await start()
    try {
      const calls = await Effect.runPromise(runTarget(target).pipe(Effect.provide(Logger.layer([]))))
      over += report(target.name, calls)
    } finally {
      await target.dispose()
    }
  }
  console.log(`load average at end ${load()}`)
  process.exit(over === 0 ? 0 : 1)
}

main().catch((error: unknown) => {
  console.error(error)
  process.exit(2)
})
