/**
 * What the connected Redis server supports, detected once when the hash
 * backend is built.
 *
 * @since 0.1.0
 */
import type { RedisClient } from "@dogpile-effect/redis"
import { Effect } from "effect"

/**
 * Server facts the hash backend adapts to.
 *
 * @example
 * ```ts
 * import { HashBackend } from "@dogpile-effect/hstore"
 * import { Effect } from "effect"
 * const fieldTtl = Effect.map(HashBackend.HashStore, (store) => store.features.fieldTtl)
 * ```
 *
 * @category models
 * @since 0.1.0
 */
export interface ServerFeatures {
  /** `redis_version` from `INFO server` (Valkey reports a Redis-compatible one), or `"unknown"`. */
  readonly version: string
  /** `hash-max-listpack-value` (or `hash-max-ziplist-value`); 64 when CONFIG is unavailable. */
  readonly listpackValueLimit: number
  /** `hash-max-listpack-entries` (or `hash-max-ziplist-entries`); 128 when CONFIG is unavailable. */
  readonly listpackEntriesLimit: number
  /** `EXPIRE … NX` (Redis ≥ 7.0). */
  readonly expireNx: boolean
  /** Per-field hash TTL: `HPEXPIRE` exists (Redis ≥ 7.4, Valkey ≥ 9.0), per `COMMAND INFO`. */
  readonly fieldTtl: boolean
}

/**
 * Defaults when nothing can be read: the most conservative assumptions.
 *
 * @example
 * ```ts
 * import * as ServerFeatures from "./ServerFeatures.ts" // internal to @dogpile-effect/hstore
 * ServerFeatures.fallback.listpackValueLimit // 64
 * ```
 *
 * @category constants
 * @since 0.1.0
 */
export const fallback: ServerFeatures = {
  version: "unknown",
  listpackValueLimit: 64,
  listpackEntriesLimit: 128,
  expireNx: false,
  fieldTtl: false
}

/** Parses the reply of `CONFIG GET name` (a flat name/value array, or a map under RESP3). */
const configValue = (reply: unknown, names: ReadonlyArray<string>): number | undefined => {
  const pairs: Array<[string, unknown]> = []
  if (Array.isArray(reply)) {
    for (let i = 0; i + 1 < reply.length; i += 2) pairs.push([String(reply[i]), reply[i + 1]])
  } else if (reply !== null && typeof reply === "object") {
    for (const [k, v] of Object.entries(reply)) pairs.push([k, v])
  }
  for (const name of names) {
    const found = pairs.find(([k]) => k === name)
    const value = found === undefined ? Number.NaN : Number(String(found[1]))
    if (Number.isInteger(value) && value > 0) return value
  }
  return undefined
}

/**
 * Detects the server's features: `INFO server`, `CONFIG GET hash-max-*` and
 * `COMMAND INFO HPEXPIRE`. Each probe that fails (e.g. CONFIG renamed or
 * forbidden by ACL) falls back to {@link fallback}; detection never fails.
 *
 * @example
 * ```ts
 * import * as ServerFeatures from "./ServerFeatures.ts" // internal to @dogpile-effect/hstore
 * import { RedisClient } from "@dogpile-effect/redis"
 * import { Effect } from "effect"
 * const features = Effect.flatMap(RedisClient.RedisClient, ServerFeatures.detect)
 * ```
 *
 * @category constructors
 * @since 0.1.0
 */
export const detect = (redis: RedisClient.RedisClient["Service"]): Effect.Effect<ServerFeatures> =>
  Effect.gen(function*() {
    const info = yield* redis.use("info", (c) => c.info("server")).pipe(Effect.orElseSucceed(() => ""))
    const version = /redis_version:([^\r\n]+)/.exec(info)?.[1]?.trim() ?? fallback.version
    const major = Number(version.split(".")[0])
    const config = yield* redis.use("config", (c) => c.call("CONFIG", "GET", "hash-max-*")).pipe(
      Effect.orElseSucceed(() => [])
    )
    const command = yield* redis.use("command", (c) => c.call("COMMAND", "INFO", "HPEXPIRE")).pipe(
      Effect.orElseSucceed(() => [])
    )
    const fieldTtl = Array.isArray(command) && command.length > 0 && command[0] !== null && command[0] !== undefined
    return {
      version,
      listpackValueLimit: configValue(config, ["hash-max-listpack-value", "hash-max-ziplist-value"]) ??
        fallback.listpackValueLimit,
      listpackEntriesLimit: configValue(config, ["hash-max-listpack-entries", "hash-max-ziplist-entries"]) ??
        fallback.listpackEntriesLimit,
      expireNx: Number.isInteger(major) && major >= 7,
      fieldTtl
    }
  })
