/**
 * Everything a region's operations share, built once per region by
 * `operations.ts`: its settings, backend and storage, reads and writes, the
 * dogpile's context, the counters and events of its reads, and its gate. The
 * operation modules (`getOrCreate.ts`, `lookups.ts`, `mutations.ts`) are
 * functions of it.
 *
 * @internal
 */
import { Effect } from "effect"
import type { Backend } from "../Backend.ts"
import type * as CacheKey from "../CacheKey.ts"
import { type CacheError, InvalidKeyError } from "../CacheError.ts"
import type { InvalidationShape } from "../Invalidation.ts"
import type * as RegionEvent from "../RegionEvent.ts"
import type { RegionMetrics } from "../RegionMetrics.ts"
import type { Bypass } from "./bypass.ts"
import type { DogpileContext } from "./dogpileContext.ts"
import type { FastHit } from "./fastPath.ts"
import * as Gate from "./gate.ts"
import type { HotCounter } from "./hotCounter.ts"
import type { Inspector } from "./inspect.ts"
import type { Target } from "./keys.ts"
import type { Reads } from "./reads.ts"
import type { RegionSettings } from "./settings.ts"
import type { TagMarks } from "./tagMarks.ts"
import type { Writes } from "./writes.ts"

/** What a region's operations share. */
export interface RegionRuntime<A> {
  readonly name: string
  readonly settings: RegionSettings<A>
  readonly backend: Backend["Service"]
  readonly hub: RegionEvent.Hub
  readonly metrics: RegionMetrics
  /** The counters of every read, found in the registry once per context, not per read. */
  readonly hits: HotCounter
  readonly misses: HotCounter
  readonly tagMarks: TagMarks
  readonly invalidation: InvalidationShape
  readonly inspector: Inspector
  readonly reads: Reads<A>
  readonly writes: Writes<A>
  /** The synchronous hit, when the backend answers in process. */
  readonly fastHit: FastHit<A> | undefined
  readonly dogpile: DogpileContext<A>
  readonly bypass: Bypass["bypass"]
  readonly gate: Gate.Gate
  readonly resolveKey: (key: unknown) => Target | InvalidKeyError
}

/** An operation on one key, through the gate: an invalid key fails before any I/O. */
export const withTarget = <A, X>(
  rt: RegionRuntime<A>,
  spanName: string,
  key: CacheKey.CacheKey,
  f: (target: Target) => Effect.Effect<X, CacheError>
): Effect.Effect<X, CacheError> =>
  Gate.open(rt.gate, spanName, () => {
    const target = rt.resolveKey(key)
    return target instanceof InvalidKeyError ? Effect.fail(target) : f(target)
  }, key)
