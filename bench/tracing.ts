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
 *
 * Rounds are interleaved (drift hits every contender alike); round 0 warms the JIT. Ratios are per
 * round against "off" in the same round; min, median and max over the rounds.
 */
import { Codec, Lock, MemoryBackend, Region } from "@dogpile-effect/core"
import { Effect, Layer, Tracer } from "effect"
import { loadavg } from "node:os"
import { stats } from "./stats.ts"

const KEYS = 10_000
const READS = 100_000
const ROUNDS = 7

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

const program = Effect.gen(function*() {
  const region = yield* Region.make<{ id: number; name: string }>({ name: "bench-tracing", expiration: "1 hour" })
  yield* region.setMany(keys.map((key, i) => [key, valueOf(i)] as const))
  const creator = Effect.succeed(valueOf(-1))
  const hits = Effect.forEach(order, (key) => region.getOrCreate(key, creator), { discard: true })
  const contenders: ReadonlyArray<readonly [string, Effect.Effect<void, unknown>]> = [
    ["off (no tracer)", hits],
    ["recording tracer, withTracerEnabled(false)", hits.pipe(Effect.withTracerEnabled(false), Effect.withTracer(recording))],
    ["on (recording tracer)", hits.pipe(Effect.withTracer(recording))],
    ["off, each hit in Effect.withSpan (native tracer)", Effect.forEach(
      order,
      (key) => Effect.withSpan(region.getOrCreate(key, creator), "hit", { captureStackTrace: false }),
      { discard: true }
    )]
  ]
  const samples = new Map<string, Array<number>>(contenders.map(([name]) => [name, []]))
  const ratios = new Map<string, Array<number>>(contenders.map(([name]) => [name, []]))
  for (let round = 0; round <= ROUNDS; round++) {
    const thisRound = new Map<string, number>()
    for (const [name, run] of contenders) {
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
  if (recorded !== withOutcome || recorded !== READS * (ROUNDS + 1)) {
    throw new Error(`recorded ${recorded} spans, ${withOutcome} with outcome hit, expected ${READS * (ROUNDS + 1)}`)
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
  return lines.join("\n")
})

const before = loadavg()[0]!
const table = await Effect.runPromise(
  program.pipe(Effect.scoped, Effect.provide(Layer.mergeAll(MemoryBackend.layer(), Codec.layerJson, Lock.layerLocal)))
)
console.log(
  `Hit path, tracing off and on: ${KEYS.toLocaleString("en-US")} warm keys, ${READS.toLocaleString("en-US")} getOrCreate hits per round, ` +
    `${ROUNDS} interleaved rounds (+1 warm-up), Node ${process.version}, load average ${before.toFixed(1)} before, ${loadavg()[0]!.toFixed(1)} after\n`
)
console.log(table)
