/**
 * Redis Sentinel (issue 24): a primary, a replica and three Sentinels on
 * loopback (test-support/redis-sentinel.ts). The client is configured through
 * a `redis+sentinel://` URL or the `sentinel` option; the primary is SIGKILLed
 * while a writer runs: the same Layer follows the failover and serves again,
 * and the acknowledged writes lost to asynchronous replication are counted.
 */
import { assert, describe, it } from "@effect/vitest"
import { Region } from "@dogpile-effect/core"
import { RedisBackend, RedisClient, RedisLock } from "@dogpile-effect/redis"
import { Cause, Effect, Exit, Fiber, Layer, Logger, Option, Redacted } from "effect"
import { startRedisSentinel } from "../../../test-support/redis-sentinel.ts"

const WRITERS = 8

const deploymentScoped = Effect.acquireRelease(
  Effect.promise(() => startRedisSentinel()),
  (deployment) => Effect.promise(() => deployment.dispose())
)

const regionLayer = (options: RedisClient.RedisClientOptions) =>
  Layer.mergeAll(RedisBackend.layer(), RedisLock.layer({ releaseWait: 0 })).pipe(
    Layer.provideMerge(RedisClient.layer(options))
  )

const errorOf = <A, E>(exit: Exit.Exit<A, E>) =>
  Exit.isFailure(exit) ? Option.getOrUndefined(Cause.findErrorOption(exit.cause)) as { _tag?: string; message?: string } | undefined : undefined

