/**
 * Region invalidation strategies: where the "everything before time T is
 * invalid" marks live, and how fresh a region's view of them is.
 *
 * @since 0.1.0
 */
import { Clock, Context, Deferred, Duration, Effect, Option } from "effect"
import type { Backend, BackendFailure } from "./Backend.ts"

/**
 * The invalidation marks of a region, epoch milliseconds; `0` when never set.
 * Values created before `hard` are misses; values created before `soft` are
 * stale (served while one caller regenerates).
 *
 * @since 0.1.0
 */
export interface InvalidationState {
  readonly hard: number
  readonly soft: number
}

/**
 * One region's invalidation marks.
 *
 * @since 0.1.0
 */
export interface InvalidationShape {
  readonly current: Effect.Effect<InvalidationState, BackendFailure>
  /**
   * The marks, if `current` would answer them without I/O at `now` (optional):
   * the region then reads the marks and the value in one step instead of two.
   */
  readonly cached?: (now: number) => InvalidationState | undefined
  invalidate(options: { readonly hard: boolean }): Effect.Effect<void, BackendFailure>
}

/**
 * What a strategy is given when a region is built: the region's name, its
 * backend, and the backend key prefix reserved for the region's marks.
 *
 * @since 0.1.0
 */
export interface InvalidationContext {
  readonly region: string
  readonly backend: Backend["Service"]
  readonly markerPrefix: string
}

/**
 * Builds the invalidation marks of one region.
 *
 * @since 0.1.0
 */
export type InvalidationStrategy = (context: InvalidationContext) => InvalidationShape

const none: InvalidationState = { hard: 0, soft: 0 }

const localMarks = new WeakMap<object, Map<string, { state: InvalidationState }>>()

/**
 * Marks kept in this process only (dogpile's behaviour): other processes
 * sharing the store do not see them. Regions of one process over the same
 * backend and namespace share their marks, however many times they are built.
 *
 * @example
 * ```ts
 * import { Invalidation } from "@dogpile-effect/core"
 * import { Layer } from "effect"
 * const perProcess = Layer.succeed(Invalidation.CurrentInvalidation, Invalidation.local)
 * ```
 *
 * @since 0.1.0
 */
export const local: InvalidationStrategy = ({ backend, markerPrefix }) => {
  let byPrefix = localMarks.get(backend)
  if (byPrefix === undefined) {
    byPrefix = new Map()
    localMarks.set(backend, byPrefix)
  }
  let cell = byPrefix.get(markerPrefix)
  if (cell === undefined) {
    cell = { state: none }
    byPrefix.set(markerPrefix, cell)
  }
  const shared = cell
  return {
    cached: () => shared.state,
    current: Effect.sync(() => shared.state),
    invalidate: ({ hard }) =>
      Effect.map(Clock.currentTimeMillis, (now) => {
        shared.state = hard ? { ...shared.state, hard: now } : { ...shared.state, soft: now }
      })
  }
}

const textEncoder = new TextEncoder()
const textDecoder = new TextDecoder()

/**
 * How far ahead of this process's clock a stored mark may be and still count.
 * A mark further in the future (a wrong clock elsewhere, or a forged value)
 * would make every value a miss until then; it is ignored instead.
 */
export const MAX_MARK_AHEAD_MS = 60_000

const parseMark = (bytes: Option.Option<Uint8Array>, now: number): number => {
  if (Option.isNone(bytes)) return 0
  const n = Number(textDecoder.decode(bytes.value))
  return Number.isFinite(n) && n > 0 && n <= now + MAX_MARK_AHEAD_MS ? n : 0
}

/**
 * What a process knows of one mark: `live`, the mark as last read (it may lie
 * ahead of this clock, by clock skew, and counts only while it is stored), and
 * `seen`, the newest moment this process knows everything before was
 * invalidated: a mark it read, capped at the time it read it, or its own
 * invalidation. `seen` never moves back: a mark that disappears (evicted under
 * memory pressure, deleted) still invalidates what was created before it was
 * seen, and no later value.
 *
 * @since 0.1.0
 */
export interface MarkMemory {
  readonly live: number
  readonly seen: number
}

/**
 * The memory of a mark after reading `loaded` (`0`: absent) at `now`.
 *
 * @example
 * ```ts
 * import { Invalidation } from "@dogpile-effect/core"
 * // A mark 30 s ahead (clock skew) read at 1000, then deleted: only what was created before 1000 stays invalid.
 * const seen = Invalidation.afterRead({ live: 0, seen: 0 }, 31_000, 1000) // { live: 31000, seen: 1000 }
 * Invalidation.afterRead(seen, 0, 2000) // { live: 0, seen: 1000 }
 * ```
 *
 * @since 0.1.0
 */
export const afterRead = (memory: MarkMemory, loaded: number, now: number): MarkMemory => ({
  live: loaded,
  seen: Math.max(memory.seen, Math.min(loaded, now))
})

/**
 * The mark in force: the stored one while it is there, never older than what was seen.
 *
 * @example
 * ```ts
 * import { Invalidation } from "@dogpile-effect/core"
 * Invalidation.inForce({ live: 0, seen: 1000 }) // 1000
 * ```
 *
 * @since 0.1.0
 */
