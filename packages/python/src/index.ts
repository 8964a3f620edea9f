/**
 * @dogpile-effect/python: share one Redis cache with Python dogpile.cache
 * services. One preset per Python setup ({@link Presets}) and the lock key
 * naming each Python backend uses ({@link LockNaming}).
 *
 * @example
 * ```ts
 * import { Presets } from "@dogpile-effect/python"
 * const Shared = Presets.dogpileRedis({ format: "json" })
 * ```
 *
 * @since 0.1.0
 */
export * as LockNaming from "./LockNaming.ts"
export * as Presets from "./Presets.ts"
export * as PythonStorage from "./PythonStorage.ts"
export * as PickleGuard from "./PickleGuard.ts"
export * as Purge from "./Purge.ts"
