/**
 * The locked miss of one key through a lock fused with its backend
 * (`Lock.lockedMiss`): one round trip checks that the value is still absent
 * and takes the lock (no read again), and the lease's store of the created
 * value releases the lock and wakes the waiters in the same round trip. A
 * missing key then costs its read, this attempt and the store: three round
 * trips instead of five. The lock runs the creation under the lock itself and
 * releases it after: no scope is made for it.
 *
 * @internal
 */
import type { Effect } from "effect"
import type { CacheError } from "../CacheError.ts"
import type { LockedMiss, LockedOutcome, LockLease } from "../Lock.ts"
import type { Target } from "./keys.ts"

/**
 * What the fused attempt decided for one missing key: created (its value is
 * handed to `created`), held elsewhere (`"held"`), or `"fallback"` (the value
 * appeared, or the key cannot go this way): the caller takes the usual path.
 */
export type Outcome = LockedOutcome

/**
 * Tries `target`'s lock through `locked`; when taken, runs `create` with the
 * lease (the creator, the store, the lease's confirmation) under the lock.
 */
export const attempt = <E, R>(
  locked: LockedMiss,
  target: Target,
  create: (lease: LockLease) => Effect.Effect<void, E | CacheError, R>
): Effect.Effect<Outcome, E | CacheError, R> => locked.tryAbsent(target.full, create)
