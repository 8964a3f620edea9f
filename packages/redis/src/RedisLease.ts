/**
 * The lease of a Redis lock just taken, whatever the client: `confirm` asks
 * whether the key still holds our token, `confirmAndRelease` releases it and
 * learns the same from the release script's answer. A lock found lost is
 * reported once by its lost-lock policy (`LostLock.ts`).
 *
 * @since 0.1.0
 */
import type { BackendError, LockLease, LockLostError } from "@dogpile-effect/core"
import { Effect } from "effect"
import type * as LockRenewal from "./LockRenewal.ts"

/**
 * Whether the lock has been released (by `confirmAndRelease`, or by whatever
 * else the adapter releases it with); its scope's finalizer then sends
 * nothing.
 *
 * @example
 * ```ts
 * import type { RedisLease } from "@dogpile-effect/redis/lock-kit"
 * const state: RedisLease.LeaseState = { released: false }
 * ```
 *
 * @category models
 * @since 0.1.0
 */
export interface LeaseState {
  released: boolean
}

/**
 * What a lease needs from the lock service and its client.
 *
 * @example
 * ```ts
 * import type { RedisLease } from "@dogpile-effect/redis/lock-kit"
 * type Needs = RedisLease.LeaseOptions["check"]
 * ```
 *
 * @category models
 * @since 0.1.0
 */
export interface LeaseOptions {
  readonly token: string
  readonly state: LeaseState
  /** The lock's entry in the renewal loop. */
  readonly renewing: LockRenewal.Held
  readonly renewal: LockRenewal.LockRenewal
  /** The lost-lock report of this lease (`LostLock.reporter`). */
  readonly lostOnce: Effect.Effect<"lost", LockLostError>
  /** `GET` of the lock key: its holder's token, if any. */
  readonly check: Effect.Effect<unknown, BackendError>
  /** The release script (`LockLua.RELEASE`) on the lock key, bounded by `releaseWait`: 1 when it released our token. */
  readonly release: Effect.Effect<unknown, BackendError>
}

/**
 * The lease of a lock just taken. Redis unreachable while confirming: the
 * ownership cannot be checked, so nothing is reported (the store failed or
 * will fail anyway; the scope's release retries in the background).
 *
 * @example
 * ```ts
 * import { RedisLease } from "@dogpile-effect/redis/lock-kit"
 * const leaseOf = (options: RedisLease.LeaseOptions) => RedisLease.make(options).confirmAndRelease
 * ```
 *
 * @category constructors
 * @since 0.1.0
 */
export const make = (options: LeaseOptions): LockLease => {
  const { check, lostOnce, release, renewal, renewing, state, token } = options
  type Outcome = Effect.Effect<void | "lost", LockLostError>
  const reportLost = Effect.suspend((): Effect.Effect<"lost", LockLostError> => {
    renewing.lost = true
    return lostOnce
  })
  // Once released by `confirmAndRelease`, the release's answer stands (the key is gone: nothing to ask).
  const confirm: Outcome = Effect.suspend(() =>
    renewing.lost
      ? reportLost
      : state.released
      ? Effect.void
      : check.pipe(
        Effect.flatMap((holder): Outcome => (holder === token ? Effect.void : reportLost)),
        Effect.catchTag("BackendError", () => Effect.void)
      )
  )
  // The release script tells whether the key still held our token: the check and the release in one round trip.
  const confirmAndRelease: Outcome = Effect.suspend(() => {
    if (state.released) return confirm
    renewal.drop(renewing)
    return release.pipe(
      Effect.flatMap((reply): Outcome => {
        state.released = true
        return reply === 1 && !renewing.lost ? Effect.void : reportLost
      }),
      Effect.catchTag("BackendError", () => Effect.void)
    )
  })
  return { confirm, confirmAndRelease }
}
