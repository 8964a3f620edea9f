/**
 * The `dogpile` bin end to end: spawned as an operator runs it (tsx, from the
 * repository root) against the project's redis-server, on entries written by
 * a Region of the library in this process. Each spawn costs a second or more,
 * so every test runs only a few.
 */
import { CacheKey, Envelope, Lock, Region } from "@dogpile-effect/core"
import { Msgpack } from "@dogpile-effect/codecs"
import { HashBackend } from "@dogpile-effect/hstore"
import { Presets } from "@dogpile-effect/python"
import { RedisBackend, RedisClient, RedisLock } from "@dogpile-effect/redis"
import { Effect, Layer, Schema } from "effect"
import * as net from "node:net"
import { assert, describe, inject, it } from "vitest"
import { type Ran, runDogpile } from "./bin.ts"

const url = inject("redisUrl")
const TIMEOUT = 120_000

/** Runs `dogpile ...args` against the project's server unless `env` says otherwise. */
const dogpile = (args: ReadonlyArray<string>, env: Record<string, string> = { REDIS_URL: url }): Promise<Ran> =>
  runDogpile(args, env)

const User = Schema.Struct({ id: Schema.Number, name: Schema.String })

/** A fresh namespace per test: the tests share one server. */
const freshName = (label: string) => `cli${label}${Math.random().toString(36).slice(2, 8)}`

const redisLayer = RedisClient.layer({ url })
const plainStorage = Layer.mergeAll(RedisBackend.layer(), RedisLock.layer()).pipe(Layer.provideMerge(redisLayer))

/** Runs `f` with a region `name` over plain keys (RedisBackend, RedisLock). */
const withUsers = <A, E>(name: string, f: (users: Region.Region<typeof User.Type>) => Effect.Effect<A, E>) =>
  Effect.runPromise(
    Effect.flatMap(Region.make({ name, schema: User, expiration: "10 minutes" }), f).pipe(
      Effect.scoped,
      Effect.provide(plainStorage)
    )
  )

const freePort = (): Promise<number> =>
  new Promise((resolve) => {
    const server = net.createServer()
    server.listen(0, "127.0.0.1", () => {
      const address = server.address()
      server.close(() => resolve(typeof address === "object" && address !== null ? address.port : 1))
    })
  })

