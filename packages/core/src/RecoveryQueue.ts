/**
 * The bounded queue behind `Recovery`: the writes, deletes and invalidation
 * marks that the store could not take, one operation per backend key (a newer
 * operation on a key supersedes the older one and keeps its place), replayed
 * in the order keys were first queued, marks first. Synchronous and pure of
 * effects: `Recovery` drives it.
 *
 * @internal
 * @since 0.1.0
 */
import type { CacheKey } from "./CacheKey.ts"
import * as CacheKeys from "./CacheKey.ts"

/**
 * One queued operation: a `set` (with the bytes and the time its store TTL
 * ends) or a `delete`. `mark` is an invalidation mark (a key under the
 * reserved `__dogpile__` prefix).
 *
 * @example
 * ```ts
 * import * as RecoveryQueue from "./RecoveryQueue.ts"
 * const op = RecoveryQueue.remove("users:1")
 * op.kind // "delete"
 * ```
 *
 * @category models
 * @since 0.1.0
 */
export interface QueuedOp {
  readonly key: CacheKey
  readonly id: string
  readonly kind: "set" | "delete"
  readonly mark: boolean
  readonly value: Uint8Array | undefined
  /** Epoch ms at which the entry's store TTL ends; `undefined`: no TTL. */
  readonly expiresAt: number | undefined
  /** What the operation counts against `maxBytes`. */
  readonly bytes: number
}

/**
 * Bytes counted per entry on top of its key and value (the map slot, the
 * operation record): a queue of deletes is bounded by `maxBytes` too.
 *
 * @example
 * ```ts
 * import * as RecoveryQueue from "./RecoveryQueue.ts"
 * RecoveryQueue.ENTRY_OVERHEAD // 64
 * ```
 *
 * @category constants
 * @since 0.1.0
 */
export const ENTRY_OVERHEAD = 64

/** The prefix of the keys that hold invalidation marks (see `internal/keys.ts`: no region key starts with it). */
const MARK_PREFIX = "__dogpile__"

/**
 * Whether `key` holds an invalidation mark (a region's `invalidate` or
 * `invalidateTags`) rather than a value.
 *
 * @example
 * ```ts
 * import * as RecoveryQueue from "./RecoveryQueue.ts"
 * RecoveryQueue.isMark("__dogpile__:{users}:invalidated:hard") // true
 * RecoveryQueue.isMark("users:1") // false
 * ```
 *
 * @category predicates
 * @since 0.1.0
 */
export const isMark = (key: CacheKey): boolean => typeof key === "string" && key.startsWith(MARK_PREFIX)

const sizeOf = (id: string, value: Uint8Array | undefined): number =>
  ENTRY_OVERHEAD + 2 * id.length + (value?.byteLength ?? 0)

/**
 * A queued `set` of `value` at `key`, whose store TTL (if any) ends at
 * `expiresAt` (epoch ms).
 *
 * @example
 * ```ts
 * import * as RecoveryQueue from "./RecoveryQueue.ts"
 * const op = RecoveryQueue.write("users:1", new Uint8Array([1]), undefined)
 * ```
 *
 * @category constructors
 * @since 0.1.0
 */
export const write = (key: CacheKey, value: Uint8Array, expiresAt: number | undefined): QueuedOp => {
  const id = CacheKeys.render(key)
  return { key, id, kind: "set", mark: isMark(key), value, expiresAt, bytes: sizeOf(id, value) }
}

/**
 * A queued `delete` of `key`.
 *
 * @example
 * ```ts
 * import * as RecoveryQueue from "./RecoveryQueue.ts"
 * RecoveryQueue.remove("users:1").bytes // 64 + 2 * 7
 * ```
 *
 * @category constructors
 * @since 0.1.0
 */
export const remove = (key: CacheKey): QueuedOp => {
  const id = CacheKeys.render(key)
  return { key, id, kind: "delete", mark: isMark(key), value: undefined, expiresAt: undefined, bytes: sizeOf(id, undefined) }
}

/**
 * What {@link RecoveryQueue.offer} did: queued (with how many queued
 * operations it replaced and how many older plain writes it turned into
 * deletes to stay within `maxBytes`), or refused because even then the
 * operations would not fit.
 *
 * @example
 * ```ts
 * import type * as RecoveryQueue from "./RecoveryQueue.ts"
 * const fits = (offer: RecoveryQueue.Offer) => offer._tag === "Queued"
 * ```
 *
 * @category models
 * @since 0.1.0
 */
export type Offer =
  | { readonly _tag: "Queued"; readonly superseded: number; readonly demoted: number }
  | { readonly _tag: "Full"; readonly entries: number; readonly bytes: number }

/**
 * The next operations to replay: all `set`s (marks first) or all `delete`s,
 * with the `op`s as queued (to settle them) and what to send (`send`: an
 * expired `set` goes out as a delete).
 *
 * @example
 * ```ts
 * import type * as RecoveryQueue from "./RecoveryQueue.ts"
 * const keys = (batch: RecoveryQueue.Batch) => batch.items.map((item) => item.op.id)
 * ```
 *
 * @category models
 * @since 0.1.0
 */
export interface Batch {
  readonly kind: "set" | "delete"
  readonly marks: boolean
  readonly items: ReadonlyArray<{ readonly op: QueuedOp; readonly ttlMs: number | undefined }>
}

