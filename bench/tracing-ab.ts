/**
 * This build's hit path against another build's, tracing off and on, in
 * alternating processes (one build per process, so neither slows the other's
 * call sites): `PAIRS` pairs of `bench/tracing.ts` runs, the order swapped
 * every pair. Each run reports its medians; the table gives, per contender,
 * this build's and the other build's median of those, and the per-pair ratio
 * (this / other, min–max).
 *
 *   pnpm build && pnpm exec tsc -p bench/results/base-core   # see docs/benchmarks.md
 *   node --import tsx bench/tracing-ab.ts ./results/base-core/dist/index.js
 */
import { spawnSync } from "node:child_process"
import { loadavg } from "node:os"
import { stats } from "./stats.ts"

const other = process.argv[2]
if (other === undefined) throw new Error("usage: bench/tracing-ab.ts <other build's core dist/index.js, relative to bench/>")
const PAIRS = Number(process.env["PAIRS"] ?? 5)
const ROUNDS = process.env["ROUNDS"] ?? "5"

type Medians = Record<string, number>

const runOnce = (core: string | undefined): Medians => {
  const env: NodeJS.ProcessEnv = { ...process.env, TRACING_JSON: "1", ROUNDS }
  if (core !== undefined) env["TRACING_CORE"] = core
  const run = spawnSync("node", ["--import", "tsx", "bench/tracing.ts"], { env, encoding: "utf8" })
  if (run.status !== 0) throw new Error(`bench/tracing.ts failed: ${run.stderr}`)
  return JSON.parse(run.stdout.trim().split("\n").pop()!) as Medians
}

const before = loadavg()[0]!
const mine: Array<Medians> = []
const theirs: Array<Medians> = []
for (let pair = 0; pair < PAIRS; pair++) {
  if (pair % 2 === 0) {
    mine.push(runOnce(undefined))
    theirs.push(runOnce(other))
  } else {
    theirs.push(runOnce(other))
    mine.push(runOnce(undefined))
  }
}
const fmt = (n: number) => Math.round(n).toLocaleString("en-US")
console.log(
  `This build against ${other}: ${PAIRS} pairs of processes (order swapped each pair), ${ROUNDS} rounds each, ` +
    `Node ${process.version}, load average ${before.toFixed(1)} before, ${loadavg()[0]!.toFixed(1)} after\n`
)
console.log("| contender | this build hits/s (median of runs) | other build | this / other per pair: median (min–max) |")
console.log("|---|---:|---:|---:|")
for (const name of Object.keys(mine[0]!)) {
  const a = mine.map((m) => m[name]!)
  const b = theirs.map((m) => m[name]!)
  const r = stats(a.map((x, i) => x / b[i]!))
  console.log(`| ${name} | ${fmt(stats(a).median)} | ${fmt(stats(b).median)} | ${r.median.toFixed(2)} (${r.min.toFixed(2)}–${r.max.toFixed(2)}) |`)
}
