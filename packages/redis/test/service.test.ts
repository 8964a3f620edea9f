/**
 * The reference service (`examples/service/`), started as a user would start
 * it (tsx, `REDIS_URL`, `PORT=0`) against the test server's database 9: its
 * endpoints answer, the database is called once per key whatever the number
 * of callers, the Redis layouts are the ones each region names (plain keys,
 * hash buckets, Python's dogpile layout), `/metrics` carries the counts, the
 * three regions share one client, and the load script prints its table.
 */
import { type ChildProcess, execFile, spawn, spawnSync } from "node:child_process"
import { once } from "node:events"
import { createServer, type Server } from "node:http"
import type { AddressInfo } from "node:net"
import { fileURLToPath } from "node:url"
import { promisify } from "node:util"
import { Redis } from "ioredis"
import { afterAll, assert, beforeAll, describe, inject, it } from "vitest"

const root = fileURLToPath(new URL("../../../", import.meta.url))
const redisUrl = `${inject("redisUrl")}/9`
const redis = new Redis(redisUrl)
const tsx = ["--import", "tsx", "--conditions=@dogpile-effect/source"]
const run = promisify(execFile)

let service: ChildProcess
let base = ""
let output = ""

/** Debian's interpreter with python3-dogpile.cache and python3-redis (as in packages/python). */
const PYTHON = process.env["DOGPILE_PYTHON"] ?? "/usr/bin/python3"
const hasDogpile = spawnSync(PYTHON, ["-c", "import dogpile.cache, redis"]).status === 0

/** A Python dogpile.cache region configured as the Prices preset expects (JSON, distributed lock). */
const pythonRegion = `
import json, sys
from dogpile.cache import make_region
region = make_region(serializer=lambda v: json.dumps(v).encode("utf-8"), deserializer=json.loads).configure(
    "dogpile.cache.redis", expiration_time=600,
    arguments={"url": sys.argv[1], "distributed_lock": True})
`

/** An OTLP/HTTP collector: the span names of every trace export it receives, and the metric names. */
const spanNames: Array<string> = []
const metricNames = new Set<string>()
const spanParents = new Map<string, { readonly name: string; readonly parent: string | undefined }>()
let collector: Server

const collect = (body: string) => {
  const payload = JSON.parse(body) as {
    resourceSpans: Array<{ scopeSpans: Array<{ spans: Array<{ name: string; spanId: string; parentSpanId?: string }> }> }>
  }
  for (const resource of payload.resourceSpans) {
    for (const scope of resource.scopeSpans) {
      for (const span of scope.spans) {
        spanNames.push(span.name)
        spanParents.set(span.spanId, { name: span.name, parent: span.parentSpanId || undefined })
      }
    }
  }
}

const collectMetrics = (body: string) => {
  const payload = JSON.parse(body) as {
    resourceMetrics: Array<{ scopeMetrics: Array<{ metrics: Array<{ name: string }> }> }>
  }
  for (const resource of payload.resourceMetrics) {
    for (const scope of resource.scopeMetrics) for (const metric of scope.metrics) metricNames.add(metric.name)
  }
}

const startCollector = async () => {
  collector = createServer((request, response) => {
    let body = ""
    request.on("data", (chunk: Buffer) => (body += chunk.toString()))
    request.on("end", () => {
      if (request.url === "/v1/traces") collect(body)
      if (request.url === "/v1/metrics") collectMetrics(body)
      response.writeHead(200, { "content-type": "application/json" }).end("{}")
    })
  })
  collector.listen(0, "127.0.0.1")
  await once(collector, "listening")
  return `http://127.0.0.1:${(collector.address() as AddressInfo).port}`
}

/** The names of `spanId`'s ancestors, nearest first. */
const ancestors = (spanId: string): Array<string> => {
  const names: Array<string> = []
  let current = spanParents.get(spanId)?.parent
  while (current !== undefined && spanParents.has(current)) {
    const span = spanParents.get(current)!
    names.push(span.name)
    current = span.parent
  }
  return names
}

/** Resolves with the URL the service prints once it listens. */
const listening = (child: ChildProcess) =>
  new Promise<string>((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      output += chunk.toString()
      const match = /Listening on (http:\/\/[\d.:]+)/.exec(output)
      if (match?.[1] !== undefined) resolve(match[1])
    }
    child.stdout?.on("data", onData)
    child.stderr?.on("data", onData)
    child.once("exit", (code) => reject(new Error(`service exited (${code}) before listening:\n${output}`)))
  })

const get = async (path: string) => {
  const response = await fetch(`${base}${path}`)
  return { status: response.status, body: await response.text() }
}
const json = async (path: string): Promise<unknown> => JSON.parse((await get(path)).body)
const calls = async () => (await json("/source/calls")) as Record<string, number>

