/**
 * Regions that name their storage (`storage` in their options) over one
 * shared RedisClient, against the project's redis-server: how many
 * connections N regions hold (CLIENT LIST, by a connection name of this
 * test), where their values land (keys or hash fields, or nowhere for
 * memory), the layout each records in `__dogpile__:layout:<name>`, and the
 * CLI reading it so that `dogpile inspect --region NAME KEY` needs no layout
 * flags (flags still win).
 */
import { Envelope, Region, Storage } from "@dogpile-effect/core"
import { Msgpack } from "@dogpile-effect/codecs"
import { HashStorage } from "@dogpile-effect/hstore"
import { Presets, PythonStorage } from "@dogpile-effect/python"
import { RedisClient, RedisLock, RedisStorage } from "@dogpile-effect/redis"
import { Effect, Layer, Schedule, Schema } from "effect"
import { assert, describe, inject, it } from "vitest"
import { type Ran, runDogpile } from "./bin.ts"

const url = inject("redisUrl")
const TIMEOUT = 120_000

const dogpile = (args: ReadonlyArray<string>): Promise<Ran> => runDogpile(args, { REDIS_URL: url })

const fresh = (label: string) => `st${label}${Math.random().toString(36).slice(2, 8)}`

type Kind = "near" | "plain" | "hash" | "memory" | "python"
const KINDS: ReadonlyArray<Kind> = ["near", "plain", "hash", "memory", "python"]

const storageOf = (kind: Kind) => {
  switch (kind) {
    case "near":
      return RedisStorage.near({ maxEntries: 1000 })
    case "plain":
      return RedisStorage.plain()
    case "hash":
      return HashStorage.storage({ bucketing: { by: "id" } })
    case "memory":
      return Storage.memory()
    case "python":
      return PythonStorage.storage("redis-advanced", Presets.redisAdvanced({ format: "json" }))
  }
}

/** One client (named `connectionName`) and one lock under every region. */
const shared = (connectionName: string) =>
  RedisLock.layer().pipe(Layer.provideMerge(RedisClient.layer({ url, connectionName })))

/** The connections named `connectionName` the server sees. */
const connections = (connectionName: string) =>
  Effect.flatMap(Effect.service(RedisClient.RedisClient), (redis) =>
    redis.use("client list", (client) => client.call("CLIENT", "LIST") as Promise<string>)).pipe(
      Effect.map((list) => list.split("\n").filter((line) => line.includes(` name=${connectionName} `)).length)
    )

/** The count once it is at least `expected` (subscribers connect in the background), then re-read. */
const settledConnections = (connectionName: string, expected: number) =>
  connections(connectionName).pipe(
    Effect.repeat({ until: (n) => n >= expected, schedule: Schedule.spaced("50 millis"), times: 200 }),
    Effect.andThen(Effect.sleep("200 millis")),
    Effect.andThen(connections(connectionName))
  )

/** The region's key `item:1234` in Redis: plain type / bucket type / bucket field. */
const whereOf = (name: string) =>
  Effect.flatMap(Effect.service(RedisClient.RedisClient), (redis) =>
    redis.use("where", async (client) => {
      const [plainType, bucketType, field] = await Promise.all([
        client.type(`${name}:item:1234`),
        client.type(`${name}:item:12`),
        client.hexists(`${name}:item:12`, "34")
      ])
      return `${plainType}/${bucketType}/${field}`
    }))

/**
 * Builds `n` regions cycling through `kinds` from `first`, writes `item:1234` in each (a Python preset
 * keeps keys verbatim: its region is given `<name>:item:1234`, the Redis key a plain region writes), and
 * reports where it landed (byId buckets it as field `34` of hash `<ns>:item:12`) and the connections.
 */
const regions = (n: number, first = 0, kinds: ReadonlyArray<Kind> = KINDS) => {
  const connectionName = fresh(`conn${n}`)
  return Effect.gen(function*() {
    const landed: Array<readonly [Kind, string]> = []
    for (let i = 0; i < n; i++) {
      const kind = kinds[(first + i) % kinds.length] as Kind
      const name = fresh(kind)
      const key = kind === "python" ? `${name}:item:1234` : "item:1234"
      const region = yield* Region.make({ name, schema: Schema.Number, expiration: "1 minute", storage: storageOf(kind) })
      yield* region.set(key, i)
      assert.strictEqual(yield* region.getOrCreate(key, Effect.succeed(-1)), i)
      landed.push([kind, yield* whereOf(name)])
    }
    const near = landed.some(([kind]) => kind === "near")
    return { landed, connections: yield* settledConnections(connectionName, near ? 3 : 2) }
  }).pipe(Effect.scoped, Effect.provide(shared(connectionName)))
}

const EXPECTED_LANDING: Record<Kind, string> = {
  near: "string/none/0",
  plain: "string/none/0",
  hash: "none/hash/1",
  memory: "none/none/0",
  python: "string/none/0"
}

