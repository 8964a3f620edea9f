/**
 * What changes a region without reading it: `set`, `setMany`, `delete`,
 * `deleteMany`, `invalidate` and `invalidateTags`, each through the gate.
 *
 * @internal
 */
import { Effect } from "effect"
import type * as CacheKey from "../CacheKey.ts"
import { type CacheError, InvalidKeyError } from "../CacheError.ts"
import type { SetOptions } from "../Region.ts"
import * as Gate from "./gate.ts"
import * as Keys from "./keys.ts"
import { type RegionRuntime, withTarget } from "./regionRuntime.ts"
import * as Settings from "./settings.ts"

/** `Region.setMany`. */
export const setMany = <A>(rt: RegionRuntime<A>, entries: ReadonlyArray<readonly [CacheKey.CacheKey, A]>, call?: SetOptions) =>
  Gate.open(rt.gate, "Region.setMany", () => rt.writes.setMany(entries, call), entries)

/** `Region.set`. */
export const set = <A>(rt: RegionRuntime<A>, key: CacheKey.CacheKey, value: A, call?: SetOptions) =>
  Gate.open(rt.gate, "Region.set", () => rt.writes.setMany([[key, value]], call), key)

/** `Region.deleteMany`. */
export const deleteMany = <A>(rt: RegionRuntime<A>, keys: ReadonlyArray<CacheKey.CacheKey>) =>
  Gate.open(rt.gate, "Region.deleteMany", (): Effect.Effect<void, CacheError> => {
    const targets = Keys.resolveAllWith(rt.resolveKey, keys)
    if (targets instanceof InvalidKeyError) return Effect.fail(targets)
    if (targets.length === 0) return Effect.void
    return rt.backend.deleteMany(targets.map((t) => t.full))
  }, keys)

/** `Region.delete`. */
export const del = <A>(rt: RegionRuntime<A>, key: CacheKey.CacheKey) =>
  withTarget(rt, "Region.delete", key, (target) => rt.backend.delete(target.full))

/** `Region.invalidate`: the region's mark, then its event. */
export const invalidate = <A>(rt: RegionRuntime<A>, call?: { readonly hard?: boolean }) =>
  Gate.open(rt.gate, "Region.invalidate", () =>
    Effect.andThen(
      rt.invalidation.invalidate({ hard: call?.hard === true }),
      rt.hub.emit(() => ({ _tag: "Invalidated", region: rt.name, hard: call?.hard === true }))
    ))

/** `Region.invalidateTags`: the tags' marks (validated tags; none is a no-op), then the event. */
export const invalidateTags = <A>(rt: RegionRuntime<A>, tags: ReadonlyArray<string>, call?: { readonly hard?: boolean }) =>
  Gate.open(rt.gate, "Region.invalidateTags", () =>
    Effect.flatMap(Settings.validateTags(rt.name, tags), (valid) =>
      valid === undefined ? Effect.void : Effect.andThen(
        rt.tagMarks.invalidate(valid, call?.hard === true),
        rt.hub.emit(() => ({ _tag: "Invalidated", region: rt.name, hard: call?.hard === true, tags: valid }))
      )))
