/**
 * Keys that share a Redis Cluster slot with a bucket, and slot grouping of
 * batch commands (slots themselves come from `KeySlot` in
 * `@dogpile-effect/redis`).
 *
 * @since 0.1.0
 */
import { KeySlot } from "@dogpile-effect/redis"

/**
 * A key built from `base` and `suffix` that lives in the same Cluster slot as
 * `base`: `base + suffix` when `base` already carries a hash tag, otherwise
 * `{base}` + `suffix`. A base containing `}` but no valid tag cannot be wrapped
 * safely; it gets `base + suffix` (a working key, possibly in another slot).
 *
 * @example
 * ```ts
 * import { Slot } from "@dogpile-effect/hstore"
 * Slot.colocated("user:12345", ":67") // "{user:12345}:67"
 * Slot.colocated("{user}:12345", ":67") // "{user}:12345:67"
 * ```
 *
 * @since 0.1.0
 */
export const colocated = (base: string, suffix: string): string => {
  if (KeySlot.tagOf(base) !== undefined || base.includes("}")) return base + suffix
  return `{${base}}${suffix}`
}

/**
 * Groups items by the Cluster slot of their routing key, keeping input order
 * inside each group. On a standalone server everything is one group.
 *
 * @example
 * ```ts
 * import { Slot } from "@dogpile-effect/hstore"
 * Slot.groupBy(["a", "b"], (k) => k, false) // Map { 0 => ["a", "b"] }
 * ```
 *
 * @since 0.1.0
 */
export const groupBy = <A>(items: Iterable<A>, keyOf: (item: A) => string, cluster: boolean): Map<number, Array<A>> => {
  const groups = new Map<number, Array<A>>()
  for (const item of items) {
    const slot = cluster ? KeySlot.slot(keyOf(item)) : 0
    const group = groups.get(slot)
    if (group === undefined) groups.set(slot, [item])
    else group.push(item)
  }
  return groups
}
