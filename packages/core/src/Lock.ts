/**
 * The per-key mutex behind the dogpile lock.
 *
 * @since 0.1.0
 */
import { Context, Duration, Effect, Layer, Option, Scope, Semaphore } from "effect"
import * as CacheKey from "./CacheKey.ts"
import type { Backend, BackendFailure } from "./Backend.ts"
import { type LockLostError, LockTimeoutError } from "./CacheError.ts"

/**
 * A held lock. `confirm` is called by the region after the creator's value has
 * been stored: a lock that was lost meanwhile (expired, flushed, server
 * restart) reports it there according to the lock's policy, by failing with
 * `LockLostError` or, when its policy lets the call go on, by succeeding with
 * `"lost"` (the region emits a `LockLost` event either way). Locks that cannot
 * be lost confirm with `Effect.void`.
 *
 * @example
 * ```ts
 * import type { Lock } from "@dogpile-effect/core"
 * import { Effect } from "effect"
 * const lease: Lock.LockLease = { confirm: Effect.void }
 * ```
 *
 * @since 0.1.0
 */
export interface LockLease {
  readonly confirm: Effect.Effect<void | "lost", LockLostError>
  /**
   * Optional: {@link LockLease.confirm} and the release at once, for a lock
   * whose release can tell whether it still held the lock (a distributed
   * lock: one round trip instead of two). The region calls it instead of
   * `confirm` when the lease has it, as its last use of the lock; the scope's
   * release then has nothing left to do.
   */
  readonly confirmAndRelease?: Effect.Effect<void | "lost", LockLostError>
}

/**
 * What {@link LockedMiss} `tryAbsent` did: `"created"` (the lock was taken
 * while the value was still absent, checked in the same step: no read again
 * is needed; the creation ran under it, and the lease's store of the created
 * value also released the lock and woke the waiters), `"held"` (someone else
 * holds the lock: nothing ran), or `"fallback"` (the value exists after all,
 * or the key cannot go this way, e.g. its value and its lock live in
 * different Cluster slots: nothing ran; the caller takes the usual path).
 *
 * @example
 * ```ts
 * import type { LockedOutcome } from "@dogpile-effect/core"
 * const held: LockedOutcome = "held"
 * ```
 *
 * @since 0.1.0
 */
export type LockedOutcome = "created" | "held" | "fallback"

/**
 * A lock's miss path fused with its backend's (see `Lock.lockedMiss`): one
 * round trip checks that a key's value is still absent and takes its lock.
 *
 * @example
 * ```ts
 * import { Backend, Lock } from "@dogpile-effect/core"
 * import { Effect } from "effect"
 * // A region asks its lock once, when it is built; the local lock has no such path.
 * const fused = Effect.gen(function*() {
 *   const lock = yield* Lock
 *   return lock.lockedMiss?.(yield* Backend)
 * })
 * ```
 *
 * @since 0.1.0
 */
export interface LockedMiss {
  /**
   * Takes the lock of `key` if its value is still absent, in one round trip,
   * and runs `create` with its lease; the lock is released when `create` ends
   * (by the lease's store of the value, or after it), whatever its exit. No
   * scope: the lock arranges its own release.
   */
  readonly tryAbsent: <E, R>(
    key: CacheKey.CacheKey,
    create: (lease: LockLease) => Effect.Effect<void, E, R>
  ) => Effect.Effect<LockedOutcome, E | BackendFailure, R>
}

/**
 * A lock taken without a scope (`Lock.tryTake`): its lease, and the release
 * its taker runs exactly once when done.
 *
 * @example
 * ```ts
 * import { Lock } from "@dogpile-effect/core"
 * import { Effect, Option } from "effect"
 *
 * const once = Effect.gen(function*() {
 *   const lock = yield* Lock
 *   const taken = yield* lock.tryTake!("report")
 *   if (Option.isSome(taken)) yield* taken.value.release
 * }).pipe(Effect.provide(Lock.layerLocal))
 * ```
 *
 * @since 0.1.0
 */
export interface TakenLock {
  readonly lease: LockLease
  readonly release: Effect.Effect<void>
}

/**
 * The Lock service: a mutex per key. Both operations are scoped: the lock is
 * released when the surrounding `Scope` closes, on success, failure or
 * interruption, so a release cannot be forgotten.
 *
 * - `tryAcquire` never waits: `Some(lease)` if the lock was free, `None` if not.
 * - `acquire` waits until the lock is free, failing with
 *   {@link LockTimeoutError} after `timeout`.
 * - `awaitRelease` waits until the lock is free without taking it.
 *
 * @example
 * ```ts
 * import { Lock } from "@dogpile-effect/core"
 * import { Effect } from "effect"
 *
 * const exclusive = Effect.scoped(Effect.gen(function*() {
 *   const lock = yield* Lock
 *   yield* lock.acquire("report", "5 seconds")
 *   // ... only one fiber per key runs here
 * })).pipe(Effect.provide(Lock.layerLocal))
 * ```
 *
 * @since 0.1.0
 */
