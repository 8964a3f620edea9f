/**
 * One worker process of `bench/chaos.ts` (spawned by it; not run by hand).
 *
 * Builds `Region.make` over `RedisBackend` + `RedisLock` on the parent's
 * redis-server and runs `concurrency` fibers of random region operations
 * until the parent writes "stop" on stdin. Then it runs a final pass
 * (`getOrCreate` of every key, which must succeed: the same Layers recover)
 * and prints one JSON line, a {@link WorkerReport}, for the parent to check.
 *
 * Every value is `{ k, id }`: the key it was made for and `pid:n`, unique per
 * creator call or `set`. The worker lists what it produced and what it read;
 * the parent checks that every value read was produced for that key. Those
 * lists (and the creator runs) are appended every second to
 * `<recordsDir>/<pid>.jsonl` and dropped from memory, so the worker's heap
 * holds only the library's state and a long soak can check it stays flat.
 */
import { Codec, Lock, Region } from "@dogpile-effect/core"
import { RedisBackend, RedisClient, RedisLock } from "@dogpile-effect/redis"
import { Cause, Data, Effect, Exit, Layer, Logger, Option, Schema } from "effect"
import { appendFileSync, readdirSync } from "node:fs"
import { join } from "node:path"
import { monitorEventLoopDelay } from "node:perf_hooks"
import { createInterface } from "node:readline"

/** What the parent passes (as JSON in argv). */
export interface WorkerConfig {
  readonly url: string
  readonly keys: number
  readonly concurrency: number
  readonly expirationMs: number
  readonly lockTimeoutMs: number
  readonly leaseTtlMs: number
  readonly commandTimeoutMs: number
  readonly releaseWaitMs: number
  readonly creatorMaxMs: number
  /** `"local"` (a self-check of the exclusion check): an in-process lock only, so processes create concurrently. */
  readonly lock: "redis" | "local"
  /** Latency bound per kind of call, in ms (see `boundsOf` in chaos.ts). */
  readonly bounds: Record<string, number>
  /** Where the worker appends its records (`<pid>.jsonl`, one {@link RecordChunk} a line). */
  readonly recordsDir: string
  /** When heap and file descriptors are first measured, in ms after "ready". */
  readonly warmupMs: number
}

/** One line of `<recordsDir>/<pid>.jsonl`: the records since the previous line. */
export interface RecordChunk {
  readonly creators: ReadonlyArray<CreatorRun>
  /** `key\tid` of every value this worker created or set. */
  readonly produced: ReadonlyArray<string>
  /** `key\tid` of every value this worker read (deduplicated within the chunk). */
  readonly observed: ReadonlyArray<string>
}

/** A creator run: key, start, end (ms since the epoch, sub-ms precision). */
export type CreatorRun = readonly [key: string, start: number, end: number, via: string]

/** A call that exceeded its bound, or a LockTimeoutError: kind, start, end, outcome. */
export type TimedCall = readonly [kind: string, start: number, end: number, outcome: string]

/** The single JSON line a worker prints at the end. */
export interface WorkerReport {
  readonly pid: number
  readonly ops: Record<string, number>
  /** `kind: tag` → count, for failed calls (typed errors, interruptions we asked for). */
  readonly errors: Record<string, number>
  readonly maxMs: Record<string, number>
  /** Calls slower than `commandTimeout` + 100 ms (the one-second whole-call deadline), per `kind: outcome`. */
  readonly overCommand: Record<string, number>
  readonly overBound: ReadonlyArray<TimedCall>
  readonly lockTimeouts: ReadonlyArray<TimedCall>
  /** Values read under another key than the one asked for. */
  readonly wrongKey: ReadonlyArray<string>
  readonly defects: ReadonlyArray<string>
  /** Calls that ended interrupted though the caller did not interrupt them (first 20, with their cause). */
  readonly unaskedInterrupts: ReadonlyArray<string>
  readonly finalFailures: ReadonlyArray<string>
  /** Heap used after a full GC, after the warm-up and at the end (after the final pass). */
  readonly heapStartMB: number
  readonly heapEndMB: number
  /** Open file descriptors (`/proc/self/fd`), after the warm-up and at the end. */
  readonly fdStart: number
  readonly fdEnd: number
  readonly loopDelayMaxMs: number
  /** Records written to the records file for the checks (creator runs, produced and observed ids). */
  readonly records: number
}

const Value = Schema.Struct({ k: Schema.String, id: Schema.String })
type Value = typeof Value.Type

class CreatorFailed extends Data.TaggedError("CreatorFailed")<{}> {}

/** The caller gave up first (`Effect.timeoutOption` of 0–60 ms): the call was interrupted, as we asked. */
class CallerTimedOut extends Data.TaggedError("CallerTimedOut")<{}> {}

const now = () => performance.timeOrigin + performance.now()
const pick = <T>(items: ReadonlyArray<T>): T => items[Math.floor(Math.random() * items.length)] as T

const fdCount = () => {
  try {
    return readdirSync("/proc/self/fd").length
  } catch {
    return Number.NaN
  }
}

