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

type Kind = "near" | "plain" | "hash" | "memory"
const KINDS: ReadonlyArray<Kind> = ["near", "plain", "hash", "memory"]

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

/** Builds `n` regions cycling through the kinds, writes `item:1234` in each, and reports where it landed (byId buckets it as field `34` of hash `<ns>:item:12`). */
const regions = (n: number, python: number, first = 0) => {
  const connectionName = fresh(`conn${n}`)
  return Effect.gen(function*() {
    const redis = yield* RedisClient.RedisClient
    const landed: Array<readonly [Kind | "python", string]> = []
    for (let i = 0; i < n; i++) {
      const kind = KINDS[(first + i) % KINDS.length] as Kind
      const name = fresh(kind)
      const region = yield* Region.make({ name, schema: Schema.Number, expiration: "1 minute", storage: storageOf(kind) })
      yield* region.set("item:1234", i)
      assert.strictEqual(yield* region.getOrCreate("item:1234", Effect.succeed(-1)), i)
      const where = yield* redis.use("where", async (client) => {
        const [plainType, bucketType, field] = await Promise.all([
          client.type(`${name}:item:1234`),
          client.type(`${name}:item:12`),
          client.hexists(`${name}:item:12`, "34")
        ])
        return `${plainType}/${bucketType}/${field}`
      })
      landed.push([kind, where])
    }
    for (let i = 0; i < python; i++) {
      const name = fresh("py")
      const region = yield* Region.make({
        name,
        expiration: "1 minute",
        storage: PythonStorage.storage("redis-advanced", Presets.redisAdvanced({ format: "json" }))
      })
      yield* region.set(`${name}:item`, { i })
      landed.push(["python", yield* redis.use("where", (client) => client.type(`${name}:item`))])
    }
    const near = landed.some(([kind]) => kind === "near")
    return { landed, connections: yield* settledConnections(connectionName, (near ? 3 : 2) + python) }
  }).pipe(Effect.scoped, Effect.provide(shared(connectionName)))
}

const EXPECTED_LANDING: Record<Kind, string> = {
  near: "string/none/0",
  plain: "string/none/0",
  hash: "none/hash/1",
  memory: "none/none/0"
}

describe("regions naming their storage over one client", () => {
  it("1, 3 and 10 regions (near, plain, hash, memory) hold 3 connections, 2 without a near cache; each Python-preset region adds its lock's subscriber", async () => {
    const counts: Array<number> = []
    for (const n of [1, 3, 10]) {
      const result = await Effect.runPromise(regions(n, 0))
      counts.push(result.connections)
      for (const [kind, where] of result.landed) {
        assert.strictEqual(where, EXPECTED_LANDING[kind as Kind], `${kind} in ${n} regions`)
      }
    }
    // client + RedisLock's release subscriber + one CLIENT TRACKING subscriber shared by every near cache
    assert.deepStrictEqual(counts, [3, 3, 3])
    const withPython = await Effect.runPromise(regions(10, 2))
    assert.deepStrictEqual(withPython.landed.filter(([kind]) => kind === "python").map(([, where]) => where), ["string", "string"])
    assert.strictEqual(withPython.connections, 5)
    // plain, hash, memory: no near cache, no tracking subscriber
    const withoutNear = await Effect.runPromise(regions(3, 0, 1))
    assert.deepStrictEqual(withoutNear.landed.map(([kind]) => kind), ["plain", "hash", "memory"])
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
