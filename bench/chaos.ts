/**
 * Chaos run (`pnpm chaos`): 4 worker processes (`CHAOS_WORKERS`) (`bench/chaos-worker.ts`) do
 * random region operations over RedisBackend + RedisLock while this process
 * pauses (`CLIENT PAUSE`), stops (SIGSTOP/SIGCONT), kills (SIGKILL, restart on
 * the same port, empty) and flushes (`FLUSHALL`, `CLIENT KILL`) its own
 * redis-server on loopback at random intervals. Then it checks invariants and
 * prints the numbers; the exit code is 1 on any violation.
 *
 *   pnpm chaos                     # ~2 minutes of faults
 *   CHAOS_SECONDS=30 pnpm chaos    # shorter
 *   CHAOS_SECONDS=1200 CHAOS_WORKERS=8 pnpm chaos   # the 20-minute soak
 *   CHAOS_HEAP_GROWTH_MB=-1000 CHAOS_FD_GROWTH=-1000 …   # self-check: both resource checks fire
 *   CHAOS_LOCK=local pnpm chaos    # self-check: an in-process lock only, so the
 *                                  # exclusion check must report violations
 *   CHAOS_MARGIN_MS=-900 …         # self-check of the latency check
 *
 * Invariants (each breach is a violation):
 * - value origin: every value a call returns was produced (by a creator or a
 *   `set`, in any worker) for the key asked for;
 * - latency: no call takes longer than its bound (printed with the results),
 *   derived from the documented ones: `commandTimeout` for one-command calls;
 *   `lockTimeout` + creator + 2 × `commandTimeout` + `releaseWait` for the
 *   get-or-create calls; plus a margin for a loaded machine (`CHAOS_MARGIN_MS`);
 * - exclusion: no two creator runs of one key overlap unless a fault happened
 *   within `leaseTtl` before the earlier one started (a lock is only lost to a fault);
 * - no `LockTimeoutError` unless a fault happened within `leaseTtl` + `lockTimeout`
 *   before the call (a creator takes at most `creatorMaxMs`, far below `lockTimeout`);
 * - no defect, no worker crash, and after the last fault (and one lease) every
 *   key is served again by the same Layers;
 * - resources (a soak): per worker, heap used after a full GC at the end is at
 *   most `CHAOS_HEAP_GROWTH_MB` (default 16) above the one after the warm-up
 *   (the test records are streamed to a file, not kept in the heap), and open
 *   file descriptors (`/proc/self/fd`) at most `CHAOS_FD_GROWTH` (default 4)
 *   above their count after the warm-up.
 */
import { execFile, spawn } from "node:child_process"
import { mkdtempSync, readFileSync, rmSync } from "node:fs"
import { loadavg, tmpdir } from "node:os"
import { join } from "node:path"
import { createInterface } from "node:readline"
import { fileURLToPath } from "node:url"
import { promisify } from "node:util"
import { startRedisServer, type RedisServer } from "../test-support/redis-server.ts"
import type { CreatorRun, RecordChunk, TimedCall, WorkerConfig, WorkerReport } from "./chaos-worker.ts"

const execFileAsync = promisify(execFile)
const REDIS_CLI = process.env["REDIS_CLI_BIN"] ?? "redis-cli"

const SECONDS = Number(process.env["CHAOS_SECONDS"] ?? 120)
const MARGIN_MS = Number(process.env["CHAOS_MARGIN_MS"] ?? 1_000)
const WORKERS = Number(process.env["CHAOS_WORKERS"] ?? 4)
const HEAP_GROWTH_MB = Number(process.env["CHAOS_HEAP_GROWTH_MB"] ?? 16)
const FD_GROWTH = Number(process.env["CHAOS_FD_GROWTH"] ?? 4)
/** Heap and fds are first measured this long after the workers are ready: a quarter of the run, 5–60 s. */
const WARMUP_MS = Math.round(Math.min(60_000, Math.max(5_000, SECONDS * 250)))

const base = {
  keys: 40,
  concurrency: 8,
  expirationMs: 2_000,
  lockTimeoutMs: 2_000,
  leaseTtlMs: 3_000,
  commandTimeoutMs: 1_000,
  releaseWaitMs: 200,
  creatorMaxMs: 100,
  lock: process.env["CHAOS_LOCK"] === "local" ? "local" as const : "redis" as const
}

