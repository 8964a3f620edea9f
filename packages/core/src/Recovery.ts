/**
 * Auto-recovery: a Backend that keeps, in a bounded local queue, the
 * invalidation marks, deletes (and, if asked, writes) that the store could
 * not take, and replays them once it answers again, before any read reaches
 * the store again. Design, bounds and what a crash loses:
 * `docs/recovery.md`.
 *
 * @example
 * ```ts
 * import { Lock, MemoryBackend, Recovery } from "@dogpile-effect/core"
 * import { Layer } from "effect"
 *
 * const CacheLive = Layer.mergeAll(
 *   Recovery.backend({ writes: true }).pipe(Layer.provide(MemoryBackend.layer())),
 *   Lock.layerLocal
 * )
 * ```
 *
 * @since 0.1.0
 */
import { Context, Duration, Effect, Latch, Layer, Metric, Schedule, type Scope } from "effect"
import { Backend, type BackendEntry, type BackendFailure, type BackendRestamp } from "./Backend.ts"
import * as CacheKeys from "./CacheKey.ts"
import { BackendError, type InvalidOptionError } from "./CacheError.ts"
import * as RecoveryQueue from "./RecoveryQueue.ts"
import * as RecoveryReplay from "./RecoveryReplay.ts"
import * as Settings from "./RecoverySettings.ts"

export type { RecoveryOptions } from "./RecoverySettings.ts"

/**
 * What one `Recovery` layer has done since it was built. `pending` and
 * `bytes` describe the queue now; the others count since the start.
 *
 * @example
 * ```ts
 * import type { Recovery } from "@dogpile-effect/core"
 * const lost = (stats: Recovery.RecoveryStats) => stats.rejected + stats.dropped
 * ```
 *
 * @category models
 * @since 0.1.0
 */
export interface RecoveryStats {
  /** Operations queued now (one per key). */
  readonly pending: number
  /** About how many bytes the queue holds. */
  readonly bytes: number
  /** Operations accepted into the queue (a superseding one counts too). */
  readonly queued: number
  /** Queued operations that a newer one on the same key replaced. */
  readonly superseded: number
  /** Queued operations a replay wrote and removed from the queue (one written and then superseded meanwhile is not counted: its successor is). */
  readonly replayed: number
  /** Plain writes turned into deletes to stay within `maxBytes`, and operations the store refused at replay for their key. */
  readonly dropped: number
  /** Operations refused because the queue was full: they failed with `BackendError`, as without recovery. */
  readonly rejected: number
  /** Replay attempts that failed (the store still did not answer). */
  readonly failedAttempts: number
}

/**
 * The recovery queue of the Backend that {@link backend} provides: its
 * state, and a way to wait for it to drain (health checks, tests).
 *
 * @example
 * ```ts
 * import { Recovery } from "@dogpile-effect/core"
 * import { Effect } from "effect"
 *
 * const ready = Effect.gen(function*() {
 *   const recovery = yield* Recovery.Recovery
 *   yield* recovery.awaitDrained
 *   return (yield* recovery.stats).replayed
 * })
 * ```
 *
 * @category services
 * @since 0.1.0
 */
export class Recovery extends Context.Service<Recovery, {
  readonly stats: Effect.Effect<RecoveryStats>
  /** Completes when the queue is empty (at once if it is). */
  readonly awaitDrained: Effect.Effect<void>
  /** Replays the queue now, once, without waiting for the next probe; fails if the store still fails. */
  readonly replayNow: Effect.Effect<void, BackendFailure>
}>()("@dogpile-effect/core/Recovery") {}

/**
 * The metrics every `Recovery` layer reports, labelled with `backend` (the
 * wrapped backend's name).
 *
 * @example
 * ```ts
 * import { Recovery } from "@dogpile-effect/core"
 * import { Metric } from "effect"
 * const replayed = Metric.value(Recovery.metrics.replayed)
 * ```
 *
 * @category metrics
 * @since 0.1.0
 */
