/**
 * `pnpm demo`: primes Redis with the seed's dataset under every storage
 * strategy and reports used_memory per strategy (table, JSON, SVG chart).
 *
 *   pnpm demo                    full run; writes docs/demo-results.json, docs/demo-chart.svg, docs/demo.md
 *   pnpm demo --scale 0.01       quick run (writes nothing unless --out is given)
 *   pnpm demo --only raw-json-hash,full-json-ttl
 *
 * Without REDIS_URL it starts its own redis-server on a free loopback port
 * (persistence off) and stops it at the end. With REDIS_URL it refuses a
 * non-empty server unless --flush is given, because every strategy starts
 * with FLUSHALL.
 */
import { NodeRuntime, NodeServices } from "@effect/platform-node"
import { RedisClient } from "@dogpile-effect/redis"
import { Config, Console, Data, Effect, FileSystem, Layer, Option, Path } from "effect"
import { Command, Flag } from "effect/cli"
import * as os from "node:os"
import * as Dataset from "./Dataset.ts"
import * as Measure from "./Measure.ts"
import * as Progress from "./Progress.ts"
import * as RedisServer from "./RedisServer.ts"
import * as Report from "./Report.ts"
import * as Strategies from "./Strategies.ts"

class DemoError extends Data.TaggedError("DemoError")<{ readonly message: string }> {}

const redisUrl = Effect.gen(function*() {
  const configured = yield* Config.option(Config.String("REDIS_URL"))
  if (Option.isSome(configured) && configured.value.length > 0) return { url: configured.value, own: false }
  const server = yield* RedisServer.start
  return { url: server.url, own: true }
})

const serverVersion = Effect.gen(function*() {
  const redis = yield* RedisClient.RedisClient
  const text = yield* redis.use("info server", (c) => c.info("server"))
  return /redis_version:([^\r\n]+)/.exec(String(text))?.[1] ?? "unknown"
})