const heapMB = () => {
  ;(globalThis as { gc?: () => void }).gc?.()
  return Math.round(process.memoryUsage().heapUsed / 1e5) / 10
}

const config = JSON.parse(process.argv[2] ?? "{}") as WorkerConfig
const keys = Array.from({ length: config.keys }, (_, i) => `k${i}`)
const tagOf = (key: string) => `t${Number(key.slice(1)) % 5}`

const ops: Record<string, number> = {}
const errors: Record<string, number> = {}
const maxMs: Record<string, number> = {}
const overCommand: Record<string, number> = {}
const overBound: Array<TimedCall> = []
const lockTimeouts: Array<TimedCall> = []
let creators: Array<CreatorRun> = []
let produced: Array<string> = []
let observed = new Set<string>()
let records = 0
const wrongKey: Array<string> = []
const defects: Array<string> = []
const unaskedInterrupts: Array<string> = []
let seq = 0
let stopping = false

const produce = (key: string): Value => {
  const value = { k: key, id: `${process.pid}:${++seq}` }
  produced.push(`${key}\t${value.id}`)
  return value
}

const see = (key: string, value: Value) => {
  if (value.k !== key) wrongKey.push(`asked ${key}, got a value made for ${value.k} (${value.id})`)
  observed.add(`${value.k}\t${value.id}`)
}

/** A creator for `batch`: sleeps up to creatorMaxMs, fails 3% of the time (unless `reliable`), records its run per key. */
const creatorFor = (batch: ReadonlyArray<string>, via: string, reliable = false) =>
  Effect.suspend(() => {
    const start = now()
    return Effect.sleep(Math.random() * config.creatorMaxMs).pipe(
      Effect.andThen(Effect.suspend(() =>
        !reliable && Math.random() < 0.03 ? Effect.fail(new CreatorFailed()) : Effect.succeed(batch.map(produce))
      )),
      Effect.ensuring(Effect.sync(() => {
        const end = now()
        for (const key of batch) creators.push([key, start, end, via])
      }))
    )
  })

type Op = readonly [kind: string, weight: number, run: (region: Region.Region<Value>) => Effect.Effect<unknown, unknown>]

const one = (region: Region.Region<Value>, key: string, via: string, tags?: ReadonlyArray<string>, reliable = false) =>
  Effect.map(
    region.getOrCreate(key, Effect.map(creatorFor([key], via, reliable), (values) => values[0] as Value), tags === undefined ? undefined : { tags }),
    (value) => see(key, value)
  )

const OPS: ReadonlyArray<Op> = [
  ["getOrCreate", 40, (r) => one(r, pick(keys), "getOrCreate")],
  ["getOrCreate+tags", 8, (r) => {
    const key = pick(keys)
    return one(r, key, "getOrCreate+tags", [tagOf(key)])
  }],
  ["getOrCreateMany", 12, (r) => {
    const batch = Array.from({ length: 1 + Math.floor(Math.random() * 5) }, () => pick(keys))
    return Effect.map(r.getOrCreateMany(batch, (asked) => creatorFor(asked.map(String), "getOrCreateMany")), (values) => values.forEach((v, i) => see(batch[i] as string, v)))
  }],
  ["getOrCreate interrupted", 5, (r) =>
    Effect.flatMap(
      Effect.timeoutOption(one(r, pick(keys), "getOrCreate interrupted"), Math.random() * 60),
      Option.match({ onNone: () => Effect.fail(new CallerTimedOut()), onSome: () => Effect.void })
    )],
  ["get", 15, (r) => {
    const key = pick(keys)
    return Effect.map(r.get(key), Option.map((value) => see(key, value)))
  }],
  ["set", 8, (r) => Effect.suspend(() => {
    const key = pick(keys)
    return r.set(key, produce(key))
  })],
  ["delete", 8, (r) => r.delete(pick(keys))],
  ["invalidateTags", 2, (r) => r.invalidateTags([pick(["t0", "t1", "t2", "t3", "t4"])], { hard: Math.random() < 0.5 })],
  ["invalidate", 0.5, (r) => r.invalidate({ hard: Math.random() < 0.5 })]
]
const TOTAL_WEIGHT = OPS.reduce((sum, [, weight]) => sum + weight, 0)

const pickOp = (): Op => {
  let x = Math.random() * TOTAL_WEIGHT
  for (const op of OPS) if ((x -= op[1]) < 0) return op
  return OPS[0] as Op
}

const tagOfCause = (cause: Cause.Cause<unknown>): string => {
  if (Cause.hasDies(cause)) return "defect"
  const error = Cause.findErrorOption(cause)
  if (Option.isSome(error)) {
    const e = error.value as { readonly _tag?: unknown }
    return typeof e._tag === "string" ? e._tag : "untagged error"
  }
  return Cause.hasInterrupts(cause) ? "interrupted" : "unknown"
}