describe("regions naming their storage over one client", () => {
  it("1, 3 and 10 regions (near, plain, hash, memory, Python preset) hold 3 connections, 2 without a near cache", async () => {
    const counts: Array<number> = []
    const kindsSeen = new Set<Kind>()
    for (const n of [1, 3, 10]) {
      const result = await Effect.runPromise(regions(n))
      counts.push(result.connections)
      for (const [kind, where] of result.landed) {
        kindsSeen.add(kind)
        assert.strictEqual(where, EXPECTED_LANDING[kind], `${kind} in ${n} regions`)
      }
    }
    // 10 regions: 2 of each kind, so 2 Python presets, each with its own RedisLock (its lock naming)
    assert.deepStrictEqual([...kindsSeen].sort(), [...KINDS].sort())
    // client + one release subscriber shared by every RedisLock over the client (the context's and each
    // Python preset's) + one CLIENT TRACKING subscriber shared by every near cache
    assert.deepStrictEqual(counts, [3, 3, 3])
    // Python presets first: 4 Python regions and a plain one, no near cache
    const pythonFirst = await Effect.runPromise(regions(5, 0, ["python", "python", "python", "python", "plain"]))
    assert.deepStrictEqual(pythonFirst.landed.map(([kind]) => kind), ["python", "python", "python", "python", "plain"])
    assert.strictEqual(pythonFirst.connections, 2)
    // plain, hash, memory, python: no near cache, no tracking subscriber
    const withoutNear = await Effect.runPromise(regions(4, 1))
    assert.deepStrictEqual(withoutNear.landed.map(([kind]) => kind), ["plain", "hash", "memory", "python"])
    assert.strictEqual(withoutNear.connections, 2)
  }, TIMEOUT)

  it("records each region's layout in __dogpile__:layout:<name>; the CLI reads it, and flags still win", async () => {
    const users = fresh("users")
    const prices = fresh("prices")
    const pyName = fresh("py")
    const layouts = await Effect.runPromise(
      Effect.gen(function*() {
        const redis = yield* RedisClient.RedisClient
        const u = yield* Region.make({
          name: users,
          schema: Schema.Struct({ name: Schema.String }),
          codec: Msgpack.codec,
          envelope: Envelope.compact(),
          storage: RedisStorage.near()
        })
        const p = yield* Region.make({
          name: prices,
          schema: Schema.Number,
          storage: HashStorage.storage({ bucketing: { by: "number", size: 50 } })
        })
        const py = yield* Region.make({
          name: pyName,
          storage: PythonStorage.storage("redis-advanced", Presets.redisAdvanced({ format: "msgpack" }))
        })
        yield* u.set("user:42", { name: "Ada" })
        yield* p.set("price:4217", 9.99)
        yield* py.set(`${pyName}:item`, { from: "ts" })
        const read = (name: string) =>
          redis.use("hgetall", (client) => client.hgetall(`${Storage.LAYOUT_KEY_PREFIX}${name}`)).pipe(
            Effect.repeat({ until: (layout) => Object.keys(layout).length > 0, schedule: Schedule.spaced("20 millis"), times: 250 })
          )
        return [yield* read(users), yield* read(prices), yield* read(pyName)] as const
      }).pipe(Effect.scoped, Effect.provide(shared(fresh("layout"))))
    )
    assert.deepStrictEqual(layouts[0], {
      storage: "near",
      name: users,
      namespace: users,
      verbatim: "0",
      envelope: "compact",
      codec: "msgpack"
    })
    assert.deepStrictEqual(layouts[1], {
      storage: "hash",
      bucketing: "number",
      bucketSize: "50",
      name: prices,
      namespace: prices,
      verbatim: "0",
      envelope: "full",
      codec: "json"
    })

    assert.deepStrictEqual(layouts[2], {
      storage: "python:redis-advanced",
      python: "redis-advanced",
      name: pyName,
      namespace: "",
      verbatim: "1",
      envelope: "python-msgpack-dogpile",
      codec: "python-msgpack"
    })

    const [got, inspected, price, python, overridden] = await Promise.all([
      dogpile(["get", "user:42", "--region", users]),
      dogpile(["inspect", "user:42", "--region", users, "--json"]),
      dogpile(["get", "price:4217", "--region", prices]),
      dogpile(["get", `${pyName}:item`, "--region", pyName]),
      dogpile(["get", "user:42", "--region", users, "--codec", "json"])
    ])
    assert.strictEqual(got.code, 0, got.stderr)
    assert.deepStrictEqual(JSON.parse(got.stdout), { name: "Ada" })
    assert.strictEqual(inspected.code, 0, inspected.stderr)
    assert.strictEqual(JSON.parse(inspected.stdout).backendKey, `${users}:user:42`)
    assert.strictEqual(price.code, 0, price.stderr)
    assert.strictEqual(JSON.parse(price.stdout), 9.99)
    assert.strictEqual(python.code, 0, python.stderr)
    assert.deepStrictEqual(JSON.parse(python.stdout), { from: "ts" })
    // --codec json overrides the recorded msgpack: the entry no longer decodes
    assert.strictEqual(overridden.code, 1)
  }, TIMEOUT)
})