export const metrics = {
  queued: Metric.counter("dogpile_recovery_queued_total", { description: "Operations queued while the store failed", incremental: true }),
  replayed: Metric.counter("dogpile_recovery_replayed_total", { description: "Queued operations replayed into the store", incremental: true }),
  dropped: Metric.counter("dogpile_recovery_dropped_total", {
    description: "Queued writes turned into deletes when the queue was full, or refused by the store at replay",
    incremental: true
  }),
  rejected: Metric.counter("dogpile_recovery_rejected_total", { description: "Operations refused because the queue was full", incremental: true }),
  pending: Metric.gauge("dogpile_recovery_pending", { description: "Operations waiting in the recovery queue" })
} as const

interface Counts {
  queued: number
  superseded: number
  replayed: number
  dropped: number
  rejected: number
  failedAttempts: number
}

/** The metrics of one layer, labelled with its backend's name. */
const labelled = (backend: string) => ({
  queued: Metric.withAttributes(metrics.queued, { backend }),
  replayed: Metric.withAttributes(metrics.replayed, { backend }),
  dropped: Metric.withAttributes(metrics.dropped, { backend }),
  rejected: Metric.withAttributes(metrics.rejected, { backend }),
  pending: Metric.withAttributes(metrics.pending, { backend })
})

/** The state one layer shares between its backend, its replay fiber and its service. */
interface Engine {
  readonly inner: Backend["Service"]
  readonly settings: Settings.RecoverySettings
  readonly queue: RecoveryQueue.RecoveryQueue
  readonly counts: Counts
  readonly metrics: ReturnType<typeof labelled>
  /** Opened when something is queued: wakes the replay fiber. */
  readonly wake: Latch.Latch
  /** Open while the queue is empty. */
  readonly idle: Latch.Latch
}

const pendingError = (engine: Engine, operation: string) =>
  new BackendError({
    backend: engine.inner.name,
    operation,
    reason: `recovery pending: ${engine.queue.size()} queued operation(s) are replayed before reads reach the store again`
  })

const fullError = (engine: Engine, operation: string, cause: BackendError | undefined, offer: RecoveryQueue.Offer) =>
  new BackendError({
    backend: engine.inner.name,
    operation,
    reason: `${cause?.reason ?? "the store is recovering"}; not queued for recovery: the queue is full (${
      offer._tag === "Full" ? `${offer.entries} entries, ${offer.bytes} bytes` : ""
    })`,
    ...(cause === undefined ? {} : { cause })
  })

/** Whether an operation on `key` goes to the queue when the store fails (or while the queue replays). */
const accepts = (engine: Engine, key: BackendEntry["key"], kind: "set" | "delete"): boolean => {
  if (typeof key !== "string" && !engine.inner.capabilities.hashKeys) return false
  if (engine.queue.size() > 0 && engine.queue.has(CacheKeys.render(key))) return true
  return RecoveryQueue.isMark(key) ? engine.settings.invalidations : kind === "delete" ? engine.settings.deletes : engine.settings.writes
}

const publishPending = (engine: Engine) => Metric.update(engine.metrics.pending, engine.queue.size())

/** Queues `ops` (all or none), or fails as the store did, with the queue's state. */
const enqueue = (
  engine: Engine,
  operation: string,
  ops: ReadonlyArray<RecoveryQueue.QueuedOp>,
  cause: BackendError | undefined
): Effect.Effect<void, BackendError> =>
  Effect.suspend(() => {
    const offer = engine.queue.offer(ops)
    if (offer._tag === "Full") {
      engine.counts.rejected += ops.length
      return Effect.andThen(Metric.update(engine.metrics.rejected, ops.length), Effect.fail(fullError(engine, operation, cause, offer)))
    }
    engine.counts.queued += ops.length
    engine.counts.superseded += offer.superseded
    engine.counts.dropped += offer.demoted
    engine.idle.closeUnsafe()
    engine.wake.openUnsafe()
    return Effect.all([
      Metric.update(engine.metrics.queued, ops.length),
      Metric.update(engine.metrics.dropped, offer.demoted),
      publishPending(engine)
    ], { discard: true })
  })

/** Whether every key's operation goes to the queue when the store fails (or while the queue replays). */
const acceptsAll = (engine: Engine, keys: ReadonlyArray<BackendEntry["key"]>, kind: "set" | "delete"): boolean =>
  keys.every((key) => accepts(engine, key, kind))

