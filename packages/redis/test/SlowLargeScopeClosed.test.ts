/**
 * A creator that returns after the region's scope closed: the Layers
 * (RedisClient, RedisBackend, RedisLock) are built in a scope the test closes
 * while a `getOrCreate` / `getOrCreateMany` creator is still running; the
 * creator then returns a value.
 *
 * Promised: the call ends (no hang) with a typed error (observed and asserted:
 * `BackendError`, the store on the closed client), never a defect; closing the scope ends too; nothing is written to Redis after the
 * close (checked on a connection of the test's own), and the lock is not
 * left behind beyond its lease.
 */
import { assert, describe, it } from "@effect/vitest"
import { Codec, Region } from "@dogpile-effect/core"
import { RedisBackend, RedisClient, RedisLock } from "@dogpile-effect/redis"
import { Cause, Deferred, Effect, Exit, Fiber, Layer, Logger, Option, Scope } from "effect"
import { Redis } from "ioredis"
import { inject } from "vitest"

const url = inject("redisUrl")
const unique = `slowscope-${process.pid}-${Date.now().toString(36)}`

const services = Layer.mergeAll(RedisBackend.layer(), RedisLock.layer({ leaseTtl: "2 seconds" }), Codec.layerJson).pipe(
  Layer.provideMerge(RedisClient.layer({ url }))
)

/** Succeeds with the exit, or fails the test (instead of hanging it) when `fiber` has not ended within 20 s. */
const ended = <A, E>(fiber: Fiber.Fiber<A, E>, what: string) =>
  Fiber.await(fiber).pipe(
    Effect.timeoutOrElse({ duration: "20 seconds", orElse: () => Effect.die(new Error(`${what} did not end`)) })
  )

/** The outcome's kind: "value", the error's tag, "interrupted", or "defect: …". */
const outcomeOf = (exit: Exit.Exit<unknown, unknown>): string => {
  if (Exit.isSuccess(exit)) return "value"
  if (Cause.hasDies(exit.cause)) return `defect: ${Cause.pretty(exit.cause)}`
  const error = Cause.findErrorOption(exit.cause)
  if (Option.isSome(error)) return String((error.value as { _tag?: unknown })._tag)
  return "interrupted"
}

type Call = (region: Region.Region<string>, creator: Effect.Effect<string>) => Effect.Effect<unknown, unknown>

/** Name, call, and how many keys it locks. */
const cases: ReadonlyArray<readonly [string, Call, number]> = [
  ["getOrCreate", (region, creator) => region.getOrCreate("k", creator), 1],
  ["getOrCreateMany", (region, creator) => region.getOrCreateMany(["k", "k2"], (keys) => Effect.map(creator, (v) => keys.map(() => v))), 2]
]

describe("a creator that returns after the region's scope closed", () => {
  for (const [name, call, locked] of cases) {
    it.live(`${name}: the call and the close both end, no defect, nothing written after the close`, () =>
      Effect.gen(function*() {
        const ns = `${unique}-${name}`
        const raw = yield* Effect.acquireRelease(Effect.sync(() => new Redis(url)), (r) => Effect.sync(() => r.disconnect()))
        const scope = yield* Scope.make()
        const context = yield* Layer.buildWithScope(services, scope)
        const region = yield* Region.make<string>({ name: ns, expiration: "1 minute" }).pipe(
          Effect.provide(context),
          Scope.provide(scope)
        )
        const running = yield* Deferred.make<void>()
        const finish = yield* Deferred.make<void>()
        let creatorRuns = 0
        let creatorReturned = 0
        const creator = Effect.gen(function*() {
          creatorRuns++
          yield* Deferred.succeed(running, undefined)
          yield* Deferred.await(finish)
          creatorReturned++
          return "late"
        })
        const fiber = yield* Effect.forkDetach(call(region, creator))
        yield* Deferred.await(running)
        assert.strictEqual((yield* Effect.promise(() => raw.keys(`*${ns}*`))).length, locked, "the locks are held, nothing else")

        // Close the Layers' scope while the creator runs, then let the creator return.
        const closing = yield* Effect.forkDetach(Scope.close(scope, Exit.void))
        const closeExit = yield* ended(closing, "closing the scope")
        assert.isTrue(Exit.isSuccess(closeExit))
        yield* Deferred.succeed(finish, undefined)
        const exit = yield* ended(fiber, "the call")
        const outcome = outcomeOf(exit)
        // The defined behaviour: the store after the close fails with a typed BackendError (the client is closed).
        assert.strictEqual(outcome, "BackendError")
        assert.strictEqual(creatorRuns, 1)
        assert.strictEqual(creatorReturned, 1)

        // Nothing written after the close: no value key; the lock key (if the release could not run) expires with its lease.
        yield* Effect.sleep("2500 millis")
        assert.deepStrictEqual(yield* Effect.promise(() => raw.keys(`*${ns}*`)), [], `outcome ${outcome}, creator returned ${creatorReturned}`)
        console.log(`${name}: outcome ${outcome}, creator runs ${creatorRuns}, returned ${creatorReturned}`)
      }).pipe(Effect.scoped, Effect.provide(Logger.layer([]))), 60_000)
  }
})