describe("dogpile", () => {
  it("inspect shows the created-at time and tags; get prints the value; delete removes it (then exit 1)", async () => {
    const name = freshName("inspect")
    const before = Date.now()
    await withUsers(name, (users) => users.set("user:1", { id: 1, name: "Ada" }, { tags: ["team:7", "eu"] }))
    const after = Date.now()

    const [inspected, got] = await Promise.all([
      dogpile(["inspect", "user:1", "--region", name, "--expiration", "10 minutes", "--json"]),
      dogpile(["get", "user:1", "--region", name])
    ])
    assert.strictEqual(inspected.code, 0, inspected.stderr)
    const info = JSON.parse(inspected.stdout)
    assert.strictEqual(info.state, "fresh")
    assert.deepStrictEqual(info.tags, ["team:7", "eu"])
    assert.isAtLeast(info.createdAt, before)
    assert.isAtMost(info.createdAt, after)
    assert.strictEqual(info.expiresAt, info.createdAt + 10 * 60_000)
    assert.strictEqual(got.code, 0, got.stderr)
    assert.deepStrictEqual(JSON.parse(got.stdout), { id: 1, name: "Ada" })

    const text = await dogpile(["inspect", "user:1", "--region", name])
    assert.strictEqual(text.code, 0, text.stderr)
    assert.match(text.stdout, new RegExp(`created at\\s+${new Date(info.createdAt).toISOString()}`))
    assert.match(text.stdout, /tags\s+team:7, eu/)

    const deleted = await dogpile(["delete", "user:1", "--region", name])
    assert.strictEqual(deleted.code, 0, deleted.stderr)
    const gone = await dogpile(["inspect", "user:1", "--region", name])
    assert.strictEqual(gone.code, 1)
    assert.strictEqual(gone.stderr.trim(), "dogpile: no entry for user:1")
  }, TIMEOUT)

  it("invalidate-tags makes inspect report the tagged entry stale, and the application sees it too", async () => {
    const name = freshName("tags")
    await withUsers(name, (users) =>
      Effect.andThen(
        users.set("user:1", { id: 1, name: "Ada" }, { tags: ["team:7"] }),
        users.set("user:2", { id: 2, name: "Bob" }, { tags: ["team:8"] })
      ))
    const invalidated = await dogpile(["invalidate-tags", "team:7", "--region", name])
    assert.strictEqual(invalidated.code, 0, invalidated.stderr)
    assert.strictEqual(invalidated.stdout.trim(), "invalidated tags team:7 (soft)")

    const [one, two] = await Promise.all([
      dogpile(["inspect", "user:1", "--region", name, "--json"]),
      dogpile(["inspect", "user:2", "--region", name, "--json"])
    ])
    assert.strictEqual(JSON.parse(one.stdout).state, "stale", one.stderr)
    assert.strictEqual(JSON.parse(two.stdout).state, "fresh", two.stderr)
    const seen = await withUsers(name, (users) => Effect.all([users.has("user:1"), users.has("user:2")]))
    assert.deepStrictEqual(seen, [false, true])
  }, TIMEOUT)

  it("lock shows held (with the lease left) while a RedisLock lease is held, free once released", async () => {
    const name = freshName("lock")
    const held = await Effect.runPromise(
      Effect.gen(function*() {
        const lock = yield* Lock
        yield* lock.acquire(`${name}:user:1`, "5 seconds")
        return yield* Effect.promise(() => dogpile(["lock", "user:1", "--region", name, "--json"]))
      }).pipe(Effect.scoped, Effect.provide(RedisLock.layer({ leaseTtl: "60 seconds" })), Effect.provide(redisLayer))
    )
    assert.strictEqual(held.code, 0, held.stderr)
    const status = JSON.parse(held.stdout)
    assert.strictEqual(status._tag, "Held")
    assert.isAbove(status.remainingMs, 0)
    assert.isAtMost(status.remainingMs, 60_000)

    const free = await dogpile(["lock", "user:1", "--region", name])
    assert.strictEqual(free.code, 0, free.stderr)
    assert.strictEqual(free.stdout.trim(), "free")
  }, TIMEOUT)

  it("stats counts a namespace's keys and bytes, and stops at --limit", async () => {
    const name = freshName("stats")
    await withUsers(name, (users) =>
      users.setMany(Array.from({ length: 30 }, (_, i) => [`user:${i}`, { id: i, name: `user ${i}` }] as const)))
    const [all, limited] = await Promise.all([
      dogpile(["stats", "--region", name, "--json"]),
      dogpile(["stats", "--region", name, "--json", "--limit", "10"])
    ])
    assert.strictEqual(all.code, 0, all.stderr)
    const report = JSON.parse(all.stdout)
    assert.strictEqual(report.plainKeys, 30)
    assert.strictEqual(report.entries, 30)
    assert.strictEqual(report.truncated, false)
    assert.isAbove(report.memoryBytes, 30 * 20)
    assert.strictEqual(report.ttl.none, 0, "every entry has a Redis TTL")
    const part = JSON.parse(limited.stdout)
    assert.strictEqual(part.scannedKeys, 10)
    assert.strictEqual(part.truncated, true)
  }, TIMEOUT)

  it("hash storage with compact envelope and MessagePack: inspect and get HASH[FIELD]; stats count buckets and fields", async () => {
    const name = freshName("hash")
    const storage = Layer.mergeAll(HashBackend.layer(), RedisLock.layer()).pipe(Layer.provide(redisLayer))
    await Effect.runPromise(
      Effect.gen(function*() {
        const users = yield* Region.make({ name, schema: User, codec: Msgpack.codec, envelope: Envelope.compact() })
        yield* users.setMany(Array.from({ length: 12 }, (_, i) => [CacheKey.hash(`b${i % 3}`, String(i)), { id: i, name: "x" }] as const))
      }).pipe(Effect.scoped, Effect.provide(storage))
    )
    const layout = ["--hash-storage", "--codec", "msgpack", "--envelope", "compact"]
    const [inspected, got, stats] = await Promise.all([
      dogpile(["inspect", "b1[4]", "--region", name, ...layout, "--json"]),
      dogpile(["get", "b1[4]", "--region", name, ...layout]),
      dogpile(["stats", "--region", name, "--hash-storage", "--json"])
    ])
    assert.strictEqual(inspected.code, 0, inspected.stderr)
    assert.strictEqual(JSON.parse(inspected.stdout).backendKey, `${name}#b1[4]`)
    assert.strictEqual(got.code, 0, got.stderr)
    assert.deepStrictEqual(JSON.parse(got.stdout), { id: 4, name: "x" })
    const report = JSON.parse(stats.stdout)
    assert.strictEqual(report.buckets, 3, stats.stdout)
    assert.isAtLeast(report.bucketFields, 12)
  }, TIMEOUT)

  it("--python dogpile-redis: get and inspect a value written in Python's layout under a verbatim key; stats needs --match", async () => {
    const name = freshName("py")
    const shared = Presets.dogpileRedis({ format: "json" })
    const before = Date.now()
    await Effect.runPromise(
      Effect.gen(function*() {
        const users = yield* Region.make<unknown>({ ...shared.region, name, expiration: "10 minutes" })
        yield* users.set(`${name}:user:42`, { name: "Ada", tags: ["a", "b"] })
      }).pipe(Effect.scoped, Effect.provide(shared.layer.pipe(Layer.provide(redisLayer))))
    )
    const python = ["--region", name, "--python", "dogpile-redis"]
    const [got, inspected, unscoped, matched] = await Promise.all([
      dogpile(["get", `${name}:user:42`, ...python]),
      dogpile(["inspect", `${name}:user:42`, ...python, "--json"]),
      dogpile(["stats", ...python]),
      dogpile(["stats", ...python, "--match", `${name}:*`, "--json"])
    ])
    assert.strictEqual(got.code, 0, got.stderr)
    assert.deepStrictEqual(JSON.parse(got.stdout), { name: "Ada", tags: ["a", "b"] })
    assert.strictEqual(inspected.code, 0, inspected.stderr)
    assert.isAtLeast(JSON.parse(inspected.stdout).createdAt, Math.floor(before / 1000) * 1000)
    assert.strictEqual(unscoped.code, 2)
    assert.include(unscoped.stderr, "--match")
    assert.strictEqual(JSON.parse(matched.stdout).plainKeys, 1, matched.stderr)
  }, TIMEOUT)

  it("a bad URL exits 2 (unsupported, misplaced) or 3 (unreachable) with one line that never shows the password", async () => {
    const port = await freePort()
    const [refused, scheme, misplaced] = await Promise.all([
      dogpile(["stats", "--region", "users", "--url", `redis://:s3cretPw@127.0.0.1:${port}`]),
      dogpile(["inspect", "user:1", "--region", "users"], { REDIS_URL: "http://:s3cretPw@127.0.0.1:6379" }),
      dogpile(["inspect", "user:1", `redis://:s3cretPw@127.0.0.1:${port}`, "--region", "users"]) // --url forgotten
    ])
    assert.strictEqual(refused.code, 3, refused.stderr)
    assert.strictEqual(scheme.code, 2, scheme.stderr)
    assert.strictEqual(misplaced.code, 2, misplaced.stderr)
    for (const ran of [refused, scheme, misplaced]) {
      assert.notInclude(ran.stdout + ran.stderr, "s3cretPw")
      assert.lengthOf(ran.stderr.trim().split("\n"), 1, ran.stderr)
    }
    assert.match(refused.stderr, /^dogpile: .*connection refused/)
    assert.match(scheme.stderr, /^dogpile: RedisClient: option url has the unsupported scheme "http:"/)
  }, TIMEOUT)
})
