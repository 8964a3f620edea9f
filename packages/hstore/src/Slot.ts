/**
 * Keys that share a Redis Cluster slot with a bucket, and slot grouping of
 * batch commands (slots themselves come from `KeySlot` in
 * `@dogpile-effect/redis`).
 *
 * @since 0.1.0
 */
import { KeySlot } from "@dogpile-effect/redis"

/** For each slot, the first base-36 number (as text, no braces) that hashes to it; built on first use. */
let tagTable: Array<string> | undefined

/**
 * The first base-36 string that hashes to `slot`. The table of all 16384 is
 * built once, in one pass over consecutive numbers (about 180 thousand CRC16s,
 * some tens of milliseconds), the first time a bucket name needs it.
 */
const tagForSlot = (slot: number): string => {
  if (tagTable === undefined) {
    const table = new Array<string>(KeySlot.SLOTS)
    let missing = KeySlot.SLOTS
    for (let n = 0; missing > 0; n++) {
      const tag = n.toString(36)
      const s = KeySlot.slot(tag)
      if (table[s] === undefined) {
        table[s] = tag
        missing--
      }
    }
    tagTable = table
  }
  return tagTable[slot] as string
}

/**
 * A key built from `base` and `suffix` that lives in the same Cluster slot as
 * `base`:
 *
 * - `base + suffix` when `base` carries a hash tag (`{user}:12345`);
 * - `{base}` + `suffix` when `base` is non-empty and has no `}` (the whole
 *   base becomes the tag, so the slot is the base's own);
 * - otherwise (`base` contains `}` but no valid tag, e.g. an empty `{}`, which
 *   Redis does not count as a tag, or `base` is empty) `{t}` + `base` +
 *   `suffix`, where `t` is a short tag chosen to hash to the base's slot.
 *
 * Each form is injective: different (base, suffix) concatenations give
 * different keys.
 *
 * @example
 * ```ts
 * import * as Slot from "./Slot.ts" // internal to @dogpile-effect/hstore
 * Slot.colocated("user:12345", ":67") // "{user:12345}:67"
 * Slot.colocated("{user}:12345", ":67") // "{user}:12345:67"
 * Slot.colocated("user{}", ":67") // "{t}user{}:67", t hashing like "user{}"
 * ```
 *
 * @category keys
 * @since 0.1.0
 */
export const colocated = (base: string, suffix: string): string => {
  if (KeySlot.tagOf(base) !== undefined) return base + suffix
  if (base.length > 0 && !base.includes("}")) return `{${base}}${suffix}`
  return `{${tagForSlot(KeySlot.slot(base))}}${base}${suffix}`
}

/**
 * Whether ioredis (through `cluster-key-slot`) computes the same slot for
 * `key` as Redis does. They differ for one shape only: the first `{` directly
 * followed by `}` (an empty tag, so Redis hashes the whole key) with a later
 * `}` (where the client hashes the text between the two). On a Cluster,
 * ioredis refuses a multi-key command mixing such a key with keys of its Redis
 * slot, so buckets named that way keep their large values inline (no overflow).
 *
 * @example
 * ```ts
 * import * as Slot from "./Slot.ts" // internal to @dogpile-effect/hstore
 * Slot.clientAgrees("user:{}12345") // true
 * Slot.clientAgrees("user:{}{12}345") // false
 * ```
 *
 * @category keys
 * @since 0.1.0
 */
export const clientAgrees = (key: string): boolean => {
  const open = key.indexOf("{")
  if (open === -1 || key[open + 1] !== "}") return true
  return key.indexOf("}", open + 2) === -1
}

/**
 * Groups items by the Cluster slot of their routing key, keeping input order
 * inside each group. On a standalone server everything is one group. An item
 * whose key ioredis hashes unlike Redis (see {@link clientAgrees}) gets a group
 * of its own, so that ioredis, which sends it to the wrong node first, can
 * follow the MOVED reply without failing the other commands of a pipeline.
 *
 * @example
 * ```ts
 * import * as Slot from "./Slot.ts" // internal to @dogpile-effect/hstore
 * Slot.groupBy(["a", "b"], (k) => k, false) // Map { 0 => ["a", "b"] }
 * ```
 *
 * @category combinators
 * @since 0.1.0
 */
export const groupBy = <A>(
  items: Iterable<A>,
  keyOf: (item: A) => string,
  cluster: boolean
): Map<number | string, Array<A>> => {
  const groups = new Map<number | string, Array<A>>()
  for (const item of items) {
    const key = keyOf(item)
    const slot = !cluster ? 0 : clientAgrees(key) ? KeySlot.slot(key) : `alone:${key}`
    const group = groups.get(slot)
    if (group === undefined) groups.set(slot, [item])
    else group.push(item)
  }
  return groups
}