/**
 * Runs `direct` against the store, unless the queue is replaying and every
 * key's operation goes to it (order per key); when the store fails with
 * `BackendError` and every operation is accepted, queues them instead. The
 * queued operations are built only then (`ops`): the path where the store
 * answers allocates nothing more.
 */
const guarded = (
  engine: Engine,
  operation: string,
  keys: ReadonlyArray<BackendEntry["key"]>,
  kind: "set" | "delete",
  ops: () => Effect.Effect<ReadonlyArray<RecoveryQueue.QueuedOp>>,
  direct: () => Effect.Effect<void, BackendFailure>
): Effect.Effect<void, BackendFailure> =>
  Effect.suspend(() => {
    if (engine.queue.size() > 0 && acceptsAll(engine, keys, kind)) {
      return Effect.flatMap(ops(), (queued) => enqueue(engine, operation, queued, undefined))
    }
    return Effect.catchTag(direct(), "BackendError", (error) =>
      acceptsAll(engine, keys, kind)
        ? Effect.flatMap(ops(), (queued) => enqueue(engine, operation, queued, error))
        : Effect.fail(error))
  })

/** The queued writes of `entries`, each with the time its store TTL ends. */
const writesOf = (entries: ReadonlyArray<BackendEntry>) =>
  Effect.clockWith((clock) =>
    Effect.sync(() => {
      const now = clock.currentTimeMillisUnsafe()
      return entries.map((entry) =>
        RecoveryQueue.write(entry.key, entry.value, entry.ttl === undefined ? undefined : now + Duration.toMillis(entry.ttl)))
    })
  )

/** A read that fails while the queue holds anything: the region's bypass or fallback policy applies. */
const gated = <A>(engine: Engine, operation: string, read: () => Effect.Effect<A, BackendFailure>) =>
  Effect.suspend(() => (engine.queue.size() > 0 ? Effect.fail(pendingError(engine, operation)) : read()))

const decorate = (engine: Engine): Backend["Service"] => {
  const { inner } = engine
  const peek = inner.peek
  const fromStore = inner.getManyFromStore
  const restampMany = inner.restampMany?.bind(inner)
  return Backend.of({
    name: inner.name,
    capabilities: inner.capabilities,
    ...(peek === undefined ? {} : { peek: (key, now) => (engine.queue.size() > 0 ? undefined : peek(key, now)) }),
    ...(fromStore === undefined ? {} : { getManyFromStore: (keys) => gated(engine, "getMany", () => fromStore(keys)) }),
    get: (key) => gated(engine, "get", () => inner.get(key)),
    getMany: (keys) => gated(engine, "getMany", () => inner.getMany(keys)),
    set: (key, value, ttl) =>
      guarded(engine, "set", [key], "set", () => writesOf([{ key, value, ttl }]), () => inner.set(key, value, ttl)),
    setMany: (entries) =>
      guarded(engine, "setMany", entries.map((entry) => entry.key), "set", () => writesOf(entries), () => inner.setMany(entries)),
    delete: (key) =>
      guarded(engine, "delete", [key], "delete", () => Effect.succeed([RecoveryQueue.remove(key)]), () => inner.delete(key)),
    deleteMany: (keys) =>
      guarded(engine, "deleteMany", keys, "delete", () => Effect.succeed(keys.map(RecoveryQueue.remove)), () => inner.deleteMany(keys)),
    // Not queued: while writes wait for replay, a renewal in place fails like a read (it would compare against
    // what they are about to replace); the region's bypass policy then applies.
    ...(restampMany === undefined ? {} : {
      restampMany: (entries: ReadonlyArray<BackendRestamp>) => gated(engine, "restampMany", () => restampMany(entries))
    })
  })
}

/** Replays the whole queue once; opens `idle` when it is empty. */
const replay = (engine: Engine): Effect.Effect<void, BackendFailure> =>
  RecoveryReplay.drain(engine.inner, engine.queue, engine.settings.batchSize, (done) => {
    engine.counts.replayed += done.replayed
    engine.counts.dropped += done.dropped
    return Effect.all([
      Metric.update(engine.metrics.replayed, done.replayed),
      Metric.update(engine.metrics.dropped, done.dropped),
      publishPending(engine)
    ], { discard: true })
  }).pipe(
    Effect.tapError(() => Effect.sync(() => void engine.counts.failedAttempts++)),
    Effect.andThen(Effect.sync(() => {
      if (engine.queue.size() === 0) engine.idle.openUnsafe()
    }))
  )

