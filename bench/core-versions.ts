/**
 * Two builds of `@dogpile-effect/core` side by side in one process: this
 * checkout's `packages/core/dist` against another build (an older commit,
 * say), to see what a change did to the in-process hit and miss paths.
 *
 *   git archive <rev> packages/core/src packages/core/tsconfig.src.json packages/core/package.json \
 *     tsconfig.base.json | tar -x -C /tmp/core-before
 *   ln -s "$PWD/node_modules" /tmp/core-before/node_modules
 *   ln -s "$PWD/packages/core/node_modules" /tmp/core-before/packages/core/node_modules
 *   (cd /tmp/core-before && "$OLDPWD/node_modules/.bin/tsc" -b packages/core/tsconfig.src.json)
 *   pnpm build
 *   CORE_BEFORE=/tmp/core-before/packages/core/dist/index.js \
 *     node --experimental-strip-types --no-warnings bench/core-versions.ts
 *
 * Plain Node ESM (no tsx: it rewrites every import into a getter call, which
 * weighs on module-level functions more than on closures). Each build runs in
 * processes of its own (two builds in one process share Effect's code, and
 * whichever warms it up first is measured faster, by up to 1.4× on misses),
 * ROUNDS (default 7) pairs of processes, the order within a pair alternating.
 * A process warms every contender up once, then reports the median of 3
 * runs, timed by its CPU time (the machine is shared), not the wall clock;
 * after / before is taken per pair: min / median / max. Contenders: hits of
 * 10,000 warm keys (200,000 reads, `getOrCreate`, memory backend, full
 * envelope), the same with `earlyRefresh` (one draw per read), and misses
 * (20,000 new keys, one caller, in-process lock). `ONLY_HIT=1`: hits only.
 */
import { Codec, Lock, MemoryBackend, Region } from "@dogpile-effect/core"
import { spawnSync } from "node:child_process"
import { fileURLToPath } from "node:url"
import { Effect, Layer, type Scope } from "effect"
import { stats } from "./stats.ts"

type Core = typeof import("@dogpile-effect/core")

const KEYS = 10_000
const READS = 200_000
const MISSES = 20_000
const ROUNDS = Number(process.env["ROUNDS"] ?? 7)
const onlyHits = process.env["ONLY_HIT"] !== undefined
const beforePath = process.env["CORE_BEFORE"]
if (beforePath === undefined) throw new Error("CORE_BEFORE: the dist/index.js of the build to compare with")

const keys = Array.from({ length: KEYS }, (_, i) => `user:${i}`)
const reads = Array.from({ length: READS }, (_, i) => keys[i % KEYS] as string)
const valueOf = (i: number) => ({ id: i, name: `user ${i}` })
type User = ReturnType<typeof valueOf>

/** One contender: an effect running one round of `ops` operations. */
interface Contender {
  readonly name: string
  readonly run: Effect.Effect<void, unknown>
  readonly ops: number
}