const boundsOf = (c: typeof base): Record<string, number> => {
  const simple = c.commandTimeoutMs + MARGIN_MS
  const create = c.lockTimeoutMs + c.creatorMaxMs + 2 * c.commandTimeoutMs + c.releaseWaitMs + MARGIN_MS
  return {
    "get": simple,
    "set": simple,
    "delete": simple,
    "invalidate": simple,
    "invalidateTags": simple,
    "getOrCreate": create,
    "getOrCreate+tags": create,
    "getOrCreateMany": create,
    "getOrCreate interrupted": create
  }
}

/** One fault, over [start, end] (ms since the epoch). */
interface Fault {
  readonly kind: string
  readonly start: number
  readonly end: number
}

const now = () => performance.timeOrigin + performance.now()
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))
const between = (min: number, max: number) => min + Math.random() * (max - min)

const cli = (port: number, ...args: Array<string>) =>
  execFileAsync(REDIS_CLI, ["-p", String(port), ...args], { timeout: 3_000 }).then(() => undefined, () => undefined)

const FAULTS: Record<string, (server: RedisServer) => Promise<void>> = {
  "CLIENT PAUSE": async (server) => {
    const ms = Math.round(between(300, 2_500))
    await cli(server.port, "CLIENT", "PAUSE", String(ms), "ALL")
    await sleep(ms)
  },
  "SIGSTOP": async (server) => {
    server.signal("SIGSTOP")
    await sleep(between(300, 2_500))
    server.signal("SIGCONT")
  },
  "SIGKILL + restart": async (server) => {
    await server.kill()
    await sleep(between(100, 1_500))
    await server.start()
  },
  "FLUSHALL": (server) => cli(server.port, "FLUSHALL"),
  "CLIENT KILL": (server) => cli(server.port, "CLIENT", "KILL", "TYPE", "normal")
}

const runFaults = async (server: RedisServer, until: number): Promise<Array<Fault>> => {
  const faults: Array<Fault> = []
  const kinds = Object.keys(FAULTS)
  while (now() < until) {
    await sleep(between(1_000, 6_000))
    if (now() >= until) break
    const kind = kinds[Math.floor(Math.random() * kinds.length)] as string
    const start = now()
    await (FAULTS[kind] as (server: RedisServer) => Promise<void>)(server)
    faults.push({ kind, start, end: now() })
  }
  return faults
}

/** Whether a fault overlaps [from, to]. */
const faultWithin = (faults: ReadonlyArray<Fault>, from: number, to: number) =>
  faults.some((f) => f.start <= to && f.end >= from)

/** Pairs of overlapping creator runs of one key with no fault from `leaseTtl` before the earlier start. */
const exclusionBreaches = (reports: ReadonlyArray<FullReport>, faults: ReadonlyArray<Fault>, t0: number) => {
  const byKey = new Map<string, Array<{ pid: number; start: number; end: number; via: string }>>()
  for (const r of reports) {
    for (const [key, start, end, via] of r.creators) {
      const runs = byKey.get(key) ?? []
      runs.push({ pid: r.pid, start, end, via })
      byKey.set(key, runs)
    }
  }
  const breaches: Array<string> = []
  for (const [key, runs] of byKey) {
    runs.sort((a, b) => a.start - b.start)
    for (let i = 0; i < runs.length; i++) {
      const a = runs[i] as (typeof runs)[number]
      for (let j = i + 1; j < runs.length && (runs[j] as (typeof runs)[number]).start < a.end; j++) {
        const b = runs[j] as (typeof runs)[number]
        if (!faultWithin(faults, a.start - base.leaseTtlMs, Math.max(a.end, b.end))) {
          breaches.push(
            `${key}: pid ${a.pid} ran ${at(a.start, t0)}–${at(a.end, t0)} (${a.via}), pid ${b.pid} ran ${at(b.start, t0)}–${at(b.end, t0)} (${b.via})`
          )
        }
      }
    }
  }
  return { byKey, breaches }
}

