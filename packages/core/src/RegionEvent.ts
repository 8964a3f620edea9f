/**
 * A region's events, for logging, auditing and tests: hits, misses, stale
 * values served, creations, invalidations, lost locks and bypasses. Read them
 * with `region.events` (a `Stream`); nothing is published while nobody
 * listens, and a slow listener loses the oldest events (a sliding buffer of
 * {@link BUFFER} per listener), so listening never slows or grows a region.
 *
 * @since 0.1.0
 */
import { Effect, PubSub, type Scope, Stream } from "effect"

/**
 * One event of a region. `key` is the caller's key as displayed in errors.
 *
 * @example
 * ```ts
 * import type { RegionEvent } from "@dogpile-effect/core"
 * const describe = (event: RegionEvent.RegionEvent) => `${event.region}: ${event._tag}`
 * ```
 *
 * @category models
 * @since 0.1.0
 */
export type RegionEvent =
  | { readonly _tag: "Hit"; readonly region: string; readonly key: string }
  | { readonly _tag: "Miss"; readonly region: string; readonly key: string }
  | { readonly _tag: "StaleServed"; readonly region: string; readonly key: string }
  | { readonly _tag: "Created"; readonly region: string; readonly key: string; readonly durationMs: number }
  | { readonly _tag: "NotModified"; readonly region: string; readonly key: string; readonly durationMs: number }
  | { readonly _tag: "Invalidated"; readonly region: string; readonly hard: boolean; readonly tags?: ReadonlyArray<string> }
  | { readonly _tag: "LockLost"; readonly region: string; readonly key: string }
  | { readonly _tag: "Bypassed"; readonly region: string; readonly key: string; readonly reason: string }

/**
 * An event before the region adds its name.
 *
 * @example
 * ```ts
 * import type { RegionEvent } from "@dogpile-effect/core"
 * const created: RegionEvent.RegionEventInput = { _tag: "Created", key: "k", durationMs: 12 }
 * ```
 *
 * @category models
 * @since 0.1.0
 */
export type RegionEventInput = RegionEvent extends infer E ? E extends { readonly region: string } ? Omit<E, "region"> : never : never

/**
 * How many events one listener may fall behind before the oldest are dropped.
 *
 * @example
 * ```ts
 * import { RegionEvent } from "@dogpile-effect/core"
 * RegionEvent.BUFFER // 1024
 * ```
 *
 * @category constants
 * @since 0.1.0
 */
export const BUFFER = 1024

/**
 * The publishing side, held by the region.
 *
 * @example
 * ```ts
 * import { RegionEvent } from "@dogpile-effect/core"
 * import { Effect } from "effect"
 * const program = Effect.map(RegionEvent.makeHub(), (hub) => hub.emit(() => ({ _tag: "Hit", region: "r", key: "k" })))
 * ```
 *
 * @category models
 * @since 0.1.0
 */
export interface Hub {
  /** Every event from when the stream starts, while it runs. */
  readonly stream: Stream.Stream<RegionEvent>
  /** Subscribes now (events from this moment on are kept for the returned stream), for as long as the scope. */
  readonly subscribe: Effect.Effect<Stream.Stream<RegionEvent>, never, Scope.Scope>
  /** Publishes an event if anyone listens; `make` is not even called otherwise. */
  readonly emit: (make: () => RegionEvent) => Effect.Effect<void>
  /** Whether anyone listens. */
  readonly listening: () => boolean
}

/**
 * Builds a hub.
 *
 * @example
 * ```ts
 * import { RegionEvent } from "@dogpile-effect/core"
 * const hub = RegionEvent.makeHub()
 * ```
 *
 * @category constructors
 * @since 0.1.0
 */
export const makeHub = (): Effect.Effect<Hub> =>
  Effect.map(PubSub.sliding<RegionEvent>(BUFFER), (pubsub) => {
    let listeners = 0
    const stream = Stream.fromPubSub(pubsub).pipe(
      Stream.onStart(Effect.sync(() => void listeners++)),
      Stream.ensuring(Effect.sync(() => void listeners--))
    )
    const subscribe = Effect.acquireRelease(
      Effect.tap(PubSub.subscribe(pubsub), () => Effect.sync(() => void listeners++)),
      () => Effect.sync(() => void listeners--)
    ).pipe(Effect.map(Stream.fromSubscription))
    return {
      stream,
      subscribe,
      listening: () => listeners > 0,
      emit: (make) => (listeners === 0 ? Effect.void : Effect.asVoid(PubSub.publish(pubsub, make())))
    }
  })
