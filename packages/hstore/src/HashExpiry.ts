/**
 * Whole-bucket expiry: when a Redis hash (a bucket of entries) gets its TTL.
 *
 * @since 0.1.0
 */
import { InvalidOptionError, Options } from "@dogpile-effect/core"
import { Effect } from "effect"
import type { BucketTtl } from "./HashScripts.ts"

/**
 * The hash expiry policy of a `HashBackend`:
 *
 * - `EntryTtl` (the default): every write extends the bucket's TTL to at
 *   least the longest store TTL among the entries it writes (the region's
 *   `ttl` hint), never shortens it. A bucket therefore never expires before
 *   the store TTL of an entry written to it, and outlives its last write by at
 *   most the longest entry TTL. A write with an entry that has no TTL (a
 *   region with `storeTtl: "never"`) removes the bucket's TTL; keep such
 *   regions in buckets of their own.
 * - `Never`: buckets never get a TTL (an explicit choice, for servers with an
 *   eviction policy); entries go only by deletes, per-entry expiry or per-field
 *   TTL.
 * - `OnCreate`: the bucket gets `ttl` when a write finds it without a TTL —
 *   that is on creation — and is never extended by later writes. Bounds the
 *   life of every entry of the bucket, whatever its store TTL.
 * - `OnEveryWrite`: every write resets the bucket's TTL to `ttl`, whatever the
 *   entries' store TTL. The bucket lives while it is written to.
 *
 * The TTL is set by the same Lua script that writes the fields, so it is
 * atomic with the write: no process can observe (or crash between) the HSET
 * and the PEXPIRE, and there is no EXISTS-then-EXPIRE race between writers.
 * `ttl` is validated when the Layer is built (`InvalidOptionError`).
 *
 * @example
 * ```ts
 * import { HashExpiry } from "@dogpile-effect/hstore"
 * const policy: HashExpiry.HashExpiry = HashExpiry.onCreate("1 day")
 * ```
 *
 * @category models
 * @since 0.1.0
 */
export type HashExpiry =
  | { readonly _tag: "EntryTtl" }
  | { readonly _tag: "Never" }
  | { readonly _tag: "OnCreate"; readonly ttl: Options.DurationOption }
  | { readonly _tag: "OnEveryWrite"; readonly ttl: Options.DurationOption }

/**
 * Buckets follow the store TTL of their entries (the default): see
 * {@link HashExpiry}.
 *
 * @example
 * ```ts
 * import { HashBackend, HashExpiry } from "@dogpile-effect/hstore"
 * const layer = HashBackend.layer({ hashExpiry: HashExpiry.entryTtl })
 * ```
 *
 * @category constructors
 * @since 0.1.0
 */
export const entryTtl: HashExpiry = { _tag: "EntryTtl" }

/**
 * Buckets never get a Redis TTL (for servers with an eviction policy).
 *
 * @example
 * ```ts
 * import { HashBackend, HashExpiry } from "@dogpile-effect/hstore"
 * const layer = HashBackend.layer({ hashExpiry: HashExpiry.never })
 * ```
 *
 * @category constructors
 * @since 0.1.0
 */
export const never: HashExpiry = { _tag: "Never" }

/**
 * The bucket expires `ttl` after the write that created it. `ttl` must be a
 * finite duration of at least 1 ms; it is checked when the Layer is built.
 *
 * @example
 * ```ts
 * import { HashBackend, HashExpiry } from "@dogpile-effect/hstore"
 * const layer = HashBackend.layer({ hashExpiry: HashExpiry.onCreate("1 hour") })
 * ```
 *
 * @category constructors
 * @since 0.1.0
 */
export const onCreate = (ttl: Options.DurationOption): HashExpiry => ({ _tag: "OnCreate", ttl })

/**
 * The bucket expires `ttl` after its latest write. `ttl` must be a finite
 * duration of at least 1 ms; it is checked when the Layer is built.
 *
 * @example
 * ```ts
 * import { HashBackend, HashExpiry } from "@dogpile-effect/hstore"
 * const layer = HashBackend.layer({ hashExpiry: HashExpiry.onEveryWrite("1 hour") })
 * ```
 *
 * @category constructors
 * @since 0.1.0
 */
export const onEveryWrite = (ttl: Options.DurationOption): HashExpiry => ({ _tag: "OnEveryWrite", ttl })

const COMPONENT = "HashBackend"

const fixed = (mode: "onCreate" | "onEveryWrite", ttl: Options.DurationOption) =>
  Effect.map(
    Options.millis(COMPONENT, `hashExpiry (HashExpiry.${mode}) ttl`, ttl),
    (ms): BucketTtl => ({ mode, ms: Math.max(1, Math.ceil(ms)) })
  )

/**
 * Validates a policy: the bucket TTL mode and milliseconds the write script
 * applies (`ms` is `undefined` for `EntryTtl`, which takes it from each write,
 * and for `Never`).
 *
 * @example
 * ```ts
 * import { HashExpiry } from "@dogpile-effect/hstore"
 * HashExpiry.resolve(HashExpiry.onCreate("1 minute")) // Effect<{ mode: "onCreate", ms: 60000 }>
 * HashExpiry.resolve(HashExpiry.onCreate(-1)) // fails with InvalidOptionError
 * ```
 *
 * @category constructors
 * @since 0.1.0
 */
export const resolve = (policy: HashExpiry | undefined): Effect.Effect<BucketTtl, InvalidOptionError> => {
  switch (policy?._tag) {
    case undefined:
    case "EntryTtl":
      return Effect.succeed({ mode: "entries", ms: undefined })
    case "Never":
      return Effect.succeed({ mode: "never", ms: undefined })
    case "OnCreate":
      return fixed("onCreate", policy.ttl)
    case "OnEveryWrite":
      return fixed("onEveryWrite", policy.ttl)
    default:
      return Effect.fail(
        new InvalidOptionError({
          component: COMPONENT,
          option: "hashExpiry",
          reason: "must be HashExpiry.entryTtl, HashExpiry.never, HashExpiry.onCreate(ttl) or HashExpiry.onEveryWrite(ttl)"
        })
      )
  }
}
