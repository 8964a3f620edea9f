/**
 * What the dogpile algorithm works with: its region's side (`DogpileContext`,
 * built once per region) and the creator a caller hands it (`BatchCreator`).
 *
 * @internal
 */
import type { Deferred, Effect, FiberSet } from "effect"
import type { CacheError } from "../CacheError.ts"
import type * as Conditional from "../Conditional.ts"
import type * as EntryMeta from "../EntryMeta.ts"
import type { Lock, LockedMiss } from "../Lock.ts"
import type * as RegionEvent from "../RegionEvent.ts"
import type { RegionMetrics } from "../RegionMetrics.ts"
import type { Target } from "./keys.ts"
import type { CallSettings } from "./settings.ts"
import type { Standing } from "./standing.ts"
import type { Found, InPlace, Stored } from "./stored.ts"

/**
 * What the algorithm needs from its region: the lock, a re-read past any in-process tier, the store,
 * where background work runs, the metrics and events, and the in-process creations under way.
 *
 * @example
 * ```ts
 * // internal/operations.ts builds one per region, over the region's reads and writes:
 * const context: DogpileContext<A> = {
 *   lock,
 *   reread: (targets, call) => reads.again(targets, call.expirationMs),
 *   store: writes.store,
 *   background,
 *   metrics,
 *   lockTimeoutMs: settings.lockTimeoutMs,
 *   inflight: new Map(),
 *   recordComputeTime: settings.earlyRefresh !== undefined,
 *   emit: (make) => hub.emit(() => ({ ...make(), region: settings.name }) as RegionEvent.RegionEvent)
 * }
 * ```
 */
export interface DogpileContext<A> {
  readonly lock: Lock["Service"]
  /** Reads keys again after a lock was taken or released (decode failures are not counted twice). */
  readonly reread: (targets: ReadonlyArray<Target>, call: CallSettings<A>) => Effect.Effect<ReadonlyArray<Found<A>>, CacheError>
  /** Stores created values with their metadata, created at `now` (epoch ms, the region's clock). */
  readonly store: (
    entries: ReadonlyArray<readonly [Target, A, EntryMeta.EntryMeta]>,
    call: CallSettings<A>,
    now: number
  ) => Effect.Effect<void, CacheError>
  /** Stores renewed entries: their bytes as they are (nothing encoded), with the store TTL of their metadata. */
  readonly renew: (
    entries: ReadonlyArray<readonly [Target, Uint8Array, EntryMeta.EntryMeta]>,
    call: CallSettings<A>
  ) => Effect.Effect<void, CacheError>
  /** Renews a stored entry at `createdAt` with `meta` without encoding it (`undefined`: it cannot). */
  readonly renewed: (stored: Stored<A>, createdAt: number, meta: EntryMeta.EntryMeta) => Uint8Array | undefined
  /** A stored entry renewed in place at `createdAt` with `meta`: its old and new headers (`undefined`: it cannot). */
  readonly inPlace: (stored: Stored<A>, createdAt: number, meta: EntryMeta.EntryMeta) => InPlace | undefined
  /**
   * Renews entries in place (`Backend.restampMany`), answering per entry whether it applied; absent when
   * the backend cannot.
   */
  readonly restamp?:
    | ((
      entries: ReadonlyArray<readonly [Target, InPlace, EntryMeta.EntryMeta]>,
      call: CallSettings<A>
    ) => Effect.Effect<ReadonlyArray<boolean>, CacheError>)
    | undefined
  /** Whether decoded entries still stand under the region's and their tags' invalidation marks. */
  readonly standing: Standing
  readonly background: FiberSet.FiberSet<unknown, unknown>
  readonly metrics: RegionMetrics
  readonly lockTimeoutMs: number
  /** In-process creations of missing keys, by key id: later callers wait for them. */
  readonly inflight: Map<string, Deferred.Deferred<A, unknown>>
  /** Whether created entries keep their creator's duration (for early refresh); off, they carry no metadata by default. */
  readonly recordComputeTime: boolean
  /**
   * Whether a lock holder of an expired (or early-refreshed) value reads it again before regenerating
   * it: when the backend has a tier in this process (`getManyFromStore`), whose copy may be older than
   * the store's by its invalidation's lag. Without one the read just before the lock stands.
   */
  readonly rereadStale?: boolean | undefined
  /** The lock fused with the backend for a single key's miss (`Lock.lockedMiss`), when they share a store. */
  readonly locked?: LockedMiss | undefined
  /** Publishes a region event (the region fills in its name) if anyone listens. */
  readonly emit: (make: () => RegionEvent.RegionEventInput) => Effect.Effect<void>
}

/**
 * A creator of many values: given the keys (in the caller's order, each once), it returns one value
 * per key, in the same order. `previous[i]`, when given, is the entry `targets[i]` replaces (stale
 * by time, for a conditional creator); plain creators ignore it.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * // One value per key, in order: here each key's length.
 * const lengths: BatchCreator<number, never, never> = (targets) =>
 *   Effect.succeed(targets.map((t) => (typeof t.key === "string" ? t.key : t.key.field).length))
 * // getOrCreate wraps its single creator the same way:
 * const single = (creator: Effect.Effect<number>): BatchCreator<number, never, never> => () => Effect.map(creator, (n) => [n])
 * ```
 */
export type BatchCreator<A, E, R> = (
  targets: ReadonlyArray<Target>,
  previous?: ReadonlyArray<Stored<A> | undefined>
) => Effect.Effect<ReadonlyArray<Conditional.Answer<A>>, E, R>
