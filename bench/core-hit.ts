/**
 * Hit-path benchmark of the in-memory region against Effect's own `Cache.get`
 * and a plain `Map` lookup, side by side in one run.
 *
 *   pnpm build && pnpm exec tsx bench/core-hit.ts
 *
 * Every contender reads the same 10,000 warm keys in the same order; rounds are
 * interleaved so drift (JIT, GC, other load) hits all of them alike, and the
 * median round is reported.
 */
import { Codec, Envelope, Lock, MemoryBackend, Region } from "@dogpile-effect/core"
import { Cache, Effect, Layer, References } from "effect"

const KEYS = 10_000
const READS = 200_000
const ROUNDS = 5

interface Result {
  readonly name: string
  readonly opsPerSecond: number
}

const median = (values: ReadonlyArray<number>): number => {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN
}

const keys = Array.from({ length: KEYS }, (_, i) => `user:${i}`)
const valueOf = (i: number) => ({ id: i, name: `user ${i}` })

const program = Effect.gen(function*() {
  const map = new Map(keys.map((key, i) => [key, valueOf(i)]))

  const cache = yield* Cache.make({
    lookup: (key: string) => Effect.succeed(valueOf(Number(key.slice(5)))),
    capacity: KEYS * 2
  })
  yield* Effect.forEach(keys, (key) => Cache.get(cache, key), { discard: true })

  const full = yield* Region.make<{ id: number; name: string }>({ name: "bench-full", namespace: "full", expiration: "1 hour" })
  const raw = yield* Region.make<{ id: number; name: string }>({ name: "bench-raw", namespace: "raw", envelope: Envelope.raw })
  yield* full.setMany(keys.map((key, i) => [key, valueOf(i)] as const))
  yield* raw.setMany(keys.map((key, i) => [key, valueOf(i)] as const))

  // The creator is built once, as a caller's would be: the contenders compare hits, not allocations.
  const creator = Effect.succeed(valueOf(-1))
  const contenders: ReadonlyArray<readonly [string, Effect.Effect<void, unknown>]> = [
    ["Map.get (plain JS loop)", Effect.sync(() => {
      let found = 0
      for (let i = 0; i < READS; i++) if (map.get(keys[i % KEYS] as string) !== undefined) found++
      if (found !== READS) throw new Error("Map lookup missed")
    })],
    ["Map.get inside Effect.sync per read", Effect.forEach(
      Array.from({ length: READS }, (_, i) => keys[i % KEYS] as string),
      (key) => Effect.sync(() => map.get(key)),
      { discard: true }
    )],
    ["Effect Cache.get", Effect.forEach(
      Array.from({ length: READS }, (_, i) => keys[i % KEYS] as string),
      (key) => Cache.get(cache, key),
      { discard: true }
    )],
    ["region.getOrCreate (memory, JSON, full envelope)", Effect.forEach(
      Array.from({ length: READS }, (_, i) => keys[i % KEYS] as string),
      (key) => full.getOrCreate(key, creator),
      { discard: true }
    )],
    ["region.getOrCreate (memory, JSON, raw envelope)", Effect.forEach(
      Array.from({ length: READS }, (_, i) => keys[i % KEYS] as string),
      (key) => raw.getOrCreate(key, creator),
      { discard: true }
    )],
    ["region.getOrCreate (memory, JSON, full envelope), TracerEnabled off", Effect.forEach(
      Array.from({ length: READS }, (_, i) => keys[i % KEYS] as string),
      (key) => full.getOrCreate(key, creator),
      { discard: true }
    ).pipe(Effect.provideService(References.TracerEnabled, false))],
    ["region.get (memory, JSON, full envelope)", Effect.forEach(
      Array.from({ length: READS }, (_, i) => keys[i % KEYS] as string),
      (key) => full.get(key),
      { discard: true }
    )]
  ]

  const samples = new Map<string, Array<number>>(contenders.map(([name]) => [name, []]))
  for (let round = 0; round < ROUNDS + 1; round++) {
    for (const [name, run] of contenders) {
      const start = performance.now()
      yield* run
      const seconds = (performance.now() - start) / 1000
      if (round > 0) samples.get(name)?.push(READS / seconds) // round 0 warms the JIT
    }
  }
  const results: Array<Result> = contenders.map(([name]) => ({ name, opsPerSecond: median(samples.get(name) ?? []) }))
  const cacheOps = results.find((r) => r.name === "Effect Cache.get")?.opsPerSecond ?? Number.NaN
  const lines = [
    `| contender | hits/s (median of ${ROUNDS}) | vs Effect Cache.get |`,
    "|---|---:|---:|",
    ...results.map((r) => `| ${r.name} | ${Math.round(r.opsPerSecond).toLocaleString("en-US")} | ${(r.opsPerSecond / cacheOps).toFixed(2)}× |`)
  ]
  return lines.join("\n")
})

const table = await Effect.runPromise(
  program.pipe(
    Effect.scoped,
    Effect.provide(Layer.mergeAll(MemoryBackend.layer(), Codec.layerJson, Lock.layerLocal))
  )
)
console.log(`Core hit path: ${KEYS.toLocaleString("en-US")} warm keys, ${READS.toLocaleString("en-US")} sequential reads per round, Node ${process.version}\n`)
console.log(table)
