/**
 * One "process" of the recovery tests: its own Redis client, backend (with
 * the near cache if asked), recovery queue (if asked) and region, and what it
 * serves for the tests' 2,000 keys. Used in process by `Recovery.test.ts` and
 * by the child processes of `RecoveryMultiprocess.test.ts`.
 */
import { type Backend, Lock, Recovery, Region } from "@dogpile-effect/core"
import { NearCache, RedisBackend, RedisClient } from "@dogpile-effect/redis"
import { Context, Effect, Exit, Layer, Option, Schema } from "effect"

/** How a process is built. */
export interface Scenario {
  readonly near: boolean
  readonly recovery: boolean
}

/** Builds one process's region over `url`; the recovery probe starts at 100 ms, at most 500 ms apart. */
export const processOn = (url: string, scenario: Scenario) =>
  Effect.gen(function*() {
    const client = RedisClient.layer({ url })
    const store: Layer.Layer<Backend, unknown> = scenario.near
      ? NearCache.layer().pipe(Layer.provide(RedisBackend.layer()), Layer.provide(client))
      : RedisBackend.layer().pipe(Layer.provide(client))
    const recovering = Recovery.backend({ writes: true, backoff: { initial: "100 millis", max: "500 millis" } }).pipe(
      Layer.provide(store)
    )
    const ctx = yield* Layer.build(Layer.mergeAll(scenario.recovery ? recovering : store, Lock.layerLocal))
    const region = yield* Region.make({ name: "recovery", schema: Schema.String }).pipe(Effect.provide(ctx))
    return { region, recovery: Context.getOption(ctx, Recovery.Recovery) }
  })

/** `u<from>` .. `u<to - 1>`. */
export const keys = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => `u${from + i}`)

/** `read` until it succeeds (a client reconnecting after the restart), for at most 10 s. */
export const settled = <A, E>(read: Effect.Effect<A, E>) =>
  Effect.gen(function*() {
    const deadline = Date.now() + 10_000
    for (;;) {
      const exit = yield* Effect.exit(read)
      if (Exit.isSuccess(exit)) return exit.value
      if (Date.now() > deadline) return yield* Effect.die(new Error(`still failing after 10 s: ${String(exit.cause)}`))
      yield* Effect.sleep("50 millis")
    }
  })

/** What a region serves for the 2,000 keys: how many of the first 1,000 hold "new", how many of all hold "old". */
export interface Served {
  readonly visible: number
  readonly stale: number
}

/** {@link Served} for `region`, once it answers. */
export const served = (region: Region.Region<string>): Effect.Effect<Served> =>
  Effect.map(settled(region.getMany(keys(0, 2000))), (values) => ({
    visible: values.slice(0, 1000).filter((v) => Option.getOrUndefined(v) === "new").length,
    stale: values.filter((v) => Option.getOrUndefined(v) === "old").length
  }))
