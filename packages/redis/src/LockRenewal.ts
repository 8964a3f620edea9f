/**
 * Lease renewal for every lock one `RedisLock` holds, by one fiber. Each held
 * lock whose lease was last set `renewEvery` ago or more is extended
 * (compare-and-pexpire); one whose key no longer holds its token is marked
 * lost. The fiber runs only while a lock is held (the first lock starts it,
 * it ends after the last), so a lock released within `renewEvery` (most
 * creators) costs a set entry, not a fiber and a timer of its own.
 *
 * A lease is renewed at most `renewEvery + tick` after it was last set, with
 * `tick` half of the smaller of `renewEvery` and `leaseTtl - renewEvery`: always
 * before it runs out (at `leaseTtl / 2` with the default `renewEvery`).
 *
 * @since 0.3.0
 */
import { Clock, Duration, Effect, Scope } from "effect"
import type { RedisScript } from "./RedisClient.ts"

/**
 * One lock being renewed.
 *
 * @category models
 * @since 0.3.0
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
 * @category models
 * @since 0.3.0
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
 * Renewal by `extend` (a compare-and-pexpire script: 1 when it extended the
 * key, 0 when the key no longer holds the token) of leases of `leaseMs`,
 * every `renewMs`; the fiber lives in `scope`.
 *
 * @category constructors
 * @since 0.3.0
 */
export const make = (options: {
  readonly extend: RedisScript
  readonly leaseMs: number
  readonly renewMs: number
  readonly scope: Scope.Scope
}): LockRenewal => {
  const { extend, leaseMs, renewMs, scope } = options
  const tick = Duration.millis(Math.max(1, Math.min(renewMs, leaseMs - renewMs) / 2))
  const held = new Set<Held>()
  let running = false

  const renewOne = (lock: Held, now: number) =>
    extend.run([lock.redisKey], [lock.token, leaseMs]).pipe(
      Effect.map((reply) => {
        if (reply === 1) lock.renewedAt = now
        else {
          lock.lost = true
          held.delete(lock)
        }
      }),
      // Redis unreachable: try again next tick; a restart shows up as a lost lock.
      Effect.catch(() => Effect.void)
    )

  const renewDue = Effect.clockWith((clock) => {
    const now = clock.currentTimeMillisUnsafe()
    const due = [...held].filter((lock) => now - lock.renewedAt >= renewMs)
    return Effect.forEach(due, (lock) => renewOne(lock, now), { concurrency: "unbounded", discard: true })
  })

  // Checked and ended in one synchronous step, so a `hold` never finds it about to end without it.
  const loop: Effect.Effect<void> = Effect.suspend(() => {
    if (held.size === 0) {
      running = false
      return Effect.void
    }
    return Effect.andThen(Effect.andThen(Effect.sleep(tick), renewDue), loop)
  })

  const hold = (redisKey: string, token: string) =>
    Effect.flatMap(Clock.currentTimeMillis, (now) => {
      const lock: Held = { redisKey, token, renewedAt: now, lost: false }
      held.add(lock)
      if (running) return Effect.succeed(lock)
      running = true
      return Effect.as(Effect.forkIn(loop, scope), lock)
    })

  return { hold, drop: (lock) => void held.delete(lock), size: () => held.size }
}