/** A worker's report with the records it streamed to its file. */
interface FullReport extends WorkerReport {
  readonly creators: ReadonlyArray<CreatorRun>
  readonly produced: ReadonlyArray<string>
  readonly observed: ReadonlyArray<string>
}

const withRecords = (report: WorkerReport, recordsDir: string): FullReport => {
  const creators: Array<CreatorRun> = []
  const produced: Array<string> = []
  const observed = new Set<string>()
  const text = readFileSync(join(recordsDir, `${report.pid}.jsonl`), "utf8")
  for (const line of text.split("\n")) {
    if (line === "") continue
    const chunk = JSON.parse(line) as RecordChunk
    for (const c of chunk.creators) creators.push(c)
    for (const p of chunk.produced) produced.push(p)
    for (const o of chunk.observed) observed.add(o)
  }
  return { ...report, creators, produced, observed: [...observed] }
}

/** Seconds since the faults began, e.g. `+12.345 s`. */
const at = (time: number, t0: number) => `+${((time - t0) / 1000).toFixed(3)} s`

const describeCall = (t: TimedCall, t0: number) => `${t[0]} at ${at(t[1], t0)} took ${(t[2] - t[1]).toFixed(0)} ms (${t[3]})`

const sum = (records: ReadonlyArray<Record<string, number>>) => {
  const out: Record<string, number> = {}
  for (const r of records) for (const [k, v] of Object.entries(r)) out[k] = (out[k] ?? 0) + v
  return out
}

const spawnWorker = (config: WorkerConfig) => {
  const self = fileURLToPath(new URL("./chaos-worker.ts", import.meta.url))
  const child = spawn(process.execPath, [...process.execArgv, "--expose-gc", self, JSON.stringify(config)], {
    stdio: ["pipe", "pipe", "pipe"]
  })
  let stderr = ""
  child.stderr.on("data", (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-4_000)
  })
  const lines = createInterface({ input: child.stdout })
  const ready = new Promise<void>((resolve) => lines.once("line", () => resolve()))
  const report = new Promise<WorkerReport | string>((resolve) => {
    lines.on("line", (line) => line.startsWith("{") && resolve(JSON.parse(line) as WorkerReport))
    child.once("exit", (code, signal) => resolve(`worker ${child.pid} exited (code ${code}, signal ${signal}) without a report: ${stderr}`))
  })
  return { child, ready, report, stderr: () => stderr }
}

const main = async () => {
  const server = await startRedisServer()
  const recordsDir = mkdtempSync(join(tmpdir(), "dogpile-chaos-"))
  const loadStart = loadavg()
  const config: WorkerConfig = { ...base, url: server.url, bounds: boundsOf(base), recordsDir, warmupMs: WARMUP_MS }
  const workers = Array.from({ length: WORKERS }, () => spawnWorker(config))
  try {
    await Promise.all(workers.map((w) => w.ready))
    const t0 = now()
    const faults = await runFaults(server, t0 + SECONDS * 1_000)
    // Healthy again, and one lease, so ghost locks have expired: then the final pass.
    server.signal("SIGCONT")
    await server.start()
    await sleep(base.leaseTtlMs + 1_000)
    for (const w of workers) w.child.stdin.write("stop\n")
    const raw = await Promise.all(workers.map((w) => w.report))
    const outcomes = raw.map((o) => typeof o === "string" ? o : withRecords(o, recordsDir))
    print(outcomes, faults, t0, server, [loadStart, loadavg()])
    process.exitCode = violationsOf(outcomes, faults, t0).total > 0 ? 1 : 0
  } finally {
    for (const w of workers) w.child.stdin.end()
    await Promise.all(workers.map((w) => w.child.exitCode !== null ? undefined : new Promise((r) => w.child.once("exit", r))))
    await server.dispose()
    rmSync(recordsDir, { recursive: true, force: true })
  }
}

