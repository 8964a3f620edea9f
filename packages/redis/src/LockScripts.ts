/**
 * The Lua scripts of the Redis lock (their texts are in `LockLua.ts`, shared
 * with every client), and what their answers mean. Each touches only the
 * keys it is given.
 *
 * @since 0.1.0
 */
import type * as LockedStore from "./LockedStore.ts"
import type * as LockWaiters from "./LockWaiters.ts"

export type { Attempt } from "./LockAttempt.ts"

/**
 * A lock taken through the backend fusion: its value's key, and where its
 * release waits for the store.
 *
 * @category models
 * @since 0.1.0
 */
export interface Fused {
  readonly shared: LockedStore.Shared
  readonly valueKey: string
}

export { EXTEND, RELEASE, TAKEN, TRY } from "./LockLua.ts"

/** A check that found the lock taken or free. */
export const done: LockWaiters.Check = { _tag: "Done" }

/** A held lock whose key's PTTL is `pttl` (-1: no TTL, its lease unknown; -2: gone, i.e. free). */
export const heldFor = (pttl: unknown): LockWaiters.Check =>
  pttl === -2
    ? done
    : { _tag: "Held", leaseMs: typeof pttl === "number" && pttl >= 0 ? pttl : undefined }

