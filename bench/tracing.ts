/**
 * The hit path with tracing off and on, side by side in one run: what the
 * region's spans (and their attributes) cost a hit.
 *
 *   pnpm build && pnpm exec tsx bench/tracing.ts
 *
 * Contenders, every one reading the same warm keys in the same order
 * (`getOrCreate` hits on an in-memory region):
 *
 * - **off**: no tracer installed (Effect's native tracer): the region opens no span.
 * - **on, disabled**: a recording tracer installed but `Effect.withTracerEnabled(false)`: no span.
 * - **on**: a recording tracer: one `Region.getOrCreate` span per hit, with its attributes (it builds a
 *   `NativeSpan` per call and keeps a count: the least an exporter's tracer does).
 * - **native withSpan**: each hit wrapped in `Effect.withSpan` under the native tracer: what an
 *   always-on span would cost the default case (the region itself skips it there).
 * - **native Effect.fn**: each hit called through `Effect.fn("Region.getOrCreate")` under the native
 *   tracer: what a literal `Effect.fn` per public call would cost the default case (a span and a
 *   call-site `Error` per call; the region skips both when no tracer exports).
 *
 * With `TRACING_BASE=<path of another build's core dist/index.js>` the run adds "off" and "on" rows of
 * that build (its own region, same keys, same rounds), e.g. the main branch's core built aside:
 *
 *   git archive main packages/core/src | tar -x -C /tmp && mkdir -p bench/results/base-core && \
 *     cp -r /tmp/packages/core/src bench/results/base-core/ && (see docs/benchmarks.md for its tsconfig)
 *   pnpm exec tsc -p bench/results/base-core
 *   TRACING_BASE=./results/base-core/dist/index.js node --import tsx bench/tracing.ts
 *
 * In one process the two builds share Effect's own call sites, which then see two copies of the region
 * code; `bench/tracing-ab.ts` instead alternates processes, each running one build
 * (`TRACING_CORE=<dist/index.js>` replaces this build's core; `TRACING_JSON=1` prints the medians).
 *
 * Rounds are interleaved (drift hits every contender alike), each starting at the next contender (none
 * always runs right after the span-heavy ones, whose garbage the next one collects); round 0 warms the JIT. Ratios are per
 * round against "off" in the same round; min, median and max over the rounds.
 */
import * as Current from "@dogpile-effect/core"
import { Effect, Layer, Tracer } from "effect"
import { loadavg } from "node:os"
import { stats } from "./stats.ts"

const KEYS = 10_000
const READS = 100_000
const ROUNDS = Number(process.env["ROUNDS"] ?? 7)

const keys = Array.from({ length: KEYS }, (_, i) => `user:${i}`)
const order = Array.from({ length: READS }, (_, i) => keys[i % KEYS] as string)
const valueOf = (i: number) => ({ id: i, name: `user ${i}` })

/** A tracer that builds every span, checks its attributes were written, and counts them. */
let recorded = 0
let withOutcome = 0
const recording = Tracer.make({
  span: (options) => {
    recorded++
    const span = new Tracer.NativeSpan(options)
    const end = span.end.bind(span)
    span.end = (endTime, exit) => {
      if (span.attributes.get("dogpile.outcome") === "hit") withOutcome++
      end(endTime, exit)
    }
    return span
  }
})

type Core = typeof Current
type Value = { id: number; name: string }

/** A warm in-memory region of `core` (this build's, or another's), and `getOrCreate` of a key on it. */
const warmRegion = (core: Core) =>
  Effect.gen(function*() {
    const services = yield* Layer.build(Layer.mergeAll(core.MemoryBackend.layer(), core.Codec.layerJson, core.Lock.layerLocal))
    const region = yield* core.Region.make<Value>({ name: "bench-tracing", expiration: "1 hour" }).pipe(Effect.provide(services))
    yield* region.setMany(keys.map((key, i) => [key, valueOf(i)] as const))
    const creator = Effect.succeed(valueOf(-1))
    return (key: string) => region.getOrCreate(key, creator)
  })

/** The core module at `TRACING_<name>` (a path to a build's `dist/index.js`), if set. */
const loadCore = async (name: string): Promise<Core | undefined> => {
  const path = process.env[`TRACING_${name}`]
  return path === undefined ? undefined : (await import(path)) as Core
}

