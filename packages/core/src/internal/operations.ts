/**
 * A region's operations, wired from its settings, backend, lock and storage:
 * builds what they share (`RegionRuntime`) and the `Region` whose methods call
 * `getOrCreate.ts`, `lookups.ts`, `mutations.ts` and `inspect.ts` with it. The
 * decisions of get-or-create live in `dogpile.ts`, those of a read in
 * `readDecision.ts`.
 *
 * @internal
 */
import { Effect, FiberSet } from "effect"
import type { Backend } from "../Backend.ts"
import { CurrentInvalidation, type InvalidationShape } from "../Invalidation.ts"
import type { Lock } from "../Lock.ts"
import type { Region } from "../Region.ts"
import * as RegionEvent from "../RegionEvent.ts"
import * as RegionMetrics from "../RegionMetrics.ts"
import * as Bypass from "./bypass.ts"
import type { DogpileContext } from "./dogpileContext.ts"
import * as FastPath from "./fastPath.ts"
import * as Gate from "./gate.ts"
import * as GetOrCreate from "./getOrCreate.ts"
import * as HotCounter from "./hotCounter.ts"
import * as Inspect from "./inspect.ts"
import * as Keys from "./keys.ts"
import * as Lookups from "./lookups.ts"
import * as Mutations from "./mutations.ts"
import * as Reads from "./reads.ts"
import { type RegionRuntime, withTarget } from "./regionRuntime.ts"
import * as SingleRead from "./singleRead.ts"
import * as Standing from "./standing.ts"
import type * as Settings from "./settings.ts"
import * as Stored from "./stored.ts"
import * as TagMarks from "./tagMarks.ts"
import * as Writes from "./writes.ts"

/** A built region and what closes it. */
export interface Operations<A> {
  readonly region: Region<A>
  readonly close: Effect.Effect<void>
}

/** What the dogpile needs from its region, over the region's reads and writes. */
const dogpileContext = <A>(
  settings: Settings.RegionSettings<A>,
  backend: Backend["Service"],
  lock: Lock["Service"],
  background: FiberSet.FiberSet<unknown, unknown>,
  metrics: RegionMetrics.RegionMetrics,
  hub: RegionEvent.Hub,
  reads: Reads.Reads<A>,
  writes: Writes.Writes<A>,
  storage: Stored.Storage<A>,
  invalidation: InvalidationShape,
  tagMarks: TagMarks.TagMarks
): DogpileContext<A> => ({
  lock,
  reread: (targets, call) => reads.again(targets, call.expirationMs),
  store: writes.store,
  renew: writes.renew,
  renewed: storage.renew,
  inPlace: storage.inPlace,
  restamp: writes.restamp,
  standing: Standing.make(invalidation, tagMarks),
  background,
  metrics,
  lockTimeoutMs: settings.lockTimeoutMs,
  locked: lock.lockedMiss?.(backend),
  rereadStale: backend.getManyFromStore !== undefined,
  inflight: new Map(),
  recordComputeTime: settings.earlyRefresh !== undefined,
  emit: (make) => hub.emit(() => ({ ...make(), region: settings.name }) as RegionEvent.RegionEvent)
})

/** Builds what the operations of one region share. */
const runtime = <A>(
  settings: Settings.RegionSettings<A>,
  backend: Backend["Service"],
  lock: Lock["Service"],
  background: FiberSet.FiberSet<unknown, unknown>
): Effect.Effect<RegionRuntime<A>> =>
  Effect.gen(function*() {
    const strategy = yield* CurrentInvalidation
    const hub = yield* RegionEvent.makeHub()
    const name = settings.name
    const metrics = RegionMetrics.forRegion(name)
    // Only a backend that answers in process hands back the same bytes again: decoded entries are kept for it.
    const storage = Stored.make(settings, metrics, backend.peek !== undefined)
    const invalidation = strategy({ region: name, backend, markerPrefix: settings.marksPrefix })
    const tagMarks = TagMarks.make(backend, settings.marksPrefix, settings.defaults.storeTtl)
    const early = settings.earlyRefresh
    const reads = Reads.make({ backend, storage, invalidation, tagMarks, early })
    const { bypass, guardStore } = Bypass.make({
      enabled: settings.bypass,
      metrics,
      emit: (id, reason) => hub.emit(() => ({ _tag: "Bypassed", region: name, key: id, reason }))
    })
    const writes = Writes.make(settings, backend, storage, guardStore)
    return {
      name,
      settings,
      backend,
      hub,
      metrics,
      hits: HotCounter.make(metrics.hits),
      misses: HotCounter.make(metrics.misses),
      invalidation,
      tagMarks,
      inspector: { settings: settings as Settings.RegionSettings<unknown>, backend, lock, invalidation, tagMarks },
      reads,
      writes,
      fastHit: FastPath.make({ backend, storage, invalidation, tagMarks, early }),
      dogpile: dogpileContext(settings, backend, lock, background, metrics, hub, reads, writes, storage, invalidation, tagMarks),
      bypass,
      gate: Gate.make(name),
      resolveKey: Keys.resolver(settings.keySpace)
    }
  })

/** The `Region` over `rt`: each method one call into its module (the single-key reads: a closure each, built here). */
const regionOf = <A>(rt: RegionRuntime<A>, background: FiberSet.FiberSet<unknown, unknown>): Region<A> => {
  // The single-key reads answer hits synchronously: their entry points are built once, per region.
  const readOne = SingleRead.make(rt)
  return {
    name: rt.name,
    get: Lookups.makeGet(rt, readOne),
    getMany: (keys, call) => Lookups.getMany(rt, keys, call),
    getOrCreate: GetOrCreate.makeGetOrCreate(rt, readOne),
    getOrCreateMany: (keys, creator, call) => GetOrCreate.getOrCreateMany(rt, keys, creator, call),
    set: (key, value, call) => Mutations.set(rt, key, value, call),
    setMany: (entries, call) => Mutations.setMany(rt, entries, call),
    delete: (key) => Mutations.del(rt, key),
    deleteMany: (keys) => Mutations.deleteMany(rt, keys),
    invalidate: (call) => Mutations.invalidate(rt, call),
    invalidateTags: (tags, call) => Mutations.invalidateTags(rt, tags, call),
    has: (key, call) => withTarget(rt, "Region.has", key, (target) => Lookups.has(rt, target, call)),
    inspect: (key) => withTarget(rt, "Region.inspect", key, (target) => Inspect.inspect(rt.inspector, target)),
    lockStatus: (key) => withTarget(rt, "Region.lockStatus", key, (target) => Inspect.lockStatus(rt.inspector, target)),
    events: rt.hub.stream,
    subscribe: rt.hub.subscribe,
    awaitBackground: FiberSet.awaitEmpty(background),
    metrics: rt.metrics
  }
}

/** Builds the operations of one region. */
export const make = <A>(
  settings: Settings.RegionSettings<A>,
  backend: Backend["Service"],
  lock: Lock["Service"],
  background: FiberSet.FiberSet<unknown, unknown>
): Effect.Effect<Operations<A>> =>
  Effect.map(runtime(settings, backend, lock, background), (rt) => ({
    region: regionOf(rt, background),
    close: Effect.sync(() => {
      rt.gate.closed = true
    })
  }))
