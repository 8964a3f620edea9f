/**
 * Auto-recovery (docs/recovery.md): process A loses its cache for ten
 * seconds; meanwhile it invalidates the region (hard) and writes 1,000
 * values. With `Recovery.backend` these are queued and replayed once the
 * cache answers, before A reads from it again; process B, which shares the
 * cache, then serves no value older than the invalidation and sees every
 * write. Without it, the invalidation is lost and B keeps serving the old
 * values.
 *
 * The outage is `Faults.backend` failing every operation of A between
 * t = 10 s and t = 20 s of `TestClock` time (A cut off from the store while
 * B still reaches it). Run: `tsx examples/recovery.ts` (in-memory store), or
 * with `REDIS_URL` set to share a Redis between A and B.
 * `packages/redis/test/RecoveryExample.test.ts` runs it against Redis;
 * `packages/redis/test/Recovery*.test.ts` do it with Redis SIGKILLed.
 */
import { pathToFileURL } from "node:url"
import { Backend, Faults, Lock, MemoryBackend, Recovery, Region } from "@dogpile-effect/core"
import { RedisBackend, RedisClient } from "@dogpile-effect/redis"
import { Context, Effect, Layer, Option, Schema, type Scope } from "effect"
import { TestClock } from "effect/testing"

/** The shared store: Redis when `redisUrl` is given, else one in-memory backend. */
export const sharedStore = (redisUrl?: string): Effect.Effect<Backend["Service"], unknown, Scope.Scope> =>
  redisUrl === undefined
    ? MemoryBackend.make()
    : Effect.map(
      Layer.build(RedisBackend.layer().pipe(Layer.provide(RedisClient.layer({ url: redisUrl })))),
      (ctx) => Context.get(ctx, Backend)
    )

/** A cut off from the store from t = 10 s to t = 20 s. */
const outage: Faults.BackendFaultsConfig = { all: { fail: 1, during: { from: "10 seconds", until: "20 seconds" } } }

const keys = Array.from({ length: 2000 }, (_, i) => `p${i}`)

/** A region of prices over `backend`, named `namespace`. */
const prices = (namespace: string, backend: Backend["Service"]) =>
  Region.make({ name: namespace, schema: Schema.String, onBackendError: "bypass" }).pipe(
    Effect.provide(Layer.mergeAll(Layer.succeed(Backend, backend), Lock.layerLocal))
  )

/** What `region` serves: how many of the 1,000 written in the outage it sees, how many values from before it. */
const served = (region: Region.Region<string>) =>
  Effect.map(region.getMany(keys), (values) => ({
    visible: values.slice(0, 1000).filter((v) => Option.getOrUndefined(v) === "new").length,
    stale: values.filter((v) => Option.getOrUndefined(v) === "old").length
  }))

/**
 * The scenario (needs `TestClock`): A writes 2,000 "old" values, is cut off
 * at t = 10 s, invalidates hard and writes 1,000 "new" ones; the store
 * answers again at t = 20 s. With `recovery`, A's queue replays; B's view of
 * the store is reported at t = 25 s.
 */
export const scenario = (store: Backend["Service"], namespace: string, recovery: boolean) =>
  Effect.gen(function*() {
    const faulty = Faults.backend(outage).pipe(Layer.provide(Layer.succeed(Backend, store)))
    const aLayer = recovery
      ? Recovery.backend({ writes: true, backoff: { initial: "1 second", max: "4 seconds" } }).pipe(Layer.provide(faulty))
      : faulty
    const aCtx = yield* Layer.build(aLayer)
    const a = yield* prices(namespace, Context.get(aCtx, Backend))
    const b = yield* prices(namespace, store)
    yield* a.setMany(keys.map((k) => [k, "old"] as const))
    yield* TestClock.adjust("10 seconds")
    const invalidated = yield* Effect.match(a.invalidate({ hard: true }), { onFailure: () => false, onSuccess: () => true })
    yield* TestClock.adjust("1 millis")
    let accepted = 0
    for (const k of keys.slice(0, 1000)) {
      if (yield* Effect.match(a.set(k, "new"), { onFailure: () => false, onSuccess: () => true })) accepted++
    }
    yield* TestClock.adjust("15 seconds")
    const queue = Context.getOption(aCtx, Recovery.Recovery)
    if (Option.isSome(queue)) yield* queue.value.awaitDrained
    const stats = Option.isSome(queue) ? yield* queue.value.stats : undefined
    return { invalidated, accepted, stats, a: yield* served(a), b: yield* served(b) }
  }).pipe(Effect.scoped)

const main = Effect.gen(function*() {
  const url = process.env["REDIS_URL"]
  const store = yield* sharedStore(url)
  const run = Date.now().toString(36)
  const without = yield* scenario(store, `recovery-off-${process.pid}-${run}`, false)
  yield* Effect.log(
    `without Recovery: invalidation ${without.invalidated ? "stored" : "failed"}, ${without.accepted} of 1000 sets accepted; ` +
      `B serves ${without.b.stale} stale values`
  )
  const withIt = yield* scenario(store, `recovery-on-${process.pid}-${run}`, true)
  yield* Effect.log(
    `with Recovery: queued ${withIt.stats?.queued}, replayed ${withIt.stats?.replayed} after ${withIt.stats?.failedAttempts} failed probes; ` +
      `A serves ${withIt.a.stale} stale and ${withIt.a.visible}/1000 sets, B serves ${withIt.b.stale} stale and ${withIt.b.visible}/1000 sets`
  )
  yield* Effect.log(`store: ${url === undefined ? "memory" : "redis"}`)
}).pipe(Effect.scoped)

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  Effect.runPromise(main.pipe(Effect.provide(TestClock.layer())))
}
