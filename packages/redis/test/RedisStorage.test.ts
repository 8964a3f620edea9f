/**
 * `RedisStorage` against the project's redis-server: regions naming plain
 * keys or a near cache over one client share its connections, record their
 * layout in `__dogpile__:layout:<name>`, and still build and work when that
 * write is refused (an ACL user without HSET).
 */
import { assert, describe, it } from "@effect/vitest"
import { Region, Storage } from "@dogpile-effect/core"
import { RedisClient, RedisLock, RedisStorage } from "@dogpile-effect/redis"
import { Effect, Layer, Schedule, Schema } from "effect"
import { Redis } from "ioredis"
import { inject } from "vitest"

const url = inject("redisUrl")
const fresh = (label: string) => `rs${label}${Math.random().toString(36).slice(2, 8)}`

const admin = Effect.acquireRelease(
  Effect.promise(() => Promise.resolve(new Redis(url))),
  (client) => Effect.promise(() => client.quit().then(() => undefined, () => client.disconnect()))
)

const named = (connectionName: string, clientUrl = url) =>
  RedisLock.layer().pipe(Layer.provideMerge(RedisClient.layer({ url: clientUrl, connectionName })))

const countNamed = (client: Redis, connectionName: string) =>
  Effect.promise(() => client.call("CLIENT", "LIST") as Promise<string>).pipe(
    Effect.map((list) => list.split("\n").filter((line) => line.includes(` name=${connectionName} `)).length)
  )

describe("RedisStorage", () => {
  it.live("6 regions (3 near, 3 plain) over one client: 3 connections, each layout recorded", () =>
    Effect.gen(function*() {
      const raw = yield* admin
      const connectionName = fresh("conn")
      const names = Array.from({ length: 6 }, (_, i) => fresh(i % 2 === 0 ? "near" : "plain"))
      const count = yield* Effect.gen(function*() {
        for (const [i, name] of names.entries()) {
          const storage = i % 2 === 0 ? RedisStorage.near() : RedisStorage.plain()
          const region = yield* Region.make({ name, schema: Schema.Number, storage })
          yield* region.set("k", i)
          assert.strictEqual(yield* region.getOrCreate("k", Effect.succeed(-1)), i)
        }
        yield* countNamed(raw, connectionName).pipe(
          Effect.repeat({ until: (n) => n >= 3, schedule: Schedule.spaced("50 millis"), times: 200 })
        )
        yield* Effect.sleep("200 millis")
        return yield* countNamed(raw, connectionName)
      }).pipe(Effect.scoped, Effect.provide(named(connectionName)))
      assert.strictEqual(count, 3)
      for (const [i, name] of names.entries()) {
        const layout = yield* Effect.promise(() => raw.hgetall(`${Storage.LAYOUT_KEY_PREFIX}${name}`))
        assert.strictEqual(layout["storage"], i % 2 === 0 ? "near" : "plain")
        assert.strictEqual(layout["namespace"], name)
        assert.strictEqual(layout["codec"], "json")
        assert.strictEqual(yield* Effect.promise(() => raw.exists(`${name}:k`)), 1)
      }
    }))

  it.live("a refused layout write (ACL without HSET) leaves the region built and working, and records nothing", () =>
    Effect.gen(function*() {
      const raw = yield* admin
      const user = fresh("user")
      yield* Effect.acquireRelease(
        Effect.promise(() => raw.call("ACL", "SETUSER", user, "on", ">secret", "~*", "&*", "+@all", "-hset")),
        () => Effect.promise(() => raw.call("ACL", "DELUSER", user))
      )
      const { hostname, port } = new URL(url)
      const name = fresh("acl")
      const value = yield* Effect.gen(function*() {
        const region = yield* Region.make({ name, schema: Schema.Number, storage: RedisStorage.plain() })
        yield* region.set("k", 7)
        yield* Effect.sleep("300 millis")
        return yield* region.get("k")
      }).pipe(Effect.scoped, Effect.provide(named(fresh("aclconn"), `redis://${user}:secret@${hostname}:${port}`)))
      assert.deepStrictEqual(value._tag, "Some")
      assert.strictEqual(yield* Effect.promise(() => raw.exists(`${Storage.LAYOUT_KEY_PREFIX}${name}`)), 0)
      assert.strictEqual(yield* Effect.promise(() => raw.exists(`${name}:k`)), 1)
    }))
})
