/**
 * Fault injection for tests: Layers that make the cache in context slow,
 * failing, silent or lossy, so that an application's tests can check what it
 * does when its cache fails (falls back to the source, serves stale values,
 * surfaces typed errors). Rates draw from the calling fiber's `Random`
 * (reproducible with `Random.withSeed`); delays and windows of time use
 * `Clock` (driven by `TestClock`). Every option is validated when the Layer
 * is built. Guide: `docs/testing-with-faults.md`.
 *
 * @example
 * ```ts
 * import { Faults, Lock, MemoryBackend } from "@dogpile-effect/core"
 * import { Layer } from "effect"
 *
 * const FailingCache = Layer.mergeAll(
 *   Faults.backend({ all: { fail: 1 } }).pipe(Layer.provide(MemoryBackend.layer())),
 *   Lock.layerLocal
 * )
 * ```
 *
 * @since 0.1.0
 */
export { backend, type BackendFaultsConfig, wrapBackend } from "./BackendFaults.ts"
export type { FaultRule, FaultWindow, Rules, WriteFaultRule } from "./FaultRules.ts"
export { type LeaseFaultRule, lock, type LockFaultsConfig, type WaitFaultRule, wrapLock } from "./LockFaults.ts"