const violationsOf = (outcomes: ReadonlyArray<FullReport | string>, faults: ReadonlyArray<Fault>, t0: number) => {
  const reports = outcomes.filter((o): o is FullReport => typeof o !== "string")
  const produced = new Set(reports.flatMap((r) => r.produced))
  const unknownValues = reports.flatMap((r) => r.observed.filter((o) => !produced.has(o)))
  const exclusion = exclusionBreaches(reports, faults, t0)
  const healthyLockTimeouts = reports.flatMap((r) =>
    r.lockTimeouts.filter((t) => !faultWithin(faults, t[1] - base.leaseTtlMs - base.lockTimeoutMs, t[2])))
  const list = {
    "worker crashed": outcomes.filter((o): o is string => typeof o === "string"),
    "value not produced for its key": [...unknownValues, ...reports.flatMap((r) => r.wrongKey)],
    "call over its bound": reports.flatMap((r) => r.overBound.map((t) => `pid ${r.pid}: ${describeCall(t, t0)}`)),
    "concurrent creators while healthy": exclusion.breaches,
    "LockTimeoutError while healthy": healthyLockTimeouts.map((t) => describeCall(t, t0)),
    "defect": reports.flatMap((r) => r.defects),
    "key not served after recovery": reports.flatMap((r) => r.finalFailures),
    "heap growth": reports.filter((r) => !(r.heapEndMB - r.heapStartMB <= HEAP_GROWTH_MB))
      .map((r) => `pid ${r.pid}: ${r.heapStartMB} MB after warm-up, ${r.heapEndMB} MB at end (bound +${HEAP_GROWTH_MB} MB)`),
    "file descriptor growth": reports.filter((r) => !(r.fdEnd - r.fdStart <= FD_GROWTH))
      .map((r) => `pid ${r.pid}: ${r.fdStart} fds after warm-up, ${r.fdEnd} at end (bound +${FD_GROWTH})`)
  }
  return { list, exclusion, reports, total: Object.values(list).reduce((n, l) => n + l.length, 0) }
}

