/**
 * The demo at a small scale (1,100 entries) against the test server: every
 * strategy primes, reads its samples back, and finds each sample in Redis
 * where the region's key layout puts it (namespace included). A sampler that
 * looks keys up without the namespace reports "(missing)" and fails here.
 */
import { assert, describe, it } from "@effect/vitest"
import { CacheKey } from "@dogpile-effect/core"
import { ListLayout } from "@dogpile-effect/hstore"
import { RedisClient } from "@dogpile-effect/redis"
import { Effect } from "effect"
import { inject } from "vitest"
import * as Dataset from "../Dataset.ts"
import * as Measure from "../Measure.ts"
import * as Progress from "../Progress.ts"
import * as Strategies from "../Strategies.ts"

const url = inject("redisUrl")
const dataset = Dataset.make(0.001)

/** Where the region's namespace (its name, by default) puts a key: `name:key`, buckets `name#bucket`. */
const expectedLocation = (strategy: Strategies.Strategy, entry: Dataset.Entry): string => {
  const key = Strategies.keyMapper(strategy.layout)(entry)
  if (strategy.layout._tag === "Lists" && typeof key === "string") {
    // ListBackend: position n mod size of the list `namespace:prefix#⌊n / size⌋`.
    const position = ListLayout.locate(strategy.layout.size, `${strategy.id}:${key}`)
    assert.isDefined(position, `${strategy.id} ${key}: not placed in a list`)
    return CacheKey.display(CacheKey.hash(position.list, String(position.index)))
  }
  return CacheKey.display(typeof key === "string" ? `${strategy.id}:${key}` : CacheKey.hash(`${strategy.id}#${key.hash}`, key.field))
}

// Every strategy starts with FLUSHALL: only on the project's own server, never on a REDIS_URL others may share.
const shared = (process.env["REDIS_URL"] ?? "").length > 0
if (shared) process.stderr.write("[demo] skipped: REDIS_URL is set, and the demo flushes its server\n")

const describeDemo = shared ? describe.skip : describe

describeDemo("demo (scale 0.001)", () => {
  it.live("every strategy's samples are found where the region's key layout puts them, and read back", () =>
    Effect.gen(function*() {
      const problems: Array<string> = []
      let checked = 0
      let listStrategies = 0
      for (const strategy of Strategies.all()) {
        const result = yield* Measure.run(strategy, dataset, Progress.silent)
        const entries = Dataset.samples(dataset)
        assert.strictEqual(result.samples.length, entries.length)
        for (const [i, sample] of result.samples.entries()) {
          const expected = expectedLocation(strategy, entries[i]!)
          if (sample.stored === "(missing)") problems.push(`${strategy.id} ${sample.key}: missing`)
          if (sample.location !== expected) problems.push(`${strategy.id} ${sample.key}: at ${sample.location}, not ${expected}`)
          if (!sample.readBack) problems.push(`${strategy.id} ${sample.key}: not read back`)
          checked++
        }
        if (!result.verified) problems.push(`${strategy.id}: not verified`)
        if (strategy.layout._tag === "Keys") assert.strictEqual(result.redisKeys, dataset.total, strategy.id)
        if (strategy.layout._tag === "Lists") {
          // Every entry is a list position (the dataset's keys all end in a number): one Redis key per list.
          const layout = strategy.layout
          const lists = new Set(Dataset.slice(dataset, 0, dataset.total).map((entry) =>
            ListLayout.locate(layout.size, `${strategy.id}:${entry.key}`)?.list
          ))
          assert.isFalse(lists.has(undefined), strategy.id)
          assert.strictEqual(result.redisKeys, lists.size, strategy.id)
          for (const sample of result.samples) assert.strictEqual(sample.encoding, "quicklist", `${strategy.id} ${sample.key}`)
          listStrategies++
        }
      }
      assert.deepStrictEqual(problems, [])
      assert.strictEqual(checked, Strategies.all().length * 5)
      assert.strictEqual(listStrategies, 4)
    }).pipe(Effect.provide(RedisClient.layer({ url }))), 120_000)
})
