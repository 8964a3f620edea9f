/**
 * `getOrCreateMany` of 100 cold keys against one cold `getOrCreate`, on Redis
 * (RedisBackend + RedisLock), with a 50 ms creator. Goal: the batch takes at
 * most 2× the single key (before the dogpile rewrite the batch took its 100
 * locks one after another: 100 round trips before the creator ran).
 *
 *   pnpm bench many-cold          (ROUNDS=9 by default)
 *
 * Each round uses fresh keys, measures both calls in the same process one
 * after the other, and reports min / median / max of the ratio.
 */
import { Region } from "@dogpile-effect/core"
import { RedisBackend, RedisClient, RedisLock } from "@dogpile-effect/redis"
import { Effect, Layer, Schema } from "effect"
import { startRedisServer } from "../test-support/redis-server.ts"
import { stats } from "./stats.ts"

const KEYS = 100
const CREATOR_MS = 50
const ROUNDS = Number(process.env["ROUNDS"] ?? 9)

const measure = <A, E>(effect: Effect.Effect<A, E>) =>
  Effect.gen(function*() {
    const start = performance.now()
    yield* effect
    return performance.now() - start
  })

const program = Effect.gen(function*() {
  const region = yield* Region.make({ name: "bench-many", schema: Schema.Number, expiration: "1 hour" })
  const creatorOne = Effect.as(Effect.sleep(CREATOR_MS), 1)
  const creatorMany = (keys: ReadonlyArray<unknown>) => Effect.as(Effect.sleep(CREATOR_MS), keys.map(() => 1))
  // Warm-up: JIT, connections, scripts.
  yield* region.getOrCreate("warm", creatorOne)
  yield* region.getOrCreateMany(["warm-a", "warm-b"], creatorMany)
  const singles: Array<number> = []
  const batches: Array<number> = []
  const ratios: Array<number> = []
  for (let round = 0; round < ROUNDS; round++) {
    const single = yield* measure(region.getOrCreate(`one-${round}`, creatorOne))
    const keys = Array.from({ length: KEYS }, (_, i) => `many-${round}-${i}`)
    const batch = yield* measure(region.getOrCreateMany(keys, creatorMany))
    singles.push(single)
    batches.push(batch)
    ratios.push(batch / single)
  }
  const fmt = (s: { min: number; median: number; max: number }, digits = 1) =>
    `${s.min.toFixed(digits)} / ${s.median.toFixed(digits)} / ${s.max.toFixed(digits)}`
  console.log(`| measure (${ROUNDS} rounds) | min / median / max |`)
  console.log(`|---|---|`)
  console.log(`| one cold getOrCreate, ms | ${fmt(stats(singles))} |`)
  console.log(`| getOrCreateMany of ${KEYS} cold keys, ms | ${fmt(stats(batches))} |`)
  console.log(`| ratio batch / single (goal ≤ 2) | ${fmt(stats(ratios), 2)} |`)
})

const main = async () => {
  const external = process.env["REDIS_URL"]
  const server = external === undefined ? await startRedisServer() : undefined
  const url = external ?? server!.url
  try {
    const RedisLive = Layer.mergeAll(RedisBackend.layer(), RedisLock.layer()).pipe(
      Layer.provideMerge(RedisClient.layer({ url }))
    )
    await Effect.runPromise(program.pipe(Effect.scoped, Effect.provide(RedisLive)))
  } finally {
    await server?.dispose()
  }
}

void main()
