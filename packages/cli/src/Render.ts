/**
 * How `dogpile` prints what it finds: aligned `name: value` lines for people,
 * JSON for scripts.
 *
 * @since 0.1.0
 */
import type { LockStatus, Region } from "@dogpile-effect/core"

/**
 * Aligned `name  value` lines.
 *
 * @example
 * ```ts
 * import { Render } from "@dogpile-effect/cli"
 * Render.lines([["state", "fresh"], ["size", "12 B"]]) // "state  fresh\nsize   12 B"
 * ```
 *
 * @category formatting
 * @since 0.1.0
 */
export const lines = (rows: ReadonlyArray<readonly [string, string]>): string => {
  const width = Math.max(0, ...rows.map(([name]) => name.length))
  return rows.map(([name, value]) => `${name.padEnd(width)}  ${value}`).join("\n")
}

/**
 * An epoch time as ISO 8601 with how far it is from `now`.
 *
 * @example
 * ```ts
 * import { Render } from "@dogpile-effect/cli"
 * Render.time(0, 5_000) // "1970-01-01T00:00:00.000Z (5.0 s ago)"
 * ```
 *
 * @category formatting
 * @since 0.1.0
 */
export const time = (at: number | undefined, now: number): string => {
  if (at === undefined) return "-"
  const delta = at - now
  return `${new Date(at).toISOString()} (${delta <= 0 ? `${duration(-delta)} ago` : `in ${duration(delta)}`})`
}

/**
 * A number of milliseconds, shortly.
 *
 * @example
 * ```ts
 * import { Render } from "@dogpile-effect/cli"
 * Render.duration(90_000) // "1.5 min"
 * ```
 *
 * @category formatting
 * @since 0.1.0
 */
export const duration = (ms: number): string => {
  if (ms < 1_000) return `${Math.round(ms)} ms`
  if (ms < 60_000) return `${(ms / 1_000).toFixed(1)} s`
  if (ms < 3_600_000) return `${(ms / 60_000).toFixed(1)} min`
  if (ms < 86_400_000) return `${(ms / 3_600_000).toFixed(1)} h`
  return `${(ms / 86_400_000).toFixed(1)} d`
}

/**
 * A number of bytes, shortly.
 *
 * @example
 * ```ts
 * import { Render } from "@dogpile-effect/cli"
 * Render.bytes(2048) // "2.0 KiB (2048 B)"
 * ```
 *
 * @category formatting
 * @since 0.1.0
 */
export const bytes = (n: number): string => {
  if (n < 1024) return `${n} B`
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB (${n} B)`
  return `${(n / 1024 / 1024).toFixed(1)} MiB (${n} B)`
}

/**
 * What `dogpile inspect` prints for an entry.
 *
 * @example
 * ```ts
 * import { Render } from "@dogpile-effect/cli"
 * const text = Render.entry({
 *   key: "user:1", backendKey: "users:user:1", state: "fresh", createdAt: 0, expiresAt: undefined,
 *   version: 1, sizeBytes: 40, payloadBytes: 20, tags: ["team:7"], computeMs: 12
 * }, 60_000, 1_000)
 * ```
 *
 * @category formatting
 * @since 0.1.0
 */
export const entry = (info: Region.EntryInfo, redisTtlMs: number, now: number): string =>
  lines([
    ["key", info.key],
    ...(info.backendKey === info.key ? [] : [["redis key", info.backendKey] as const]),
    ["state", info.state],
    ["created at", time(info.createdAt, now)],
    ["expires at", expiry(info, now)],
    ["redis ttl", redisTtlMs >= 0 ? duration(redisTtlMs) : redisTtlMs === -1 ? "none" : "-"],
    ["version", info.version === undefined ? "-" : String(info.version)],
    ["size", `${bytes(info.sizeBytes)}, payload ${bytes(info.payloadBytes)}`],
    ["tags", info.tags.length === 0 ? "-" : info.tags.join(", ")],
    ["creator took", info.computeMs === undefined ? "-" : duration(info.computeMs)]
  ])

const expiry = (info: Region.EntryInfo, now: number): string => {
  if (info.expiresAt !== undefined) return time(info.expiresAt, now)
  if (info.createdAt === undefined) return "- (the envelope stores no creation time: the Redis TTL is the expiry)"
  return "never (give the region's expiration with --expiration)"
}

/**
 * What `dogpile lock` prints.
 *
 * @example
 * ```ts
 * import { Render } from "@dogpile-effect/cli"
 * Render.lock({ _tag: "Held", remainingMs: 2500 }) // "held, lease left 2.5 s"
 * ```
 *
 * @category formatting
 * @since 0.1.0
 */
export const lock = (status: LockStatus): string => {
  switch (status._tag) {
    case "Free":
      return "free"
    case "Unknown":
      return "unknown (the lock cannot tell)"
    case "Held": {
      const left = status.remainingMs === undefined ? "" : `, lease left ${duration(status.remainingMs)}`
      const held = status.heldForMs === undefined ? "" : `, held for ${duration(status.heldForMs)}`
      return `held${left}${held}`
    }
  }
}

/**
 * JSON of a decoded value: byte arrays as arrays of numbers, bigints as
 * strings, `Map`s as objects, `Set`s as arrays.
 *
 * @example
 * ```ts
 * import { Render } from "@dogpile-effect/cli"
 * Render.json({ n: 10n, tags: new Set(["a"]) }) // "{\n  \"n\": \"10\",\n  \"tags\": [\n    \"a\"\n  ]\n}"
 * ```
 *
 * @category formatting
 * @since 0.1.0
 */
export const json = (value: unknown): string => JSON.stringify(value, replacer, 2) ?? "null"

const replacer = (_key: string, value: unknown): unknown => {
  if (typeof value === "bigint") return value.toString()
  if (value instanceof Uint8Array) return Array.from(value)
  if (value instanceof Map) return Object.fromEntries([...value].map(([k, v]) => [String(k), v]))
  if (value instanceof Set) return [...value]
  return value
}