const program = (core: Core, base: Core | undefined) =>
  Effect.gen(function*() {
    const get = yield* warmRegion(core)
    const hits = Effect.forEach(order, get, { discard: true })
    const viaFn = Effect.fn("Region.getOrCreate")((key: string) => get(key))
    const contenders: Array<readonly [string, Effect.Effect<void, unknown>]> = [
      ["off (no tracer)", hits],
      ["recording tracer, withTracerEnabled(false)", hits.pipe(Effect.withTracerEnabled(false), Effect.withTracer(recording))],
      ["on (recording tracer)", hits.pipe(Effect.withTracer(recording))],
      ["off, each hit in Effect.withSpan (native tracer)", Effect.forEach(
        order,
        (key) => Effect.withSpan(get(key), "hit", { captureStackTrace: false }),
        { discard: true }
      )],
      ["off, each hit through Effect.fn (native tracer)", Effect.forEach(order, viaFn, { discard: true })]
    ]
    if (base !== undefined) {
      const getBase = yield* warmRegion(base)
      const baseHits = Effect.forEach(order, getBase, { discard: true })
      contenders.push(["base build: off (no tracer)", baseHits], ["base build: on (recording tracer)", baseHits.pipe(Effect.withTracer(recording))])
    }
    const tracedRuns = base === undefined ? 1 : 2
    const samples = new Map<string, Array<number>>(contenders.map(([name]) => [name, []]))
    const ratios = new Map<string, Array<number>>(contenders.map(([name]) => [name, []]))
    for (let round = 0; round <= ROUNDS; round++) {
      const thisRound = new Map<string, number>()
      // Each round starts at the next contender: none always runs right after the span-heavy ones.
      for (let c = 0; c < contenders.length; c++) {
        const [name, run] = contenders[(round + c) % contenders.length]!
        const start = performance.now()
        yield* run
        thisRound.set(name, READS / ((performance.now() - start) / 1000))
      }
      if (round === 0) continue // warms the JIT
      const off = thisRound.get("off (no tracer)")!
      for (const [name, ops] of thisRound) {
        samples.get(name)!.push(ops)
        ratios.get(name)!.push(ops / off)
      }
    }
    // Every traced hit ended with its outcome on its span.
    const expected = READS * (ROUNDS + 1) * tracedRuns
    if (recorded !== withOutcome || recorded !== expected) {
      throw new Error(`recorded ${recorded} spans, ${withOutcome} with outcome hit, expected ${expected}`)
    }
    const fmt = (n: number) => Math.round(n).toLocaleString("en-US")
    const lines = [
      `| contender | hits/s min | median | max | vs off: min | median | max |`,
      "|---|---:|---:|---:|---:|---:|---:|",
      ...contenders.map(([name]) => {
        const s = stats(samples.get(name)!)
        const r = stats(ratios.get(name)!)
        return `| ${name} | ${fmt(s.min)} | ${fmt(s.median)} | ${fmt(s.max)} | ${r.min.toFixed(2)} | ${r.median.toFixed(2)} | ${r.max.toFixed(2)} |`
      })
    ]
    if (base !== undefined) {
      // Per round, this build against the base build: > 1 means this build is faster.
      const paired = (mine: string, theirs: string) => {
        const a = samples.get(mine)!
        const b = samples.get(theirs)!
        const r = stats(a.map((x, i) => x / b[i]!))
        return `${r.median.toFixed(2)} (${r.min.toFixed(2)}–${r.max.toFixed(2)})`
      }
      lines.push(
        "",
        `This build / base build, per round, median (min–max): off ${paired("off (no tracer)", "base build: off (no tracer)")}, ` +
          `on ${paired("on (recording tracer)", "base build: on (recording tracer)")}`
      )
    }
    if (process.env["TRACING_JSON"] !== undefined) {
      return JSON.stringify(Object.fromEntries(contenders.map(([name]) => [name, stats(samples.get(name)!).median])))
    }
    return lines.join("\n")
  })

const base = await loadCore("BASE")
const before = loadavg()[0]!
const table = await Effect.runPromise(program((await loadCore("CORE")) ?? Current, base).pipe(Effect.scoped))
if (process.env["TRACING_JSON"] !== undefined) {
  console.log(table)
} else {
  console.log(
    `Hit path, tracing off and on: ${KEYS.toLocaleString("en-US")} warm keys, ${READS.toLocaleString("en-US")} getOrCreate hits per round, ` +
      `${ROUNDS} interleaved rounds (+1 warm-up), Node ${process.version}${base === undefined ? "" : `, base build ${process.env["TRACING_BASE"]}`}, ` +
      `load average ${before.toFixed(1)} before, ${loadavg()[0]!.toFixed(1)} after\n`
  )
  console.log(table)
}