export const inForce = (memory: MarkMemory): number => Math.max(memory.live, memory.seen)

/**
 * Whether a mark this process had seen is missing from the store (evicted or
 * deleted): it is then written back with the moment it was seen, so processes
 * that never read it do not serve what it invalidated.
 *
 * @example
 * ```ts
 * import { Invalidation } from "@dogpile-effect/core"
 * Invalidation.lost({ live: 0, seen: 1000 }, 0) // true
 * ```
 *
 * @since 0.1.0
 */
export const lost = (memory: MarkMemory, loaded: number): boolean => loaded === 0 && memory.seen > 0

const noMemory: MarkMemory = { live: 0, seen: 0 }

/**
 * Marks stored through the region's `Backend` (beyond dogpile, whose
 * invalidation is per process): every process sharing the store sees an
 * invalidation within `refresh` (default 1 second), and the invalidating
 * process sees it at once. The marks are two plain keys,
 * `<prefix>hard` and `<prefix>soft`, holding epoch milliseconds as decimal
 * text; they never expire. A mark may lie up to {@link MAX_MARK_AHEAD_MS}
 * ahead of this clock and counts while it is stored; once this process has
 * seen a mark, a missing one (evicted, deleted) still invalidates everything
 * created before it was seen, and is written back (see {@link MarkMemory}).
 *
 * @example
 * ```ts
 * import { Invalidation } from "@dogpile-effect/core"
 * import { Layer } from "effect"
 * const strict = Layer.succeed(Invalidation.CurrentInvalidation, Invalidation.shared({ refresh: 0 }))
 * ```
 *
 * @since 0.1.0
 */
export const shared = (options?: { readonly refresh?: Duration.Input }): InvalidationStrategy => {
  const refresh = Duration.toMillis(Duration.fromInputUnsafe(options?.refresh ?? Duration.seconds(1)))
  return ({ backend, markerPrefix }) => {
    const hardKey = `${markerPrefix}hard`
    const softKey = `${markerPrefix}soft`
    let hard = noMemory
    let soft = noMemory
    let state = none
    let readAt = Number.NEGATIVE_INFINITY
    // One reload at a time: without this, every caller that arrives in the same
    // round trip after the refresh window reloads too (a herd of MGETs per second).
    let pending: Deferred.Deferred<InvalidationState, BackendFailure> | undefined
    const settle = () => {
      state = { hard: inForce(hard), soft: inForce(soft) }
      return state
    }
    /** Writes back the marks this process had seen that are missing; a failed write changes nothing here. */
    const restore = (missing: ReadonlyArray<readonly [string, number]>) =>
      missing.length === 0
        ? Effect.void
        : Effect.ignore(backend.setMany(missing.map(([key, at]) => ({ key, value: textEncoder.encode(String(at)) }))))
    const reload = (now: number) =>
      Effect.flatMap(backend.getMany([hardKey, softKey]), ([hardBytes, softBytes]) => {
        const loadedHard = parseMark(hardBytes ?? Option.none(), now)
        const loadedSoft = parseMark(softBytes ?? Option.none(), now)
        const missing = [
          ...(lost(hard, loadedHard) ? [[hardKey, hard.seen] as const] : []),
          ...(lost(soft, loadedSoft) ? [[softKey, soft.seen] as const] : [])
        ]
        hard = afterRead(hard, loadedHard, now)
        soft = afterRead(soft, loadedSoft, now)
        readAt = now
        return Effect.as(restore(missing), settle())
      })
    return {
      cached: (now) => (now - readAt < refresh ? state : undefined),
      current: Clock.clockWith((clock) => {
        const now = clock.currentTimeMillisUnsafe()
        if (now - readAt < refresh) return Effect.succeed(state)
        if (pending !== undefined) {
          // Someone is reloading: use the marks we have, unless we have none yet.
          return readAt === Number.NEGATIVE_INFINITY ? Deferred.await(pending) : Effect.succeed(state)
        }
        const deferred = Deferred.makeUnsafe<InvalidationState, BackendFailure>()
        pending = deferred
        return reload(now).pipe(
          Effect.onExit((exit) =>
            Effect.andThen(
              Effect.sync(() => {
                pending = undefined
              }),
              Deferred.done(deferred, exit)
            )
          )
        )
      }),
      invalidate: ({ hard: isHard }) =>
        Effect.flatMap(Clock.currentTimeMillis, (now) =>
          Effect.andThen(
            backend.set(isHard ? hardKey : softKey, textEncoder.encode(String(now))),
            Effect.sync(() => {
              // The stored mark is now ours: what was created before now is invalid, nothing later.
              const mine = (memory: MarkMemory): MarkMemory => ({ live: now, seen: Math.max(memory.seen, now) })
              if (isHard) hard = mine(hard)
              else soft = mine(soft)
              settle()
            })
          ))
    }
  }
}

/**
 * The strategy regions use: {@link shared} by default. Provide a Layer to
 * replace it, e.g. with {@link local} or your own.
 *
 * @since 0.1.0
 */
export const CurrentInvalidation = Context.Reference<InvalidationStrategy>(
  "@dogpile-effect/core/Invalidation/CurrentInvalidation",
  { defaultValue: () => shared() }
)