describe("Redis Sentinel", () => {
  it.effect("redis+sentinel:// URLs and the sentinel option are validated; errors never repeat the password", () =>
    Effect.gen(function*() {
      const bad = [
        "redis+sentinel://127.0.0.1:26379",
        "redis+sentinel://127.0.0.1:26379/",
        "redis+sentinel://127.0.0.1:99999/mymaster",
        "redis+sentinel://:s3cret@127.0.0.1:26379/mymaster/x",
        "redis+sentinel://:s3cret@127.0.0.1:26379/mymaster?x=1"
      ]
      for (const url of bad) {
        const error = errorOf(yield* Effect.exit(Effect.scoped(RedisClient.make({ url: Redacted.make(url) }))))
        assert.strictEqual(error?._tag, "InvalidOptionError", url)
        assert.notInclude(error?.message ?? "", "s3cret", url)
      }
      const contradiction = errorOf(yield* Effect.exit(Effect.scoped(RedisClient.make({
        url: "redis+sentinel://127.0.0.1:26379/mymaster",
        cluster: true
      }))))
      assert.strictEqual(contradiction?._tag, "InvalidOptionError")
      const plainPassword = errorOf(yield* Effect.exit(Effect.scoped(RedisClient.make({
        sentinel: { name: "m", nodes: [{ host: "127.0.0.1", port: 26379 }], password: "s3cret" as unknown as Redacted.Redacted<string> }
      }))))
      assert.strictEqual(plainPassword?._tag, "InvalidOptionError")
      assert.notInclude(plainPassword?.message ?? "", "s3cret")
    }).pipe(Effect.provide(Logger.layer([]))))

  it.live("the primary SIGKILLed: the same Layer follows the failover and keeps serving; acknowledged writes lost are counted", () =>
    Effect.gen(function*() {
      const deployment = yield* deploymentScoped
      const ctx = yield* Layer.build(regionLayer({ url: deployment.url, commandTimeout: 500 }))
      const region = yield* Region.make<number>({ name: "sentinel", expiration: "1 hour" }).pipe(
        Effect.provide(Layer.succeedContext(ctx))
      )
      const redis = yield* RedisClient.RedisClient.pipe(Effect.provide(Layer.succeedContext(ctx)))
      assert.include(redis.label, "redis+sentinel://")
      const firstPort = (yield* Effect.promise(() => deployment.primaryPort())) as number
      assert.strictEqual(firstPort, deployment.primary.port)
      const acked: Array<{ readonly i: number; readonly at: number }> = []
      let failed = 0
      let i = 0
      let killedAt = Number.POSITIVE_INFINITY
      let afterFailover = 0
      let firstFailureAt = Number.POSITIVE_INFINITY
      const write = Effect.suspend(() => {
        const n = i++
        return Effect.matchEffect(region.set(`k${n}`, n), {
          onFailure: () =>
            Effect.andThen(
              Effect.sync(() => {
                failed++
                firstFailureAt = Math.min(firstFailureAt, performance.now())
              }),
              Effect.sleep("20 millis")
            ),
          onSuccess: () =>
            Effect.sync(() => {
              const at = performance.now()
              acked.push({ i: n, at })
              if (at > killedAt) afterFailover++
            })
        })
      })
      // WRITERS fibers writing one key after another, until 200 writes were acknowledged after the kill (at most 30 s).
      const writers = yield* Effect.forkChild(Effect.all(
        Array.from({ length: WRITERS }, () =>
          Effect.whileLoop({
            while: () => afterFailover < 200 && performance.now() < killedAt + 30_000,
            body: () => write,
            step: () => undefined
          })),
        { concurrency: "unbounded" }
      ))
      yield* Effect.sleep("500 millis")
      const before = acked.length
      killedAt = performance.now()
      yield* Effect.promise(() => deployment.primary.kill())
      yield* Fiber.join(writers)
      // The first write acknowledged after the first failure: the new primary's.
      const servedAgainMs = acked.find((a) => a.at > firstFailureAt)?.at
      const newPort = yield* Effect.promise(() => deployment.awaitFailover(firstPort, 10_000))
      assert.strictEqual(newPort, deployment.replica.port, "the replica was promoted")
      assert.isAtLeast(afterFailover, 200, "the same Layer writes again after the failover")
      // Every acknowledged write, read back through the same Layer from the new primary.
      const values = yield* region.getMany(acked.map((a) => `k${a.i}`))
      const lost = acked.filter((_, j) => Option.isNone(values[j]!))
      const lostAgo = lost.map((a) => Math.round(killedAt - a.at))
      console.log(
        `sentinel failover (${WRITERS} writers): ${before} writes acknowledged before the kill, ${failed} failed during the failover, ` +
          `first failure ${Math.round(firstFailureAt - killedAt)} ms after the kill, served again ${Math.round((servedAgainMs ?? Number.NaN) - killedAt)} ms after it; ` +
          `acknowledged writes lost: ${lost.length} (acknowledged ${lostAgo.join(", ") || "-"} ms before the kill)`
      )
      // Passwords (the data nodes' in the URL, the Sentinels' in the option) appear in no error, log or label.
      const dataSecret = "d4ta-s3cret-xyz"
      const sentinelSecret = "s3ntinel-s3cret-xyz"
      const lines: Array<string> = []
      const refused = yield* Effect.gen(function*() {
        const other = yield* RedisClient.RedisClient
        assert.notInclude(other.label, dataSecret)
        // These Sentinels and nodes have no password: ioredis only warns about the AUTH, and the client serves.
        assert.strictEqual(yield* other.use("ping", (c) => c.ping()), "PONG")
        return yield* Effect.flip(other.use("bad", (c) => c.call("NO-SUCH-COMMAND", dataSecret, sentinelSecret)))
      }).pipe(
        Effect.provide(RedisClient.layer({
          url: Redacted.make(deployment.url.replace("redis+sentinel://", `redis+sentinel://:${dataSecret}@`)),
          sentinel: { name: deployment.name, nodes: deployment.sentinels, password: Redacted.make(sentinelSecret) },
          connectTimeout: "300 millis"
        })),
        Effect.provide(Logger.layer([Logger.make(({ message }) => void lines.push(JSON.stringify(message)))]))
      )
      for (const text of [refused.message, String(refused.cause), ...lines]) {
        assert.notInclude(text, dataSecret)
        assert.notInclude(text, sentinelSecret)
      }
      // Asynchronous replication can lose only what the old primary acknowledged before it died.
      assert.isTrue(lost.every((a) => a.at <= killedAt), "nothing acknowledged by the new primary is lost")
      assert.isAtMost(lost.length, before)
    }).pipe(Effect.scoped, Effect.provide(Logger.layer([]))), { timeout: 90_000 })
})