/** The value of one sample line of the Prometheus text, e.g. `dogpile_hits_total{region="stock"}`. */
const sample = (metrics: string, series: string): number | undefined => {
  const line = metrics.split("\n").find((l) => l.startsWith(`${series} `))
  return line === undefined ? undefined : Number(line.slice(series.length + 1))
}

const namedConnections = async () =>
  ((await redis.call("CLIENT", "LIST")) as string).split("\n").filter((line) => line.includes(" name=dogpile-service ")).length

beforeAll(async () => {
  await redis.flushdb()
  const otlp = await startCollector()
  service = spawn(process.execPath, [...tsx, "examples/service/main.ts"], {
    cwd: root,
    env: {
      ...process.env,
      REDIS_URL: redisUrl,
      PORT: "0",
      SOURCE_DELAY: "20 millis",
      OTEL_EXPORTER_OTLP_ENDPOINT: otlp,
      OTEL_TRACES_EXPORTER: "otlp",
      OTEL_METRICS_EXPORTER: "otlp",
      OTEL_BSP_SCHEDULE_DELAY: "200",
      OTEL_METRIC_EXPORT_INTERVAL: "500"
    },
    stdio: ["ignore", "pipe", "pipe"]
  })
  base = await listening(service)
}, 120_000)

afterAll(async () => {
  if (service.exitCode === null) {
    service.kill("SIGKILL")
    await once(service, "exit")
  }
  await redis.quit()
  collector.close()
})

