/**
 * Lease renewal for every lock one lock service (`RedisLock`,
 * `NodeRedisLock`) holds, by one fiber, whatever its client. Each held lock whose lease was last set `renewEvery` ago or more is extended
 * (compare-and-pexpire); one whose key no longer holds its token is marked
 * lost. The fiber sleeps on a timer only while a lock is held, so a lock
 * released within `renewEvery` (most creators) costs a set entry, not a
 * fiber and a timer of its own.
 *
 * The fiber wakes every `tick`, a third of the smaller of `renewEvery` and
 * `leaseTtl - renewEvery`, and waits at most `tick` for each renewal (one not
 * answered by then is sent again next time): a silent server, or one silent
 * node of a Cluster, delays the other renewals by one tick at most. So a lease
 * is renewed at most `renewEvery + 2 × tick` after it was last set, always
 * before it runs out (at `5/9 × leaseTtl` with the default `renewEvery`).
 *
 * @since 0.1.0
 */
import { Deferred, Duration, Effect, Exit, type Scope } from "effect"

/**
 * One lock being renewed.
 *
 * @example
 * ```ts
 * import type { LockRenewal } from "@dogpile-effect/redis/lock-kit"
 * const held: LockRenewal.Held = { redisKey: "_lock:user:42", token: "9f2c", renewedAt: Date.now(), lost: false }
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
 * import type { LockRenewal } from "@dogpile-effect/redis/lock-kit"
 * import { Effect } from "effect"
 * const holding = (renewal: LockRenewal.LockRenewal) =>
 *   Effect.map(renewal.hold("_lock:user:42", "9f2c"), (held) => renewal.drop(held))
 * ```
 *
 * @category models
 * @since 0.1.0
 */
export interface LockRenewal {
  /** Starts renewing the lock `token` holds on `redisKey` (its lease was just set). */
  readonly hold: (redisKey: string, token: string) => Effect.Effect<Held>
  /** Stops renewing `held` (released, or about to be). */
  readonly drop: (held: Held) => void
  /** How many locks are being renewed. */
  readonly size: () => number
}

/**
 * How a renewal reaches Redis, whatever the client: runs the
 * compare-and-pexpire script (`LockLua.EXTEND`) on `redisKey` with `token`,
 * waiting at most `timeoutMillis`; answers 1 when it extended the key, 0 when
 * the key no longer holds the token. A failure is retried on the next tick.
 *
 * @example
 * ```ts
 * import type { LockRenewal } from "@dogpile-effect/redis/lock-kit"
 * import { Effect } from "effect"
 * const extend: LockRenewal.Extend<never> = (_redisKey, _token, _timeoutMillis) => Effect.succeed(1)
 * ```
 *
 * @category models
 * @since 0.1.0
 */
export type Extend<E> = (redisKey: string, token: string, timeoutMillis: number) => Effect.Effect<unknown, E>

/**
 * Renewal by `extend` (see {@link Extend}) of leases of `leaseMs`, every
 * `renewMs`. Its fiber is started here, in the current scope and context (the
 * lock service's: it runs on that clock and scheduler, whichever caller holds
 * a lock), and waits without a timer while no lock is held.
 *
 * @example
 * ```ts
 * import { LockRenewal } from "@dogpile-effect/redis/lock-kit"
 * import { Effect } from "effect"
 * const renewal = LockRenewal.make({ extend: () => Effect.succeed(1), leaseMs: 10_000, renewMs: 3_000 })
 * ```
 *
 * @category constructors
 * @since 0.1.0
 */
export const make = <E>(options: {
  readonly extend: Extend<E>
  readonly leaseMs: number
  readonly renewMs: number
}): Effect.Effect<LockRenewal, never, Scope.Scope> =>
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

    // Idle: waits for the next `hold` (a fresh signal each time, made in the same step that finds none held).
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

    return { hold, drop: (lock) => void held.delete(lock), size: () => held.size }
  })