/**
 * The replay fiber: waits for something to be queued, waits `initial`, then
 * replays, retrying on an exponential schedule capped at `max` until the
 * store takes everything.
 */
const replayLoop = (engine: Engine): Effect.Effect<never> => {
  const backoff = Schedule.min([
    Schedule.exponential(Duration.millis(engine.settings.initialMs)),
    Schedule.spaced(Duration.millis(engine.settings.maxMs))
  ])
  const round = engine.wake.await.pipe(
    Effect.andThen(Effect.sync(() => engine.wake.closeUnsafe())),
    Effect.andThen(Effect.sleep(Duration.millis(engine.settings.initialMs))),
    Effect.andThen(Effect.retry(replay(engine), backoff)),
    Effect.ignore
  )
  return Effect.forever(round)
}

/** On close: one last replay, for at most `backoff.max`; what it cannot write is lost, and logged. */
const lastReplay = (engine: Engine) =>
  Effect.suspend(() =>
    engine.queue.size() === 0
      ? Effect.void
      : Effect.catch(Effect.timeout(replay(engine), Duration.millis(engine.settings.maxMs)), (error) =>
        Effect.logWarning(
          `dogpile: Recovery closed with ${engine.queue.size()} queued operation(s) the store did not take; they are lost`,
          error.message
        ))
  )

/**
 * Builds the recovering Backend over the `Backend` in context, with its
 * {@link Recovery} service; the replay fiber runs in the current `Scope`.
 * Options are validated first (`InvalidOptionError`).
 *
 * @example
 * ```ts
 * import { MemoryBackend, Recovery } from "@dogpile-effect/core"
 * import { Effect } from "effect"
 *
 * const services = Recovery.make({ maxEntries: 1_000 }).pipe(Effect.provide(MemoryBackend.layer()))
 * ```
 *
 * @category constructors
 * @since 0.1.0
 */
export const make = (
  options: Settings.RecoveryOptions = {}
): Effect.Effect<Context.Context<Backend | Recovery>, InvalidOptionError, Backend | Scope.Scope> =>
  Effect.gen(function*() {
    const settings = yield* Settings.validate(options)
    const inner = yield* Backend
    const engine: Engine = {
      inner,
      settings,
      queue: RecoveryQueue.make(settings),
      counts: { queued: 0, superseded: 0, replayed: 0, dropped: 0, rejected: 0, failedAttempts: 0 },
      metrics: labelled(inner.name),
      wake: yield* Latch.make(false),
      idle: yield* Latch.make(true)
    }
    yield* Effect.addFinalizer(() => lastReplay(engine))
    yield* Effect.forkScoped(replayLoop(engine))
    const service = Recovery.of({
      stats: Effect.sync(() => ({ ...engine.counts, pending: engine.queue.size(), bytes: engine.queue.bytes() })),
      awaitDrained: engine.idle.await,
      replayNow: replay(engine)
    })
    return Context.make(Backend, decorate(engine)).pipe(Context.add(Recovery, service))
  })

/**
 * A Layer that replaces the Backend in context with a recovering one (see
 * the module docs) and provides its {@link Recovery} service. Put it above
 * the store and any near cache, so that no read is answered while the queue
 * replays.
 *
 * @example
 * ```ts
 * import { Lock, MemoryBackend, Recovery, Region } from "@dogpile-effect/core"
 * import { Layer, Schema } from "effect"
 *
 * const Store = Recovery.backend({ writes: true, maxEntries: 50_000, backoff: { max: "2 seconds" } }).pipe(
 *   Layer.provide(MemoryBackend.layer())
 * )
 * class Users extends Region.Service<Users>()("app/Users", { name: "users", schema: Schema.String }) {}
 * const UsersLive = Users.layer.pipe(Layer.provide(Layer.mergeAll(Store, Lock.layerLocal)))
 * ```
 *
 * @category layers
 * @since 0.1.0
 */
export const backend = (
  options: Settings.RecoveryOptions = {}
): Layer.Layer<Backend | Recovery, InvalidOptionError, Backend> => Layer.effectContext(make(options))
