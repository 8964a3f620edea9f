/**
 * The locked miss of one key through a lock fused with its backend
 * (`Lock.lockedMiss`): one round trip checks that the value is still absent
 * and takes the lock (no read again), and the lease's store of the created
 * value releases the lock and wakes the waiters in the same round trip. A
 * missing key then costs its read, this attempt and the store: three round
 * trips instead of five.
 *
 * @internal
 */
import { Effect, Scope } from "effect"
import type { CacheError } from "../CacheError.ts"
import type { LockedMiss, LockLease } from "../Lock.ts"
import type { Target } from "./keys.ts"

/**
 * What the fused attempt decided for one missing key: created (its value is
 * handed to `created`), held elsewhere (`"busy"`), or `"fallback"` (the value
 * appeared, or the key cannot go this way): the caller takes the usual path.
 */
export type Outcome = "created" | "busy" | "fallback"

/**
 * Tries `target`'s lock through `locked`; when taken, runs `create` with the
 * lease (the creator, the store, the lease's confirmation) in the lock's scope.
 */
export const attempt = <E, R>(
  locked: LockedMiss,
  target: Target,
  create: (lease: LockLease) => Effect.Effect<void, E | CacheError, R>
): Effect.Effect<Outcome, E | CacheError, R> =>
  Effect.acquireUseRelease(
    Scope.make("sequential"),
    (scope) =>
      Effect.flatMap(Scope.provide(locked.tryAbsent(target.full), scope), (found): Effect.Effect<Outcome, E | CacheError, R> => {
        switch (found._tag) {
          case "Taken":
            return Effect.as(create(found.lease), "created")
          case "Held":
            return Effect.succeed("busy")
          case "Fallback":
            return Effect.succeed("fallback")
        }
      }),
    (scope, exit) => Scope.close(scope, exit)
  )
