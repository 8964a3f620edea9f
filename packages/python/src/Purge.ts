/**
 * A hard invalidation that stock Python services see. dogpile.cache keeps
 * invalidation per process, so a Python region without the
 * `dogpile-effect-invalidation` strategy ignores dogpile-effect's shared
 * marks. Removing the region's keys makes every side miss: {@link hardInvalidate}
 * sets the region's hard mark (for TypeScript regions and Python regions with
 * the strategy), then deletes the keys matching the region's patterns, in
 * `SCAN` steps of `batch` keys, each step one `UNLINK` (freed in the
 * background), and at most `maxKeys` keys in all.
 *
 * Cost: `SCAN` walks the whole database, one round trip per `batch` slots
 * visited (a database of N keys takes about N / `batch` round trips, whatever
 * the number of matches); Redis does O(`batch`) work per step, so other
 * clients are never blocked for long. Buckets (hashes) go whole.
 *
 * @since 0.1.0
 */
import { type CacheError, InvalidOptionError, Options, type Region } from "@dogpile-effect/core"
import { RedisClient } from "@dogpile-effect/redis"
import { Effect } from "effect"

const COMPONENT = "Purge.hardInvalidate"

/**
 * Options of {@link hardInvalidate}.
 *
 * @example
 * ```ts
 * import type { Purge } from "@dogpile-effect/python"
 * const options: Purge.PurgeOptions = { match: ["user:*", "user-posts:*"], batch: 500 }
 * ```
 *
 * @category models
 * @since 0.1.0
 */
export interface PurgeOptions {
  /**
   * `SCAN MATCH` patterns covering the region's keys and only them (plain
   * keys and bucket names), e.g. `["user:*"]`. At least one; `"*"` alone
   * (the whole database) is refused.
   */
  readonly match: ReadonlyArray<string>
  /** The `SCAN COUNT` hint and the most keys one `UNLINK` removes. Default 500, 1 to 10,000. */
  readonly batch?: number | undefined
  /** The most keys removed in all; the rest are left (and reported). Default 1,000,000. */
  readonly maxKeys?: number | undefined
}

/**
 * What {@link hardInvalidate} did: the keys removed, the `SCAN` round trips,
 * and whether every matching key was removed (`false` when `maxKeys` stopped
 * it).
 *
 * @example
 * ```ts
 * import type { Purge } from "@dogpile-effect/python"
 * const done: Purge.PurgeResult = { removed: 120, steps: 3, complete: true }
 * ```
 *
 * @category models
 * @since 0.1.0
 */
export interface PurgeResult {
  readonly removed: number
  readonly steps: number
  readonly complete: boolean
}

const checkOptions = (options: PurgeOptions) =>
  Effect.gen(function*() {
    const match = Array.isArray(options.match) ? options.match : []
    yield* Options.reject(COMPONENT, "match", match.length === 0, "needs at least one SCAN MATCH pattern")
    for (const pattern of match) {
      yield* Options.reject(
        COMPONENT,
        "match",
        typeof pattern !== "string" || pattern.length === 0 || /^\*+$/.test(pattern),
        `must be non-empty patterns narrower than "*", got ${JSON.stringify(pattern)}`
      )
    }
    const batch = yield* Options.integer(COMPONENT, "batch", options.batch, 500, { min: 1, max: 10_000 })
    const maxKeys = yield* Options.integer(COMPONENT, "maxKeys", options.maxKeys, 1_000_000, { min: 1 })
    return { match, batch, maxKeys }
  })

interface Progress {
  removed: number
  steps: number
}

/** Removes the keys matching `pattern`, one SCAN step at a time, until done or `budget` keys are gone. */
const purgePattern = (redis: RedisClient.RedisClient["Service"], pattern: string, batch: number, budget: number, progress: Progress) =>
  Effect.gen(function*() {
    let cursor = "0"
    do {
      const [next, found] = yield* redis.use("purge scan", (c) => c.scan(cursor, "MATCH", pattern, "COUNT", batch))
      progress.steps++
      cursor = next
      const keys = found.slice(0, budget - progress.removed)
      for (let at = 0; at < keys.length; at += batch) {
        const chunk = keys.slice(at, at + batch)
        progress.removed += yield* redis.use("purge unlink", (c) => c.unlink(...chunk))
      }
      if (keys.length < found.length) return false
    } while (cursor !== "0")
    return true
  })

/**
 * Hard-invalidates `region` on every side: sets its hard mark, then removes
 * the keys matching `options.match` (see the module comment for the cost).
 * A Redis Cluster is refused (`InvalidOptionError`): `SCAN` there sees one
 * node.
 *
 * @example
 * ```ts
 * import type { Region } from "@dogpile-effect/core"
 * import { Purge } from "@dogpile-effect/python"
 * const wipeUsers = (users: Region.Region<unknown>) => Purge.hardInvalidate(users, { match: ["user:*"] })
 * ```
 *
 * @category invalidation
 * @since 0.1.0
 */
export const hardInvalidate = Effect.fn("Purge.hardInvalidate")(function*<A>(
  region: Region.Region<A>,
  options: PurgeOptions
): Effect.fn.Return<PurgeResult, CacheError | InvalidOptionError, RedisClient.RedisClient> {
  const { batch, match, maxKeys } = yield* checkOptions(options)
  const redis = yield* RedisClient.RedisClient
  if (redis.isCluster) {
    return yield* new InvalidOptionError({ component: COMPONENT, option: "client", reason: "a Redis Cluster is not supported" })
  }
  yield* region.invalidate({ hard: true })
  const progress: Progress = { removed: 0, steps: 0 }
  let complete = true
  for (const pattern of match) {
    if (!(yield* purgePattern(redis, pattern, batch, maxKeys, progress))) {
      complete = false
      break
    }
  }
  return { removed: progress.removed, steps: progress.steps, complete }
})