/** Runs one call, timing it and recording its outcome. */
const timedCall = (kind: string, effect: Effect.Effect<unknown, unknown>) =>
  Effect.suspend(() => {
    const start = now()
    return Effect.map(Effect.exit(effect), (exit) => {
      const end = now()
      const ms = end - start
      ops[kind] = (ops[kind] ?? 0) + 1
      maxMs[kind] = Math.max(maxMs[kind] ?? 0, ms)
      const outcome = Exit.isSuccess(exit) ? "ok" : tagOfCause(exit.cause)
      if (outcome !== "ok") errors[`${kind}: ${outcome}`] = (errors[`${kind}: ${outcome}`] ?? 0) + 1
      if (Exit.isFailure(exit) && outcome === "defect") defects.push(`${kind}: ${Cause.pretty(exit.cause).slice(0, 600)}`)
      if (Exit.isFailure(exit) && outcome === "interrupted" && unaskedInterrupts.length < 20) {
        unaskedInterrupts.push(`${kind} at ${start.toFixed(0)} after ${ms.toFixed(0)} ms: ${Cause.pretty(exit.cause).slice(0, 1_500)}`)
      }
      if (ms > config.commandTimeoutMs + 100) overCommand[`${kind}: ${outcome}`] = (overCommand[`${kind}: ${outcome}`] ?? 0) + 1
      if (ms > (config.bounds[kind] ?? Infinity)) overBound.push([kind, start, end, outcome])
      if (outcome === "LockTimeoutError") lockTimeouts.push([kind, start, end, outcome])
      return outcome
    })
  })

const loop = (region: Region.Region<Value>) =>
  Effect.gen(function*() {
    while (!stopping) {
      const [kind, , run] = pickOp()
      yield* timedCall(kind, run(region))
      yield* Effect.sleep(Math.random() * 10)
    }
  })

/** After the faults: every key must be served again by the same Layers. */
const finalPass = (region: Region.Region<Value>) =>
  Effect.forEach(keys, (key) =>
    Effect.map(Effect.exit(one(region, key, "final check", undefined, true)), (exit) => Exit.isSuccess(exit) ? undefined : `${key}: ${Cause.pretty(exit.cause).slice(0, 300)}`), { concurrency: 8 })

/** Appends the records gathered since the last flush to the records file and drops them. */
const flushRecords = () => {
  const chunk: RecordChunk = { creators, produced, observed: [...observed] }
  records += chunk.creators.length + chunk.produced.length + chunk.observed.length
  creators = []
  produced = []
  observed = new Set()
  appendFileSync(join(config.recordsDir, `${process.pid}.jsonl`), `${JSON.stringify(chunk)}\n`)
}

const waitForStop = () =>
  new Promise<void>((resolve) => {
    const lines = createInterface({ input: process.stdin })
    lines.on("line", (line) => line === "stop" && resolve())
    lines.once("close", () => resolve())
  })

const program = Effect.gen(function*() {
  const region = yield* Region.make<Value>({
    name: "chaos",
    namespace: "chaos",
    schema: Value,
    expiration: config.expirationMs,
    lockTimeout: config.lockTimeoutMs
  })
  const delay = monitorEventLoopDelay({ resolution: 10 })
  delay.enable()
  process.stdout.write("ready\n")
  let heapStartMB = Number.NaN
  let fdStart = Number.NaN
  const warmedUp = setTimeout(() => {
    flushRecords()
    heapStartMB = heapMB()
    fdStart = fdCount()
  }, config.warmupMs)
  const flusher = setInterval(flushRecords, 1_000)
  const stop = Effect.promise(waitForStop).pipe(Effect.andThen(Effect.sync(() => {
    stopping = true
  })))
  yield* Effect.all([stop, Effect.forEach(Array.from({ length: config.concurrency }), () => loop(region), { concurrency: "unbounded", discard: true })], { concurrency: 2 })
  clearTimeout(warmedUp)
  const finalFailures = (yield* finalPass(region)).filter((f): f is string => f !== undefined)
  clearInterval(flusher)
  flushRecords()
  delay.disable()
  const report: WorkerReport = {
    pid: process.pid,
    ops,
    errors,
    maxMs,
    overCommand,
    overBound,
    lockTimeouts,
    wrongKey,
    defects,
    unaskedInterrupts,
    finalFailures,
    heapStartMB,
    heapEndMB: heapMB(),
    fdStart,
    fdEnd: fdCount(),
    loopDelayMaxMs: delay.max / 1e6,
    records
  }
  process.stdout.write(`${JSON.stringify(report)}\n`)
})

const layers = Layer.mergeAll(
  RedisBackend.layer(),
  config.lock === "local" ? Lock.layerLocal : RedisLock.layer({ leaseTtl: config.leaseTtlMs, releaseWait: config.releaseWaitMs }),
  Codec.layerJson
).pipe(Layer.provideMerge(RedisClient.layer({ url: config.url, commandTimeout: config.commandTimeoutMs })))

await Effect.runPromise(program.pipe(Effect.scoped, Effect.provide(layers), Effect.provide(Logger.layer([]))))
