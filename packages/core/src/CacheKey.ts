/**
 * Cache keys: plain strings, or hash-addressed keys (a Redis hash and a field in it).
 *
 * @since 0.1.0
 */
import { Predicate } from "effect"

/**
 * A key that addresses one field of a hash-capable store (for Redis, a field of a
 * hash). Only backends that report `hashKeys: true` accept it.
 *
 * @example
 * ```ts
 * import { CacheKey } from "@dogpile-effect/core"
 * const key = CacheKey.hash("user:12345", "67")
 * ```
 *
 * @since 0.1.0
 */
export interface HashKey {
  readonly _tag: "HashKey"
  readonly hash: string
  readonly field: string
}

/**
 * A cache key: a string, or a {@link HashKey}.
 *
 * @since 0.1.0
 */
export type CacheKey = string | HashKey

/**
 * Builds a hash-addressed key.
 *
 * @example
 * ```ts
 * import { CacheKey } from "@dogpile-effect/core"
 * CacheKey.hash("users", "42") // { _tag: "HashKey", hash: "users", field: "42" }
 * ```
 *
 * @since 0.1.0
 */
export const hash = (hash: string, field: string): HashKey => ({ _tag: "HashKey", hash, field })

/**
 * Whether a key is hash-addressed.
 *
 * @since 0.1.0
 */
export const isHashKey = (key: CacheKey): key is HashKey => Predicate.isObject(key) && key._tag === "HashKey"

/**
 * A stable, unambiguous string form of a key, for logs, error messages, lock
 * names and in-memory maps. Plain keys render as themselves; hash keys as
 * `hash` + U+0000 + `field` (a byte no Redis client puts in a key by accident).
 *
 * @example
 * ```ts
 * import { CacheKey } from "@dogpile-effect/core"
 * CacheKey.render("a") // "a"
 * CacheKey.render(CacheKey.hash("h", "f")) // "h\u0000f"
 * ```
 *
 * @since 0.1.0
 */
export const render = (key: CacheKey): string => (typeof key === "string" ? key : `${key.hash}\u0000${key.field}`)

/**
 * A human-readable form of a key, for error messages: `hash[field]` for hash keys.
 *
 * @since 0.1.0
 */
export const display = (key: CacheKey): string => (typeof key === "string" ? key : `${key.hash}[${key.field}]`)