/**
 * The queue: at most `maxEntries` keys and about `maxBytes` bytes.
 *
 * @example
 * ```ts
 * import * as RecoveryQueue from "./RecoveryQueue.ts"
 * const queue = RecoveryQueue.make({ maxEntries: 100, maxBytes: 1 << 20 })
 * queue.offer([RecoveryQueue.remove("users:1")])
 * queue.size() // 1
 * ```
 *
 * @category models
 * @since 0.1.0
 */
export interface RecoveryQueue {
  readonly size: () => number
  readonly bytes: () => number
  readonly has: (id: string) => boolean
  /**
   * Queues all of `ops` or none. A key already queued keeps its place and
   * takes the new operation. Over `maxBytes`, the oldest plain writes
   * become deletes (the key is then a miss, never an older value); a mark
   * or a delete is never dropped. `Full` when `maxEntries` keys would be
   * exceeded, or the bytes would not fit even with every plain write demoted.
   */
  readonly offer: (ops: ReadonlyArray<QueuedOp>) => Offer
  /** Up to `max` operations to replay at `now`, or `undefined` when empty. */
  readonly next: (max: number, now: number) => Batch | undefined
  /** Removes the batch's operations that no newer one replaced meanwhile; returns how many. */
  readonly settle: (batch: Batch) => number
}

/**
 * An empty queue with the given bounds.
 *
 * @example
 * ```ts
 * import * as RecoveryQueue from "./RecoveryQueue.ts"
 * const queue = RecoveryQueue.make({ maxEntries: 10_000, maxBytes: 16 * 1024 * 1024 })
 * ```
 *
 * @category constructors
 * @since 0.1.0
 */
export const make = (limits: { readonly maxEntries: number; readonly maxBytes: number }): RecoveryQueue => {
  const ops = new Map<string, QueuedOp>()
  let bytes = 0

  const put = (op: QueuedOp) => {
    bytes += op.bytes - (ops.get(op.id)?.bytes ?? 0)
    ops.set(op.id, op)
  }

  /** What the queue would hold at the least, with `incoming` added and every plain write demoted. */
  const floorWith = (incoming: Map<string, QueuedOp>): number => {
    let floor = 0
    for (const [id, op] of ops) if (!incoming.has(id)) floor += demotable(op) ? sizeOf(id, undefined) : op.bytes
    for (const op of incoming.values()) floor += demotable(op) ? sizeOf(op.id, undefined) : op.bytes
    return floor
  }

  const demoteOldest = (): number => {
    let demoted = 0
    for (const op of ops.values()) {
      if (bytes <= limits.maxBytes) break
      if (!demotable(op)) continue
      put(remove(op.key))
      demoted++
    }
    return demoted
  }

  const offer = (incoming: ReadonlyArray<QueuedOp>): Offer => {
    const latest = new Map<string, QueuedOp>()
    for (const op of incoming) latest.set(op.id, op)
    let added = 0
    for (const id of latest.keys()) if (!ops.has(id)) added++
    if (ops.size + added > limits.maxEntries) return { _tag: "Full", entries: ops.size, bytes }
    if (floorWith(latest) > limits.maxBytes) return { _tag: "Full", entries: ops.size, bytes }
    const superseded = latest.size - added
    for (const op of latest.values()) put(op)
    return { _tag: "Queued", superseded, demoted: bytes > limits.maxBytes ? demoteOldest() : 0 }
  }

  const ttlAt = (op: QueuedOp, now: number): number | undefined => op.expiresAt === undefined ? undefined : op.expiresAt - now

  const next = (max: number, now: number): Batch | undefined => {
    if (ops.size === 0) return undefined
    const marks: Array<QueuedOp> = []
    for (const op of ops.values()) if (op.mark && isLive(op, now) && marks.length < max) marks.push(op)
    if (marks.length > 0) {
      return { kind: "set", marks: true, items: marks.map((op) => ({ op, ttlMs: ttlAt(op, now) })) }
    }
    const kind = effectiveKind(ops.values().next().value!, now)
    const items: Array<Batch["items"][number]> = []
    for (const op of ops.values()) {
      if (items.length >= max) break
      if (effectiveKind(op, now) === kind) items.push({ op, ttlMs: kind === "set" ? ttlAt(op, now) : undefined })
    }
    return { kind, marks: false, items }
  }

  const settle = (batch: Batch): number => {
    let removed = 0
    for (const { op } of batch.items) {
      if (ops.get(op.id) !== op) continue
      bytes -= op.bytes
      ops.delete(op.id)
      removed++
    }
    return removed
  }

  return { size: () => ops.size, bytes: () => bytes, has: (id) => ops.has(id), offer, next, settle }
}

/** A plain write can be turned into a delete of its key (marks and deletes stay as they are). */
const demotable = (op: QueuedOp): boolean => op.kind === "set" && !op.mark

/** A `set` whose store TTL has not ended at `now`. */
const isLive = (op: QueuedOp, now: number): boolean =>
  op.kind === "set" && (op.expiresAt === undefined || op.expiresAt > now)

/** How `op` is replayed at `now`: a `set` past its store TTL goes out as a delete (the store may hold an older value). */
const effectiveKind = (op: QueuedOp, now: number): "set" | "delete" => (isLive(op, now) ? "set" : "delete")