const print = (
  outcomes: ReadonlyArray<FullReport | string>,
  faults: ReadonlyArray<Fault>,
  t0: number,
  server: RedisServer,
  load: readonly [ReadonlyArray<number>, ReadonlyArray<number>]
) => {
  const { list, exclusion, reports, total } = violationsOf(outcomes, faults, t0)
  const ops = sum(reports.map((r) => r.ops))
  const errors = sum(reports.map((r) => r.errors))
  const maxMs: Record<string, number> = {}
  for (const r of reports) for (const [k, v] of Object.entries(r.maxMs)) maxMs[k] = Math.max(maxMs[k] ?? 0, v)
  const faultCounts = sum(faults.map((f) => ({ [f.kind]: 1 })))
  const bounds = boundsOf(base)
  const counts = [...exclusion.byKey.values()].map((runs) => runs.length).sort((a, b) => a - b)
  const q = (p: number) => counts[Math.min(counts.length - 1, Math.floor(p * counts.length))] ?? 0
  const out: Array<string> = []
  out.push(`Chaos run: ${SECONDS} s, ${WORKERS} workers × ${base.concurrency} fibers, ${base.keys} keys, Node ${process.version}, redis-server on 127.0.0.1:${server.port}`)
  out.push(`settings: ${JSON.stringify(base)}, margin ${MARGIN_MS} ms, warm-up ${WARMUP_MS} ms, heap bound +${HEAP_GROWTH_MB} MB, fd bound +${FD_GROWTH}`)
  const fmt = (l: ReadonlyArray<number>) => l.map((x) => x.toFixed(2)).join(" ")
  out.push(`load average (1/5/15 min): ${fmt(load[0])} at start, ${fmt(load[1])} at end`)
  out.push("", `faults (${faults.length}): ${Object.entries(faultCounts).map(([k, v]) => `${k} ${v}`).join(", ")}`)
  out.push(`timeline: ${faults.map((f) => `${at(f.start, t0).slice(0, -4)} s ${f.kind} ${((f.end - f.start) / 1000).toFixed(1)} s`).join("; ")}`)
  const overByOutcome = sum(reports.map((r) => r.overCommand))
  const overCommand = sum(Object.entries(overByOutcome).map(([k, v]) => ({ [k.slice(0, k.indexOf(": "))]: v })))
  out.push("", `| operation | calls | max latency (ms) | bound (ms) | calls over ${base.commandTimeoutMs + 100} ms |`, "|---|---:|---:|---:|---:|")
  for (const kind of Object.keys(bounds)) {
    out.push(`| ${kind} | ${ops[kind] ?? 0} | ${(maxMs[kind] ?? 0).toFixed(0)} | ${bounds[kind]} | ${overCommand[kind] ?? 0} |`)
  }
  out.push(`| total | ${Object.values(ops).reduce((a, b) => a + b, 0)} | | | ${Object.values(overCommand).reduce((a, b) => a + b, 0)} |`)
  out.push("", `calls over ${base.commandTimeoutMs + 100} ms by outcome: ${Object.entries(overByOutcome).sort((a, b) => b[1] - a[1]).map(([k, v]) => `${k} ${v}`).join(", ") || "none"}`)
  out.push("", "failed calls by kind and error tag:")
  for (const [k, v] of Object.entries(errors).sort((a, b) => b[1] - a[1])) out.push(`  ${k}: ${v}`)
  out.push("", `creator runs: ${counts.reduce((a, b) => a + b, 0)} over ${counts.length} keys; per key min ${q(0)}, median ${q(0.5)}, p90 ${q(0.9)}, max ${counts[counts.length - 1] ?? 0}`)
  out.push(`overlapping creator runs of one key: ${countOverlaps(exclusion.byKey)} (${list["concurrent creators while healthy"].length} with no fault within leaseTtl before: violations)`)
  out.push(`LockTimeoutErrors: ${reports.reduce((n, r) => n + r.lockTimeouts.length, 0)} (${list["LockTimeoutError while healthy"].length} with no fault within leaseTtl + lockTimeout before: violations)`)
  out.push(
    "",
    "| worker | heap after warm-up (MB) | heap at end (MB) | fds after warm-up | fds at end | records (streamed to file) | event-loop delay max (ms) |",
    "|---|---:|---:|---:|---:|---:|---:|"
  )
  for (const r of reports) {
    out.push(`| ${r.pid} | ${r.heapStartMB} | ${r.heapEndMB} | ${r.fdStart} | ${r.fdEnd} | ${r.records} | ${r.loopDelayMaxMs.toFixed(0)} |`)
  }
  out.push("", `violations: ${total}`)
  for (const [name, items] of Object.entries(list)) {
    out.push(`  ${name}: ${items.length}`)
    for (const item of items.slice(0, 20)) out.push(`    ${item}`)
  }
  out.push("", `summary: ${JSON.stringify(summaryOf(list, faults.length, ops, reports))}`)
  const unasked = reports.flatMap((r) => r.unaskedInterrupts.map((u) => `pid ${r.pid}: ${u}`))
  if (unasked.length > 0) out.push("", `calls interrupted though their caller did not interrupt them (not a violation; first ${Math.min(5, unasked.length)}):`, ...unasked.slice(0, 5).map((u) => `  ${u}`))
  const slowest = reports.flatMap((r) => r.overBound).sort((a, b) => (b[2] - b[1]) - (a[2] - a[1]))
  if (slowest.length > 0) out.push("", "slowest calls over their bound:", ...slowest.slice(0, 5).map((t) => `  ${describeCall(t, t0)}`))
  console.log(out.join("\n"))
}

/** The last numbers as one JSON line (`summary: {...}`), for a test or a script to read. */
const summaryOf = (
  list: Record<string, ReadonlyArray<string>>,
  faults: number,
  ops: Record<string, number>,
  reports: ReadonlyArray<FullReport>
) => ({
  violations: Object.fromEntries(Object.entries(list).map(([name, items]) => [name, items.length])),
  faults,
  calls: Object.values(ops).reduce((a, b) => a + b, 0),
  workers: reports.map((r) => ({
    pid: r.pid,
    heapStartMB: r.heapStartMB,
    heapEndMB: r.heapEndMB,
    fdStart: r.fdStart,
    fdEnd: r.fdEnd,
    creators: r.creators.length
  }))
})

const countOverlaps = (byKey: ReadonlyMap<string, ReadonlyArray<{ start: number; end: number }>>) => {
  let n = 0
  for (const runs of byKey.values()) {
    for (let i = 0; i < runs.length; i++) {
      for (let j = i + 1; j < runs.length && (runs[j] as { start: number }).start < (runs[i] as { end: number }).end; j++) n++
    }
  }
  return n
}

await main()
