/**
 * A region's store TTL as Redis takes it (`SET … PX`), for every backend
 * over any client.
 *
 * @since 0.1.0
 */
import { Duration } from "effect"

/**
 * Milliseconds for `PX` (rounded up, at least 1), or `undefined` for no TTL
 * (absent or infinite).
 *
 * @example
 * ```ts
 * import { StoreTtl } from "@dogpile-effect/redis/lock-kit"
 * import { Duration } from "effect"
 * StoreTtl.pxOf(Duration.seconds(1.5)) // 1500
 * StoreTtl.pxOf(Duration.infinity) // undefined
 * ```
 *
 * @since 0.1.0
 */
export const pxOf = (ttl: Duration.Duration | undefined): number | undefined => {
  if (ttl === undefined || !Duration.isFinite(ttl)) return undefined
  return Math.max(1, Math.ceil(Duration.toMillis(ttl)))
}
