/**
 * `RegionResolver` on Redis, across two independent instances (as two
 * processes would have: own client, own region, own resolver): the batches
 * of both together ask the database for each key exactly once.
 */
import { assert, describe, it } from "@effect/vitest"
import { Codec, Region, RegionResolver } from "@dogpile-effect/core"
import { RedisBackend, RedisClient, RedisLock } from "@dogpile-effect/redis"
import { Effect, Exit, Layer, Request, RequestResolver } from "effect"
import { inject } from "vitest"

const url = inject("redisUrl")
const namespace = `resolver-test.${process.pid}.${Date.now().toString(36)}`

interface GetItem extends Request.Request<string> {
  readonly _tag: "GetItem"
  readonly id: number
}
const GetItem = Request.tagged<GetItem>("GetItem")

const ids = Array.from({ length: 300 }, (_, i) => i)

/** One instance: its own RedisClient, Backend, Lock and region, and a resolver recording the ids it is asked for. */
const instance = (asked: Array<number>) =>
  Effect.gen(function*() {
    const context = yield* Layer.build(
      Layer.mergeAll(RedisBackend.layer(), RedisLock.layer(), Codec.layerJson).pipe(
        Layer.provideMerge(RedisClient.layer({ url }))
      )
    )
    const region = yield* Region.make<string>({ name: "items", namespace, expiration: "1 minute" }).pipe(
      Effect.provideContext(context)
    )
    const source = RequestResolver.make<GetItem>((entries) =>
      // A slow query, so that the other instance's batch arrives while this one holds the locks.
      Effect.delay(
        Effect.sync(() => {
          for (const entry of entries) {
            asked.push(entry.request.id)
            entry.completeUnsafe(Exit.succeed(`item ${entry.request.id}`))
          }
        }),
        "100 millis"
      )
    )
    return yield* RegionResolver.make(region, source, { key: (request) => `item:${request.id}` })
  })

const requestAll = (resolver: RequestResolver.RequestResolver<GetItem>) =>
  Effect.forEach(ids, (id) => Effect.request(GetItem({ id }), resolver), { concurrency: "unbounded" })

describe("RegionResolver on Redis", () => {
  it.live("two instances, 300 concurrent requests each for the same 300 keys: each key queried once in all", () =>
    Effect.gen(function*() {
      const askedA: Array<number> = []
      const askedB: Array<number> = []
      const a = yield* instance(askedA)
      const b = yield* instance(askedB)
      const [valuesA, valuesB] = yield* Effect.all([requestAll(a), requestAll(b)], { concurrency: 2 })
      const expected = ids.map((id) => `item ${id}`)
      assert.deepStrictEqual(valuesA, expected)
      assert.deepStrictEqual(valuesB, expected)
      assert.deepStrictEqual([...askedA, ...askedB].sort((x, y) => x - y), ids, "each key once, across both")
      // Both instances now answer from Redis.
      yield* Effect.all([requestAll(a), requestAll(b)], { concurrency: 2 })
      assert.strictEqual(askedA.length + askedB.length, 300)
    }).pipe(Effect.scoped), 60_000)
})