/** The contenders of one build. */
const contendersOf = (core: Core, tag: string): Effect.Effect<ReadonlyArray<Contender>, unknown, Scope.Scope> =>
  Effect.gen(function*() {
    const creator = Effect.succeed(valueOf(-1))
    const plain = yield* core.Region.make<User>({ name: `hit-${tag}`, namespace: `hit${tag}`, expiration: "1 hour" })
    yield* plain.setMany(keys.map((key, i) => [key, valueOf(i)] as const))
    const hit = Effect.forEach(reads, (key) => plain.getOrCreate(key, creator), { discard: true })
    if (onlyHits) return [{ name: `hit${tag}`, run: hit, ops: READS }]
    const early = yield* core.Region.make<User>({ name: `early-${tag}`, namespace: `early${tag}`, expiration: "1 hour", earlyRefresh: true })
    // Created through getOrCreate, so entries carry their creator's duration (early refresh needs it).
    yield* Effect.forEach(keys, (key) => early.getOrCreate(key, creator), { discard: true })
    const miss = yield* core.Region.make<User>({ name: `miss-${tag}`, namespace: `miss${tag}`, expiration: "1 hour" })
    let round = 0
    const misses = Effect.suspend(() => {
      const r = round++
      return Effect.forEach(Array.from({ length: MISSES }, (_, j) => `m:${r}:${j}`), (key) => miss.getOrCreate(key, creator), {
        discard: true
      })
    })
    const earlyHit = Effect.forEach(reads, (key) => early.getOrCreate(key, creator), { discard: true })
    return [
      { name: `hit${tag}`, run: hit, ops: READS },
      { name: `hit with earlyRefresh${tag}`, run: earlyHit, ops: READS },
      { name: `miss${tag}`, run: misses, ops: MISSES }
    ]
  }).pipe(Effect.provide(Layer.mergeAll(core.MemoryBackend.layer({ capacity: 20_000 }), core.Codec.layerJson, core.Lock.layerLocal)))

/** Operations per CPU second of one run of `contender`. */
const cpuRate = (contender: Contender) =>
  Effect.suspend(() => {
    const start = process.cpuUsage()
    return Effect.map(contender.run, () => {
      const used = process.cpuUsage(start)
      return contender.ops / ((used.user + used.system) / 1e6)
    })
  })

const fmt = (n: number) => Math.round(n).toLocaleString("en-US")

/** One process's measurement of `core`: the median rate of each contender over 3 runs, after a warm-up. */
const measure = (core: Core) =>
  Effect.gen(function*() {
    const contenders = yield* contendersOf(core, "")
    for (const contender of contenders) yield* cpuRate(contender)
    const rates: Record<string, number> = {}
    for (const contender of contenders) {
      const runs: Array<number> = []
      for (let i = 0; i < 3; i++) runs.push(yield* cpuRate(contender))
      rates[contender.name] = stats(runs).median
    }
    return rates
  })

/** Runs this file as a child measuring the build at `path`; its rates by contender. */
const child = (path: string): Record<string, number> => {
  const run = spawnSync(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url), "--child", path], {
    encoding: "utf8",
    stdio: ["ignore", "pipe", "inherit"]
  })
  if (run.status !== 0) throw new Error(`child for ${path} exited with ${run.status}`)
  return JSON.parse(run.stdout) as Record<string, number>
}

const report = (pairs: ReadonlyArray<readonly [Record<string, number>, Record<string, number>]>) => {
  console.log("| contender | before, ops per CPU s (median) | after | after / before per pair: min | median | max |")
  console.log("|---|---:|---:|---:|---:|---:|")
  for (const name of Object.keys(pairs[0]![0])) {
    const before = stats(pairs.map(([b]) => b[name]!))
    const after = stats(pairs.map(([, a]) => a[name]!))
    const ratio = stats(pairs.map(([b, a]) => a[name]! / b[name]!))
    console.log(
      `| ${name} | ${fmt(before.median)} | ${fmt(after.median)} | ${ratio.min.toFixed(2)}× | ${ratio.median.toFixed(2)}× | ${ratio.max.toFixed(2)}× |`
    )
  }
}

const childPath = process.argv[2] === "--child" ? process.argv[3] : undefined
if (childPath !== undefined) {
  const core = childPath === "after" ? ({ Codec, Lock, MemoryBackend, Region } as Core) : (await import(childPath)) as Core
  const rates = await Effect.runPromise(Effect.scoped(measure(core)))
  process.stdout.write(JSON.stringify(rates))
} else {
  const pairs: Array<readonly [Record<string, number>, Record<string, number>]> = []
  for (let round = 0; round < ROUNDS; round++) {
    if (round % 2 === 0) {
      const before = child(beforePath)
      pairs.push([before, child("after")])
    } else {
      const after = child("after")
      pairs.push([child(beforePath), after])
    }
  }
  report(pairs)
}
