/**
 * Lease renewal for every lock one `NodeRedisLock` holds, by one fiber: each
 * held lock whose lease was last set `renewEvery` ago or more is extended
 * (compare-and-pexpire); one whose key no longer holds its token is marked
 * lost. The fiber sleeps on a timer only while a lock is held; it wakes every
 * `tick` (a third of the smaller of `renewEvery` and `leaseTtl - renewEvery`)
 * and waits at most `tick` for each renewal, so a silent server delays the
 * others by one tick and a lease is renewed before it runs out.
 *
 * @since 0.1.0
 */
import { Deferred, Duration, Effect, Exit, type Scope } from "effect"

/**
 * One lock being renewed.
 *
 * @example
 * ```ts
 * const held: Held = { redisKey: "_lock:user:42", token: "9f2c", renewedAt: Date.now(), lost: false }
 * ```
 *
 * @category models
 * @since 0.1.0
 */
export interface Held {
  readonly redisKey: string
  readonly token: string
  /** When its lease was last set (the clock's epoch ms). */
  renewedAt: number
  /** Whether a renewal found its key no longer holding its token. */
  lost: boolean
}

/**
 * The renewals of one lock service.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * const holding = (renewal: LeaseRenewal) =>
 *   Effect.map(renewal.hold("_lock:user:42", "9f2c"), (held) => renewal.drop(held))
 * ```
 *
 * @category models
 * @since 0.1.0
 */
export interface LeaseRenewal {
  /** Starts renewing the lock `token` holds on `redisKey` (its lease was just set). */
  readonly hold: (redisKey: string, token: string) => Effect.Effect<Held>
  /** Stops renewing `held` (released, or about to be). */
  readonly drop: (held: Held) => void
}

/**
 * Renewal by `extend` (1 when it extended the key, 0 when the key no longer
 * holds the token, bounded by the given milliseconds) of leases of
 * `leaseMs`, every `renewMs`. Its fiber runs in the current scope and on the
 * lock service's clock.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * const renewal = make({ extend: () => Effect.succeed(1), leaseMs: 10_000, renewMs: 3_000 })
 * ```
 *
 * @category constructors
 * @since 0.1.0
 */
export const make = <E>(options: {
  readonly extend: (redisKey: string, token: string, timeoutMillis: number) => Effect.Effect<number, E>
  readonly leaseMs: number
  readonly renewMs: number
}): Effect.Effect<LeaseRenewal, never, Scope.Scope> =>
  Effect.gen(function*() {
    const { extend, leaseMs, renewMs } = options
    const tickMs = Math.max(1, Math.min(renewMs, leaseMs - renewMs) / 3)
    const tick = Duration.millis(tickMs)
    const clock = yield* Effect.clockWith(Effect.succeed)
    const held = new Set<Held>()
    let wake = Deferred.makeUnsafe<void>()

    const renewOne = (lock: Held, now: number) =>
      extend(lock.redisKey, lock.token, tickMs).pipe(
        Effect.map((reply) => {
          if (reply === 1) lock.renewedAt = now
          else {
            lock.lost = true
            held.delete(lock)
          }
        }),
        // Redis unreachable or slow: try again next tick; a restart shows up as a lost lock.
        Effect.catch(() => Effect.void)
      )

    const renewDue = Effect.suspend(() => {
      const now = clock.currentTimeMillisUnsafe()
      const due = [...held].filter((lock) => now - lock.renewedAt >= renewMs)
      return Effect.forEach(due, (lock) => renewOne(lock, now), { concurrency: "unbounded", discard: true })
    })

    // Idle: waits for the next `hold`, on a fresh signal made in the same step that finds none held.
    const turn = Effect.suspend(() => {
      if (held.size > 0) return Effect.andThen(Effect.sleep(tick), renewDue)
      wake = Deferred.makeUnsafe<void>()
      return Deferred.await(wake)
    })
    yield* Effect.forkScoped(Effect.forever(turn))

    const hold = (redisKey: string, token: string) =>
      Effect.sync((): Held => {
        const lock: Held = { redisKey, token, renewedAt: clock.currentTimeMillisUnsafe(), lost: false }
        held.add(lock)
        if (held.size === 1) Deferred.doneUnsafe(wake, Exit.void)
        return lock
      })

    return { hold, drop: (lock) => void held.delete(lock) }
  })