describe("reference service", () => {
  it("products (near cache): one database call per key, for 3 sequential and 100 concurrent callers; ?cache=off bypasses", async () => {
    const first = await json("/products/7")
    assert.deepStrictEqual(first, { id: 7, name: "product 7", description: "the 7th product" })
    assert.deepStrictEqual(await json("/products/7"), first)
    assert.deepStrictEqual(await json("/products/7"), first)
    assert.strictEqual((await calls())["products"], 1)
    assert.deepStrictEqual(await json("/products/7?cache=off"), first)
    assert.strictEqual((await calls())["products"], 2, "the bypass calls the database")
    const all = await Promise.all(Array.from({ length: 100 }, () => json("/products/8")))
    assert.isTrue(all.every((body) => (body as { id: number }).id === 8))
    assert.strictEqual((await calls())["products"], 3, "100 concurrent requests, one creation")
    assert.strictEqual(await redis.type("products:7"), "string", "a plain key under the region's namespace")
    assert.deepStrictEqual(await get("/products/abc"), { status: 400, body: "id must be a number" })
  })

  it("stock (hash buckets): cached after the first call, stored as a field of a Redis hash", async () => {
    assert.deepStrictEqual(await json("/stock/7"), { id: 7, available: 49 })
    assert.deepStrictEqual(await json("/stock/7"), { id: 7, available: 49 })
    assert.strictEqual((await calls())["stock"], 1)
    assert.strictEqual(await redis.type("stock:#0"), "hash")
    assert.deepStrictEqual(await redis.hkeys("stock:#0"), ["7"])
  })

  it("prices (shared with Python): one batch per request for the misses only, in dogpile's JSON layout without TTL", async () => {
    const ids = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i)
    assert.deepStrictEqual(await json(`/prices?ids=${ids(1, 50).join(",")}`), ids(1, 50).map((id) => 100 + id))
    assert.deepInclude(await calls(), { priceBatches: 1, prices: 50 })
    assert.deepStrictEqual(await json(`/prices?ids=${ids(1, 50).join(",")}`), ids(1, 50).map((id) => 100 + id))
    assert.deepInclude(await calls(), { priceBatches: 1, prices: 50 }, "all 50 from the region")
    await json(`/prices?ids=${ids(41, 60).join(",")}`)
    assert.deepInclude(await calls(), { priceBatches: 2, prices: 60 }, "one batch of the 10 new ids")
    const stored = await redis.get("price:1")
    assert.match(stored ?? "", /^\{"ct": [\d.]+, "v": 2\}\|101$/, "dogpile.cache's JSON layout, no namespace")
    assert.strictEqual(await redis.ttl("price:1"), -1, "dogpile.cache.redis keeps keys without TTL by default")
  })

  it.skipIf(!hasDogpile && process.getuid?.() !== 0)("prices: Python's dogpile.cache reads the service's values, and the service serves Python's", async () => {
    const { stdout } = await run(PYTHON, ["-c", `${pythonRegion}
region.set("price:1000", 4242)
print(json.dumps(region.get("price:1")))`, redisUrl], { timeout: 60_000 })
    assert.strictEqual(stdout.trim(), "101")
    assert.deepStrictEqual(await json("/prices?ids=1000"), [4242])
    assert.deepInclude(await calls(), { priceBatches: 2, prices: 60 }, "Python's value, no database call")
  })

  it("/metrics: region and database counters in the Prometheus text format", async () => {
    const { status, body } = await get("/metrics")
    assert.strictEqual(status, 200)
    assert.strictEqual(sample(body, `catalogue_calls_total{table="products"}`), 3)
    assert.strictEqual(sample(body, `catalogue_calls_total{table="stock"}`), 1)
    assert.strictEqual(sample(body, `catalogue_calls_total{table="prices"}`), 2)
    assert.strictEqual(sample(body, `dogpile_creations_total{region="products"}`), 2)
    assert.strictEqual(sample(body, `dogpile_creations_total{region="stock"}`), 1)
    assert.strictEqual(sample(body, `dogpile_creations_total{region="prices"}`), 60)
    assert.strictEqual(sample(body, `dogpile_hits_total{region="stock"}`), 1)
    // 50 on the second call, 10 on the third, 1 for Python's value (when the Python test ran).
    assert.include([60, 61], sample(body, `dogpile_hits_total{region="prices"}`))
    assert.isAtLeast(sample(body, `dogpile_hits_total{region="products"}`) ?? 0, 2)
    assert.include(body, "# TYPE dogpile_hits_total counter")
  })

  it("/metrics: the products region's reads were served by the near cache (published every second)", async () => {
    let nearHits: number | undefined
    for (let i = 0; i < 50 && (nearHits ?? 0) < 1; i++) {
      await new Promise((resolve) => setTimeout(resolve, 200))
      nearHits = sample((await get("/metrics")).body, "dogpile_near_hits_total")
    }
    assert.isAtLeast(nearHits ?? 0, 1)
  })

  it("the three regions share one RedisClient: 3 connections (commands, tracking, 1 release subscriber)", async () => {
    // One RedisClient: the command connection, the near cache's invalidation subscriber, and the
    // client's release subscriber, shared by every RedisLock (the products/stock lock and the Python preset's own).
    assert.strictEqual(await namedConnections(), 3)
  })

  it("load script: database calls without the cache and with it, side by side", async () => {
    const { stdout } = await run(process.execPath, [...tsx, "examples/service/load.ts"], {
      cwd: root,
      env: { ...process.env, SERVICE_URL: base, REQUESTS: "60", CONCURRENCY: "10", KEYS: "6" },
      timeout: 120_000
    })
    const rows = stdout.split("\n").map((line) => line.trim().split(/\s{2,}/))
    const row = (route: string, mode: string) => rows.find((cells) => cells[0] === route && cells[1] === mode)
    for (const route of ["products", "stock"]) {
      assert.strictEqual(row(route, "no cache")?.[3], "60", `${route}: every request calls the database`)
      assert.strictEqual(row(route, "cold")?.[3], "6", `${route}: one call per distinct id`)
      assert.strictEqual(row(route, "warm")?.[3], "0", `${route}: all hits`)
      assert.isTrue(Number.isFinite(Number(row(route, "warm")?.[5])), "p99 printed")
    }
  }, 150_000)

  it("stops on SIGTERM and closes its connections", async () => {
    service.kill("SIGTERM")
    const [code] = await once(service, "exit")
    assert.include([0, 130, 143], code, output)
    for (let i = 0; i < 50 && (await namedConnections()) > 0; i++) await new Promise((r) => setTimeout(r, 100))
    assert.strictEqual(await namedConnections(), 0)
  }, 60_000)

  it("traces reached the OTLP collector: the database span under Region.getOrCreate, under the HTTP request span", () => {
    // Flushed at the latest when the service stopped (the test above).
    assert.include(spanNames, "Region.getOrCreate")
    assert.include(spanNames, "Catalogue.products")
    assert.include(spanNames, "RegionResolver.runAll")
    const database = [...spanParents].find(([, span]) => span.name === "Catalogue.products")
    assert.isDefined(database)
    const chain = ancestors(database![0])
    assert.include(chain, "Region.getOrCreate", chain.join(" < "))
    assert.strictEqual(chain.at(-1), "GET", `the HTTP server's request span is the root: ${chain.join(" < ")}`)
  })

  it("metrics reached the OTLP collector too, under their Prometheus names", () => {
    for (const name of ["dogpile_hits_total", "dogpile_creations_total", "catalogue_calls_total"]) {
      assert.isTrue(metricNames.has(name), `${name} in ${[...metricNames].join(", ")}`)
    }
  })
})
