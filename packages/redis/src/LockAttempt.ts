/**
 * One attempt to take a Redis lock, whatever the client: the local stage
 * first (this process's per-key lock, so a process has at most one attempt
 * per key in flight), then the Redis stage, in a child scope that closes
 * unless the lock is taken. A Redis stage that fails or is interrupted with
 * a `SET` of unknown outcome releases that token before it returns.
 *
 * @since 0.1.0
 */
import { type BackendError, CacheKey, type LockLease, LockTimeoutError } from "@dogpile-effect/core"
import { Clock, type Duration, Effect, Exit, Option, Scope } from "effect"
import * as LockToken from "./LockToken.ts"
import { toMillis } from "./LockSettings.ts"

/**
 * A lock attempt whose outcome is not known yet: sent, but neither "taken"
 * nor "not taken" has come back (a timeout, a dropped connection, an
 * interruption); its token must then be released.
 *
 * @example
 * ```ts
 * import type { LockAttempt } from "@dogpile-effect/redis/lock-kit"
 * const attempt: LockAttempt.Attempt = { uncertain: false }
 * ```
 *
 * @category models
 * @since 0.1.0
 */
export interface Attempt {
  uncertain: boolean
}

/**
 * The two stages of one attempt and what the lock service does around them.
 *
 * @example
 * ```ts
 * import type { LockAttempt } from "@dogpile-effect/redis/lock-kit"
 * type Remote = LockAttempt.Stages<never, never, never>["remote"]
 * ```
 *
 * @category models
 * @since 0.1.0
 */
export interface Stages<E1, E2, E3> {
  /** This process's per-key lock (`makeLocal`): none when not taken. */
  readonly local: Effect.Effect<Option.Option<LockLease>, E1, Scope.Scope>
  /** The Redis lock key of the cache key (asked once the local stage has the key). */
  readonly redisKey: () => string
  /** The Redis stage: whether `token` took the lock on `redisKey`; it marks `attempt` uncertain while a `SET` is out. */
  readonly remote: (redisKey: string, token: string, attempt: Attempt) => Effect.Effect<boolean, E2>
  /** The token-checked release of a lock the Redis stage may have taken. */
  readonly settle: (redisKey: string, token: string) => Effect.Effect<void>
  /** Registers renewal and release of a lock just taken in `scope`, and builds its lease. */
  readonly hold: (redisKey: string, token: string, scope: Scope.Scope) => Effect.Effect<LockLease, E3>
}

/**
 * Runs both stages in a child of the current scope: the lease when the lock
 * was taken, else none (and the child scope closed, releasing the local lock).
 *
 * @example
 * ```ts
 * import { LockAttempt } from "@dogpile-effect/redis/lock-kit"
 * const tryTake = <E1, E2, E3>(stages: LockAttempt.Stages<E1, E2, E3>) => LockAttempt.staged(stages)
 * ```
 *
 * @category constructors
 * @since 0.1.0
 */
export const staged = <E1, E2, E3>(
  stages: Stages<E1, E2, E3>
): Effect.Effect<Option.Option<LockLease>, E1 | E2 | E3, Scope.Scope> =>
  Effect.uninterruptibleMask((restore) =>
    Effect.flatMap(Effect.scope, (parent) => {
      const scope = Scope.forkUnsafe(parent, "sequential")
      const abandon = Scope.close(scope, Exit.void)
      return Effect.flatMap(
        restore(Scope.provide(stages.local, scope)).pipe(Effect.onError(() => abandon)),
        (localLease) => Option.isNone(localLease) ? Effect.as(abandon, noLease) : remoteStage(stages, restore, scope, abandon)
      )
    })
  )

const noLease = Option.none<LockLease>()

/**
 * The Redis stage of {@link staged}, once the local stage has the key: the lease when taken (registered
 * in `scope`), else none and `scope` closed (`abandon`).
 */
const remoteStage = <E1, E2, E3>(
  stages: Stages<E1, E2, E3>,
  restore: <X, E, R>(effect: Effect.Effect<X, E, R>) => Effect.Effect<X, E, R>,
  scope: Scope.Closeable,
  abandon: Effect.Effect<void>
): Effect.Effect<Option.Option<LockLease>, E2 | E3> => {
  const redisKey = stages.redisKey()
  const token = LockToken.next()
  const attempt: Attempt = { uncertain: false }
  return Effect.flatMap(
    restore(stages.remote(redisKey, token, attempt)).pipe(
      Effect.onError(() => attempt.uncertain ? Effect.andThen(stages.settle(redisKey, token), abandon) : abandon)
    ),
    (taken) => taken ? Effect.map(stages.hold(redisKey, token, scope), Option.some) : Effect.as(abandon, noLease)
  )
}

/**
 * A command cut short by the caller's own deadline is that deadline passing
 * (`timedOut()`), not a Redis failure.
 *
 * @example
 * ```ts
 * import { CacheKey, LockTimeoutError } from "@dogpile-effect/core"
 * import { LockAttempt } from "@dogpile-effect/redis/lock-kit"
 * const orTimedOut = LockAttempt.deadlineOr(Date.now() + 1000, () =>
 *   new LockTimeoutError({ key: CacheKey.display("user:42"), timeoutMillis: 1000 }))
 * ```
 *
 * @since 0.1.0
 */
export const deadlineOr = (deadline: number, timedOut: () => LockTimeoutError) => (error: BackendError) =>
  Effect.flatMap(Clock.currentTimeMillis, (now): Effect.Effect<never, LockTimeoutError | BackendError> =>
    Effect.fail(now >= deadline ? timedOut() : error))

/**
 * A caller's deadline (`Lock.acquire`, `Lock.awaitRelease`): its timeout in
 * milliseconds, when it passes (the clock's epoch ms), the error it fails
 * with, and {@link deadlineOr} for it.
 *
 * @example
 * ```ts
 * import type { LockAttempt } from "@dogpile-effect/redis/lock-kit"
 * const left = (d: LockAttempt.Deadline, now: number) => d.deadline - now
 * ```
 *
 * @category models
 * @since 0.1.0
 */
export interface Deadline {
  readonly timeoutMs: number
  readonly deadline: number
  readonly timedOut: () => LockTimeoutError
  readonly orTimedOut: (error: BackendError) => Effect.Effect<never, LockTimeoutError | BackendError>
}

/**
 * The deadline of a wait on `key` of at most `timeout`, from now.
 *
 * @example
 * ```ts
 * import { LockAttempt } from "@dogpile-effect/redis/lock-kit"
 * const deadline = LockAttempt.deadlineOf("user:42", "5 seconds")
 * ```
 *
 * @category constructors
 * @since 0.1.0
 */
export const deadlineOf = (key: CacheKey.CacheKey, timeout: Duration.Input): Effect.Effect<Deadline> =>
  Effect.map(Clock.currentTimeMillis, (now): Deadline => {
    const timeoutMs = toMillis(timeout)
    const deadline = now + timeoutMs
    const timedOut = () => new LockTimeoutError({ key: CacheKey.display(key), timeoutMillis: timeoutMs })
    return { timeoutMs, deadline, timedOut, orTimedOut: deadlineOr(deadline, timedOut) }
  })