const demo = Command.make(
  "demo",
  {
    scale: Flag.Finite("scale").pipe(
      Flag.withDescription("Fraction of the seed's dataset (1 = 1,100,000 entries)"),
      Flag.withDefault(1)
    ),
    only: Flag.String("only").pipe(
      Flag.withDescription("Comma-separated strategy ids to run (include full-json-ttl for the % column)"),
      Flag.optional
    ),
    out: Flag.String("out").pipe(
      Flag.withDescription("Directory for demo-results.json, demo-chart.svg and demo.md (default: docs/ on a full run)"),
      Flag.optional
    ),
    flush: Flag.Boolean("flush").pipe(
      Flag.withDescription("Allow FLUSHALL on a non-empty server given by REDIS_URL"),
      Flag.withDefault(false)
    ),
    bucketSize: Flag.Int("bucket-size").pipe(
      Flag.withDescription(`Fields per bucket of the byNumber strategies (default ${Strategies.DEFAULT_BUCKET_SIZE})`),
      Flag.withDefault(Strategies.DEFAULT_BUCKET_SIZE)
    ),
    list: Flag.Boolean("list").pipe(Flag.withDescription("List the strategies and exit"), Flag.withDefault(false))
  },
  Effect.fn(function*({ scale, only, out, flush, bucketSize, list }) {
    const all = Strategies.all(bucketSize)
    if (list) {
      for (const strategy of all) yield* Console.log(`${strategy.id.padEnd(30)} ${strategy.note}`)
      return
    }
    if (!(scale > 0 && scale <= 1)) return yield* new DemoError({ message: `--scale must be in (0, 1], got ${scale}` })
    const wanted = Option.map(only, (text) => new Set(text.split(",").map((id) => id.trim()).filter((id) => id.length > 0)))
    const strategies = all.filter((strategy) => Option.isNone(wanted) || wanted.value.has(strategy.id))
    if (Option.isSome(wanted)) {
      const unknown = [...wanted.value].filter((id) => !all.some((strategy) => strategy.id === id))
      if (unknown.length > 0) {
        return yield* new DemoError({ message: `unknown strategy: ${unknown.join(", ")} (see --list)` })
      }
    }
    const partial = scale !== 1 || Option.isSome(wanted) || bucketSize !== Strategies.DEFAULT_BUCKET_SIZE
    const outDir = Option.isSome(out) ? Option.some(out.value) : partial ? Option.none<string>() : Option.some("docs")

    const dataset = Dataset.make(scale)
    const started = Date.now()
    const { url, own } = yield* redisUrl

    yield* Effect.gen(function*() {
      const redis = yield* RedisClient.RedisClient
      const version = yield* serverVersion
      yield* Console.error(
        `Redis ${version} at ${redis.label}${own ? " (started by the demo)" : ""}; ` +
          `${dataset.total.toLocaleString("en-US")} entries × ${strategies.length} strategies`
      )
      if (!own && !flush) {
        const keys = yield* redis.use("dbsize", (c) => c.dbsize())
        if (keys > 0) {
          return yield* new DemoError({
            message: `REDIS_URL points at a server with ${keys} keys; the demo runs FLUSHALL. ` +
              "Use an empty, disposable server, or pass --flush."
          })
        }
      }
      const progress = Progress.make()
      // Warm-up: a flushed server that has never held data reports ~0.2 MB
      // less used_memory than one that has (allocations Redis keeps after
      // FLUSHALL), which would bias whichever strategy runs first. Prime a
      // slice of the dataset once with a key and a hash strategy, then flush.
      const warmUp = Dataset.make(Math.min(scale, 0.05))
      for (const strategy of all.filter((s) => s.id === Strategies.BASELINE || s.id === "raw-intaware-numbucket")) {
        yield* Measure.run(strategy, warmUp, Progress.silent)
      }
      const results: Array<Measure.Result> = []
      for (const strategy of strategies) {
        const result = yield* Measure.run(strategy, dataset, progress)
        if (!result.verified) yield* Console.error(`  warning: ${strategy.id} did not read its samples back unchanged`)
        results.push(result)
      }
      yield* redis.use("flushall", (c) => c.flushall("SYNC"))

      const baseline = results.find((result) => result.id === Strategies.BASELINE)
      const info: Report.RunInfo = {
        date: new Date().toISOString().slice(0, 10),
        redisVersion: version,
        node: process.version,
        cpus: os.cpus().length,
        scale,
        entries: dataset.total,
        totalSeconds: (Date.now() - started) / 1000,
        command: partial ? `pnpm demo --scale ${scale}${Option.isSome(wanted) ? ` --only ${[...wanted.value].join(",")}` : ""}` : "pnpm demo"
      }
      yield* Console.log("")
      yield* Console.log(Report.table(Report.rows(results, baseline)))
      yield* Console.log("")
      for (const line of Report.goalLines(results, info)) yield* Console.log(line)

      if (Option.isSome(outDir)) {
        const fs = yield* FileSystem.FileSystem
        const path = yield* Path.Path
        yield* fs.makeDirectory(outDir.value, { recursive: true })
        const write = (name: string, text: string) =>
          Effect.andThen(fs.writeFileString(path.join(outDir.value, name), text), Console.log(`wrote ${path.join(outDir.value, name)}`))
        yield* write("demo-results.json", JSON.stringify({ run: info, baseline: Strategies.BASELINE, goals: Report.GOALS, results }, null, 2) + "\n")
        yield* write("demo-chart.svg", Report.svg(results, info))
        yield* write("demo.md", Report.markdown(results, baseline, info))
      } else {
        yield* Console.log("(partial run: no files written; pass --out DIR to write them)")
      }
    }).pipe(
      Effect.provide(RedisClient.layer({
        url,
        commandTimeout: "5 minutes",
        connectTimeout: "5 seconds",
        connectionName: "dogpile-demo"
      }))
    )
  }, Effect.scoped)
).pipe(Command.withDescription("Redis memory per cache storage strategy, on the seed's demo dataset"))

demo.pipe(
  Command.run({ version: "0.1.0" }),
  Effect.catchTags({
    DemoError: (error) => Effect.andThen(Console.error(`demo: ${error.message}`), Effect.sync(() => (process.exitCode = 1))),
    RedisServerError: (error) =>
      Effect.andThen(Console.error(`demo: ${error.message}`), Effect.sync(() => (process.exitCode = 1)))
  }),
  Effect.provide(Layer.mergeAll(NodeServices.layer)),
  NodeRuntime.runMain
)
