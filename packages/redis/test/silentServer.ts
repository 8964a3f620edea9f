/**
 * Helpers of the tests that make a server silent: a private redis-server for
 * one test (stopped with its scope) and the time one effect takes.
 */
import { Effect } from "effect"
import { startRedisServer } from "../../../test-support/redis-server.ts"

/** A redis-server of the test's own, disposed when the scope closes. */
export const privateServer = Effect.acquireRelease(
  Effect.promise(() => startRedisServer()),
  (server) => Effect.promise(() => server.dispose())
)

/** Runs `effect` and reports its exit and how long it took (ms). */
export const timed = <A, E>(effect: Effect.Effect<A, E>) =>
  Effect.gen(function*() {
    const start = performance.now()
    const exit = yield* Effect.exit(effect)
    return { exit, ms: performance.now() - start }
  })
