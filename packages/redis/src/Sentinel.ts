/**
 * Redis Sentinel settings of `RedisClient` options: which Sentinels to
 * ask for the primary of which master group.
 *
 * @since 0.1.0
 */
import type { Redacted } from "effect"
import type { RedisNode } from "./RedisClient.ts"

/**
 * Redis Sentinel: the Sentinels to ask for the current primary of the master
 * group `name`. The client connects to the primary they name, and when that
 * primary fails, asks them again and follows the failover (the same Layer keeps
 * serving once a replica is promoted). `password`/`username` are the
 * Sentinels' own; the data nodes' come from the URL or the top-level options.
 *
 * @example
 * ```ts
 * import { RedisClient } from "@dogpile-effect/redis"
 * import { Redacted } from "effect"
 * const RedisLive = RedisClient.layer({
 *   sentinel: { name: "mymaster", nodes: [{ host: "10.0.0.1", port: 26379 }, { host: "10.0.0.2", port: 26379 }] },
 *   password: Redacted.make("data-node-secret")
 * })
 * ```
 *
 * @category models
 * @since 0.1.0
 */
export interface SentinelOptions {
  /** The master group's name (`sentinel monitor <name> …`). */
  readonly name: string
  readonly nodes: ReadonlyArray<RedisNode>
  readonly username?: string | undefined
  /** The Sentinels' password (`requirepass` of the Sentinels). Never logged. */
  readonly password?: Redacted.Redacted<string> | undefined
}
