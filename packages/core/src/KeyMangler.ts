/**
 * Key manglers: functions applied to every plain key before it reaches the
 * backend (dogpile's `key_mangler`).
 *
 * @since 0.1.0
 */
import { createHash } from "node:crypto"

/**
 * A key mangler.
 *
 * @since 0.1.0
 */
export type KeyMangler = (key: string) => string

/**
 * Replaces every key by its SHA-1 hex digest (40 characters), like dogpile's
 * `sha1_mangle_key`.
 *
 * @example
 * ```ts
 * import { KeyMangler } from "@dogpile-effect/core"
 * KeyMangler.sha1("user:1") // "6f5d…"
 * ```
 *
 * @since 0.1.0
 */
export const sha1: KeyMangler = (key) => createHash("sha1").update(key).digest("hex")

/**
 * Keeps keys up to `maxLength` characters as they are and replaces longer ones
 * by `sha256:` + their SHA-256 hex digest, so short keys stay readable in Redis
 * and long ones have a bounded size.
 *
 * @example
 * ```ts
 * import { KeyMangler } from "@dogpile-effect/core"
 * const mangler = KeyMangler.hashLongKeys(200)
 * mangler("short") // "short"
 * ```
 *
 * @since 0.1.0
 */
export const hashLongKeys = (maxLength: number): KeyMangler => (key) =>
  key.length <= maxLength ? key : `sha256:${createHash("sha256").update(key).digest("hex")}`