export class Lock extends Context.Service<Lock, {
  readonly name: string
  tryAcquire(key: CacheKey.CacheKey): Effect.Effect<Option.Option<LockLease>, BackendFailure, Scope.Scope>
  acquire(
    key: CacheKey.CacheKey,
    timeout: Duration.Input
  ): Effect.Effect<LockLease, LockTimeoutError | BackendFailure, Scope.Scope>
  /**
   * Waits until the lock on `key` is free (at once if it is), without taking
   * it, failing with {@link LockTimeoutError} after `timeout`. Callers that only
   * want the value another holder is creating use it so that they all read the
   * value as soon as it is released, instead of taking the lock in turn.
   */
  awaitRelease(key: CacheKey.CacheKey, timeout: Duration.Input): Effect.Effect<void, LockTimeoutError | BackendFailure>
  /** Whether the lock on `key` is held, and for how much longer (optional: locks that cannot tell omit it). */
  status?(key: CacheKey.CacheKey): Effect.Effect<LockStatus, BackendFailure>
  /**
   * Optional: `tryAcquire` without a scope, for locks that answer in
   * process. `Some` holds the lease and its release, which the caller runs
   * exactly once, and must not be interrupted between taking and arranging to
   * run it; `None` if the lock is held. A region takes a single key's lock
   * this way when it can: a scope costs a third of an in-process miss.
   */
  tryTake?(key: CacheKey.CacheKey): Effect.Effect<Option.Option<TakenLock>>
  /**
   * Optional: the locked miss in fewer round trips, when this lock and
   * `backend` share one store (the Redis lock and the Redis backend over the
   * same client). `undefined` when they do not: the region then uses
   * `tryAcquire`, a read again, and a store followed by the release.
   */
  lockedMiss?(backend: Backend["Service"]): LockedMiss | undefined
}>()("@dogpile-effect/core/Lock") {
  /**
   * An in-process lock: one semaphore per key, dropped when nobody holds or
   * waits for it. Correct within one process only; use `RedisLock` from
   * `@dogpile-effect/redis` across processes.
   */
  static readonly layerLocal: Layer.Layer<Lock> = Layer.sync(Lock, () => makeLocal())
}

/**
 * What `Lock.status` reports: free, held (with the lease time left and how
 * long it has been held, where the lock knows them), or unknown.
 *
 * @example
 * ```ts
 * import type { LockStatus } from "@dogpile-effect/core"
 * const held: LockStatus = { _tag: "Held", remainingMs: 2500 }
 * ```
 *
 * @category models
 * @since 0.1.0
 */
export type LockStatus =
  | { readonly _tag: "Free" }
  | { readonly _tag: "Held"; readonly remainingMs?: number | undefined; readonly heldForMs?: number | undefined }
  | { readonly _tag: "Unknown" }

const confirmed: LockLease = { confirm: Effect.void }
const noLease = Effect.succeed(Option.none<LockLease>())

interface Slot {
  readonly semaphore: Semaphore.Semaphore
  users: number
  /** When the current holder took it (epoch ms), or undefined when free. */
  heldSince: number | undefined
}

/**
 * Builds an in-process {@link Lock}. Exposed for composition (e.g. as the
 * local coalescing stage in front of a distributed lock).
 *
 * @since 0.1.0
 */
export const makeLocal = (): Lock["Service"] & { readonly tryTake: NonNullable<Lock["Service"]["tryTake"]> } => {
  const slots = new Map<string, Slot>()

  const enter = (id: string): Slot => {
    let slot = slots.get(id)
    if (slot === undefined) {
      slot = { semaphore: Semaphore.makeUnsafe(1), users: 0, heldSince: undefined }
      slots.set(id, slot)
    }
    slot.users++
    return slot
  }
  const leave = (id: string, slot: Slot): void => {
    slot.users--
    if (slot.users === 0 && slots.get(id) === slot) slots.delete(id)
  }

  const release = (id: string, slot: Slot) =>
    Effect.suspend(() => {
      slot.heldSince = undefined
      return Effect.map(slot.semaphore.release(1), () => leave(id, slot))
    })

  const tryTake = (key: CacheKey.CacheKey): Effect.Effect<Option.Option<TakenLock>> =>
    Effect.suspend(() => {
      const id = CacheKey.render(key)
      const slot = enter(id)
      return Effect.map(slot.semaphore.takeIfAvailable(1), (taken) => {
        if (!taken) {
          leave(id, slot)
          return Option.none()
        }
        slot.heldSince = Date.now()
        return Option.some({ lease: confirmed, release: release(id, slot) })
      })
    })

  // Uninterruptible: a permit taken is always handed to the scope that releases it.
  const tryAcquire = (key: CacheKey.CacheKey) =>
    Effect.uninterruptible(Effect.flatMap(Effect.scope, (scope) =>
      Effect.flatMap(tryTake(key), (taken) =>
        Option.isNone(taken)
          ? noLease
          : Effect.as(Scope.addFinalizer(scope, taken.value.release), Option.some(taken.value.lease)))))

  const acquire = (key: CacheKey.CacheKey, timeout: Duration.Input) =>
    Effect.uninterruptibleMask((restore) =>
      Effect.gen(function*() {
        const id = CacheKey.render(key)
        const slot = enter(id)
        const millis = Duration.toMillis(Duration.fromInputUnsafe(timeout))
        const taken = yield* restore(slot.semaphore.take(1)).pipe(
          Effect.timeoutOption(millis),
          Effect.onInterrupt(() => Effect.sync(() => leave(id, slot)))
        )
        if (Option.isNone(taken)) {
          leave(id, slot)
          return yield* new LockTimeoutError({ key: CacheKey.display(key), timeoutMillis: millis })
        }
        slot.heldSince = Date.now()
        yield* Effect.addFinalizer(() => release(id, slot))
        return confirmed
      })
    )

  const awaitRelease = (key: CacheKey.CacheKey, timeout: Duration.Input) =>
    Effect.scoped(Effect.asVoid(acquire(key, timeout)))

  const status = (key: CacheKey.CacheKey) =>
    Effect.sync((): LockStatus => {
      const since = slots.get(CacheKey.render(key))?.heldSince
      return since === undefined ? { _tag: "Free" } : { _tag: "Held", heldForMs: Math.max(0, Date.now() - since) }
    })

  // `tryTake` is always there (the Redis lock takes its in-process stage with it).
  return { name: "local", tryAcquire, acquire, awaitRelease, status, tryTake }
}
