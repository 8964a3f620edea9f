/**
 * Whole-bucket expiry: when a Redis hash (a bucket of entries) gets its TTL —
 * the seed's `redis_expiration_time_hash`.
 *
 * @since 0.1.0
 */
import { Duration } from "effect"

/**
 * The hash expiry policy of a {@link HashBackend}:
 *
 * - `Never`: buckets never expire (entries expire logically through their
 *   envelope, and are removed by deletes or the expired-entry sweeper).
 * - `OnCreate`: the bucket gets `ttl` when a write finds it without a TTL —
 *   that is on creation, and never extended by later writes (Redis
 *   `PEXPIRE … NX`). Bounds the life of every entry of the bucket.
 * - `OnEveryWrite`: every write resets the bucket's TTL to `ttl`. The bucket
 *   lives while it is written to.
 *
 * The TTL is set by the same Lua script that writes the fields, so it is
 * atomic with the write: no process can observe (or crash between) the HSET
 * and the PEXPIRE, and there is no EXISTS-then-EXPIRE race between writers.
 *
 * @since 0.1.0
 */
export type HashExpiry =
  | { readonly _tag: "Never" }
  | { readonly _tag: "OnCreate"; readonly ttl: Duration.Duration }
  | { readonly _tag: "OnEveryWrite"; readonly ttl: Duration.Duration }

/**
 * Buckets never expire (the default).
 *
 * @example
 * ```ts
 * import { HashBackend, HashExpiry } from "@dogpile-effect/hstore"
 * const layer = HashBackend.layer({ hashExpiry: HashExpiry.never })
 * ```
 *
 * @since 0.1.0
 */
export const never: HashExpiry = { _tag: "Never" }

const positive = (ttl: Duration.Input, what: string): Duration.Duration => {
  const duration = Duration.fromInputUnsafe(ttl)
  const ms = Duration.toMillis(duration)
  if (!Number.isFinite(ms) || ms < 1) throw new RangeError(`HashExpiry.${what}: ttl must be a finite duration of at least 1 ms`)
  return duration
}

/**
 * The bucket expires `ttl` after the write that created it.
 *
 * @example
 * ```ts
 * import { HashBackend, HashExpiry } from "@dogpile-effect/hstore"
 * const layer = HashBackend.layer({ hashExpiry: HashExpiry.onCreate("1 hour") })
 * ```
 *
 * @since 0.1.0
 */
export const onCreate = (ttl: Duration.Input): HashExpiry => ({ _tag: "OnCreate", ttl: positive(ttl, "onCreate") })

/**
 * The bucket expires `ttl` after its latest write.
 *
 * @example
 * ```ts
 * import { HashBackend, HashExpiry } from "@dogpile-effect/hstore"
 * const layer = HashBackend.layer({ hashExpiry: HashExpiry.onEveryWrite("1 hour") })
 * ```
 *
 * @since 0.1.0
 */
export const onEveryWrite = (ttl: Duration.Input): HashExpiry => ({
  _tag: "OnEveryWrite",
  ttl: positive(ttl, "onEveryWrite")
})

/** The script arguments of a policy: mode (`0` never, `1` on create, `2` every write) and milliseconds. */
export const scriptArgs = (policy: HashExpiry): readonly [mode: string, ms: string] => {
  switch (policy._tag) {
    case "Never":
      return ["0", "0"]
    case "OnCreate":
      return ["1", String(Math.ceil(Duration.toMillis(policy.ttl)))]
    case "OnEveryWrite":
      return ["2", String(Math.ceil(Duration.toMillis(policy.ttl)))]
  }
}
