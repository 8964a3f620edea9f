/**
 * In-process misses, side by side in one run: a region over `MemoryBackend`
 * with the in-process lock (read, lock, read again, create, store, release)
 * against Effect's own `Cache.get` of a key it does not hold (its lookup runs),
 * cache-manager's `wrap` over its default in-memory Keyv, and bentocache's
 * `getOrSet` over its memory tier (L1). Each contender asks for a new key on
 * every call, from one caller in a loop (the CPU of a miss, with no I/O to
 * hide it) and from 256 concurrent callers.
 *
 *   pnpm bench core-miss
 *   (or, after `pnpm build`: node --import tsx bench/core-miss.ts)
 *
 * ROUNDS rounds (default 5) after one warm-up round, interleaved; min /
 * median / max reported. Every store is bounded (20,000 entries) so rounds
 * measure steady state, not a growing heap.
 */
import { Codec, Lock, MemoryBackend, Region } from "@dogpile-effect/core"
import { BentoCache, bentostore } from "bentocache"
import { memoryDriver } from "bentocache/drivers/memory"
import { createCache } from "cache-manager"
import { Cache, Effect, Layer } from "effect"
import { stats } from "./stats.ts"

const MISSES = 20_000
const CAPACITY = 20_000
const CALLERS = 256
const ROUNDS = Number(process.env["ROUNDS"] ?? 5)

const valueOf = (j: number) => ({ id: j, name: `user ${j}`, active: j % 2 === 0 })

let round = 0
const key = (kind: string, c: number, j: number) => `${kind}:${round}:${c}:${j}`

/** `read` of a new key per call: one caller in a loop, or 256 callers at once. */
const oneCaller = (read: (key: string, j: number) => Effect.Effect<unknown, unknown>) =>
  Effect.gen(function*() {
    for (let j = 0; j < MISSES; j++) yield* read(key("one", 0, j), j)
  })
const manyCallers = (read: (key: string, j: number) => Effect.Effect<unknown, unknown>) =>
  Effect.forEach(Array.from({ length: CALLERS }, (_, c) => c), (c) =>
    Effect.gen(function*() {
      for (let j = 0; j < MISSES / CALLERS; j++) yield* read(key("many", c, j), j)
    }), { concurrency: "unbounded", discard: true })

const program = Effect.gen(function*() {
  const region = yield* Region.make<ReturnType<typeof valueOf>>({ name: "bench-miss", expiration: "1 hour" })
  const cache = yield* Cache.make({ lookup: (k: string) => Effect.succeed(valueOf(k.length)), capacity: CAPACITY })
  const cacheManager = createCache() // its default store: an in-memory Keyv
  const bento = new BentoCache({ default: "memory", stores: { memory: bentostore().useL1Layer(memoryDriver({ maxItems: CAPACITY })) } })
  yield* Effect.addFinalizer(() => Effect.promise(() => bento.disconnectAll()))

  const contenders: ReadonlyArray<readonly [string, (read: (key: string, j: number) => Effect.Effect<unknown, unknown>) => Effect.Effect<void, unknown>, (key: string, j: number) => Effect.Effect<unknown, unknown>]> = [
    ["region.getOrCreate (MemoryBackend, in-process lock)", oneCaller, (k, j) => region.getOrCreate(k, Effect.succeed(valueOf(j)))],
    ["Effect Cache.get (lookup runs)", oneCaller, (k) => Cache.get(cache, k)],
    ["cache-manager 7 wrap (Keyv in memory)", oneCaller, (k, j) => Effect.promise(() => cacheManager.wrap(k, async () => valueOf(j), 3_600_000))],
    ["bentocache 1.6 getOrSet (L1 memory)", oneCaller, (k, j) => Effect.promise(() => bento.getOrSet({ key: k, factory: () => valueOf(j), ttl: "1h" }))],
    ["region.getOrCreate, 256 callers", manyCallers, (k, j) => region.getOrCreate(k, Effect.succeed(valueOf(j)))],
    ["Effect Cache.get, 256 callers", manyCallers, (k) => Cache.get(cache, k)],
    ["cache-manager 7 wrap, 256 callers", manyCallers, (k, j) => Effect.promise(() => cacheManager.wrap(k, async () => valueOf(j), 3_600_000))],
    ["bentocache 1.6 getOrSet, 256 callers", manyCallers, (k, j) => Effect.promise(() => bento.getOrSet({ key: k, factory: () => valueOf(j), ttl: "1h" }))]
  ]
  const samples = new Map<string, Array<number>>(contenders.map(([name]) => [name, []]))
  for (; round < ROUNDS + 1; round++) {
    for (const [name, shape, read] of contenders) {
      const start = performance.now()
      yield* shape(read)
      if (round > 0) samples.get(name)?.push(MISSES / ((performance.now() - start) / 1000))
    }
    // cache-manager's Keyv map is unbounded: emptied between rounds.
    yield* Effect.promise(() => cacheManager.clear())
  }
  const rows = contenders.map(([name]) => ({ name, ...stats(samples.get(name) ?? []) }))
  const n = (x: number) => Math.round(x).toLocaleString("en-US")
  const against = (row: { readonly name: string; readonly median: number }, prefix: string) =>
    row.median / (rows.find((r) => r.name.startsWith(prefix) && r.name.includes("256") === row.name.includes("256"))?.median ?? NaN)
  return [
    "| contender | misses/s min | median | max | vs region | vs bentocache |",
    "|---|---:|---:|---:|---:|---:|",
    ...rows.map((row) =>
      `| ${row.name} | ${n(row.min)} | ${n(row.median)} | ${n(row.max)} | ${against(row, "region").toFixed(2)}× | ${against(row, "bentocache").toFixed(2)}× |`
    )
  ].join("\n")
})

const layer = Layer.mergeAll(MemoryBackend.layer({ capacity: CAPACITY }), Codec.layerJson, Lock.layerLocal)
const table = await Effect.runPromise(program.pipe(Effect.scoped, Effect.provide(layer)))
console.log(`In-process misses: ${MISSES.toLocaleString("en-US")} new keys a round, ${ROUNDS} rounds; Node ${process.version}\n`)
console.log(table)
