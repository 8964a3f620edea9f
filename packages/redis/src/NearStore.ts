/**
 * The in-process tier of the near cache: stored bytes by key, bounded by
 * entries and by bytes with SIEVE eviction, indexed by the Redis key each
 * entry lives in, and guarded against reads that race with invalidations.
 *
 * SIEVE (Zhang et al., NSDI '24) keeps entries in insertion order with one
 * "visited" bit each: a hit only sets the bit (no reordering, unlike LRU);
 * eviction moves a hand from the oldest entry towards the newest, clearing
 * set bits and evicting the first entry whose bit is clear. Its hit ratio is
 * at least LRU's on web and key-value traces, and a hit costs one write.
 *
 * @since 0.1.0
 */
import { ownBytes } from "@dogpile-effect/core"
import { Effect, Option } from "effect"

/** Bytes charged per entry on top of its value and key: the entry object, map slots and the prebuilt hit. */
const OVERHEAD_BYTES = 160

/** More invalidated keys than this remembered for in-flight reads: forget them and discard every in-flight read. */
const MAX_RECENT = 10_000

/**
 * One cached value.
 *
 * @example
 * ```ts
 * import type * as NearStore from "./NearStore.ts" // internal to @dogpile-effect/redis
 * const bytesOf = (entry: NearStore.Entry) => entry.size
 * ```
 *
 * @category models
 * @since 0.1.0
 */
export interface Entry {
  readonly id: string
  /** The Redis key the value lives in (the bucket, for a hash field). */
  readonly redisKey: string
  readonly value: Option.Option<Uint8Array>
  /** The read's answer, prebuilt: a hit allocates nothing. */
  readonly hit: Effect.Effect<Option.Option<Uint8Array>>
  readonly size: number
  readonly readAt: number
  visited: boolean
}

/**
 * A read in flight: admitted only if nothing it read was invalidated (and
 * nothing was flushed) after it was sent.
 *
 * @example
 * ```ts
 * import type * as NearStore from "./NearStore.ts" // internal to @dogpile-effect/redis
 * const sentAt = (ticket: NearStore.Ticket) => ticket.seq
 * ```
 *
 * @category models
 * @since 0.1.0
 */
export interface Ticket {
  readonly epoch: number
  readonly seq: number
}

/**
 * Bounds of the store.
 *
 * @example
 * ```ts
 * import type * as NearStore from "./NearStore.ts" // internal to @dogpile-effect/redis
 * const limits: NearStore.Limits = { maxEntries: 10_000, maxBytes: 64 * 1024 * 1024, maxAgeMs: 10_000 }
 * ```
 *
 * @category models
 * @since 0.1.0
 */
export interface Limits {
  readonly maxEntries: number
  readonly maxBytes: number
  readonly maxAgeMs: number
}

/**
 * What happened to the store, for metrics.
 *
 * @example
 * ```ts
 * import type * as NearStore from "./NearStore.ts" // internal to @dogpile-effect/redis
 * const report: NearStore.Events = { evicted: (n) => console.log(n) }
 * ```
 *
 * @category models
 * @since 0.1.0
 */
export interface Events {
  /** Entries dropped to stay within bounds (or past `maxAge`). */
  readonly evicted: (count: number) => void
}

/**
 * The store.
 *
 * @example
 * ```ts
 * import type * as NearStore from "./NearStore.ts" // internal to @dogpile-effect/redis
 * const fill = (store: NearStore.NearStore) => store.entries()
 * ```
 *
 * @category models
 * @since 0.1.0
 */
export interface NearStore {
  /** The entry of `id` if present and younger than `maxAge` at `now` (marks it visited). */
  lookup(id: string, now: number): Entry | undefined
  /** Starts a read; pair with {@link NearStore.end}. */
  begin(): Ticket
  /** Ends a read started by {@link NearStore.begin}, kept or not. */
  end(): void
  /** Keeps `value` for `id` if the read of `ticket` raced with nothing; returns whether it was kept. */
  admit(ticket: Ticket, id: string, redisKey: string, value: Uint8Array, now: number): boolean
  /** Drops every entry living in one of these Redis keys; in-flight reads of them will not be kept. */
  invalidate(redisKeys: ReadonlyArray<string>): number
  /** Drops everything; no in-flight read will be kept. Returns how many entries were dropped. */
  clear(): number
  entries(): number
  bytes(): number
}

/**
 * Builds an empty store.
 *
 * @example
 * ```ts
 * import * as NearStore from "./NearStore.ts" // internal to @dogpile-effect/redis
 * const store = NearStore.make({ maxEntries: 100, maxBytes: 1 << 20, maxAgeMs: Infinity }, { evicted: () => {} })
 * const ticket = store.begin()
 * store.admit(ticket, "k", "k", new Uint8Array([1]), Date.now())
 * store.end()
 * store.lookup("k", Date.now()) !== undefined // true
 * ```
 *
 * @category constructors
 * @since 0.1.0
 */
export const make = (limits: Limits, events: Events): NearStore => {
  const byId = new Map<string, Entry>()
  /** Entries whose Redis key is not their own id (hash fields, bucketed keys), by Redis key. */
  const members = new Map<string, Set<string>>()
  /** Redis key → the `seq` of its last invalidation, while reads are in flight. */
  const recent = new Map<string, number>()
  let hand: Iterator<Entry> | undefined
  let bytes = 0
  let epoch = 0
  let seq = 0
  let inflight = 0

  const remove = (entry: Entry) => {
    byId.delete(entry.id)
    bytes -= entry.size
    if (entry.redisKey === entry.id) return
    const set = members.get(entry.redisKey)
    set?.delete(entry.id)
    if (set?.size === 0) members.delete(entry.redisKey)
  }

  /** SIEVE: the first unvisited entry from the hand on, clearing visited bits on the way. */
  const evictOne = () => {
    for (let turns = 0; turns <= 2 * byId.size + 2; turns++) {
      hand ??= byId.values()
      const next = hand.next()
      if (next.done === true) {
        hand = undefined
        continue
      }
      const entry = next.value
      if (entry.visited) {
        entry.visited = false
        continue
      }
      remove(entry)
      return
    }
    // Every entry was visited twice around: drop the oldest.
    const oldest = byId.values().next()
    if (oldest.done !== true) remove(oldest.value)
  }

  const dropRedisKey = (redisKey: string): number => {
    let dropped = 0
    const own = byId.get(redisKey)
    if (own !== undefined && own.redisKey === redisKey) {
      remove(own)
      dropped++
    }
    const set = members.get(redisKey)
    if (set !== undefined) {
      for (const id of [...set]) {
        const entry = byId.get(id)
        if (entry !== undefined) {
          remove(entry)
          dropped++
        }
      }
      members.delete(redisKey)
    }
    return dropped
  }

  return {
    lookup: (id, now) => {
      const entry = byId.get(id)
      if (entry === undefined) return undefined
      if (now - entry.readAt >= limits.maxAgeMs || now < entry.readAt) {
        remove(entry)
        events.evicted(1)
        return undefined
      }
      entry.visited = true
      return entry
    },
    begin: () => {
      inflight++
      return { epoch, seq }
    },
    end: () => {
      inflight = Math.max(0, inflight - 1)
      if (inflight === 0) recent.clear()
    },
    admit: (ticket, id, redisKey, value, now) => {
      if (ticket.epoch !== epoch) return false
      const changedAt = recent.get(redisKey)
      if (changedAt !== undefined && changedAt > ticket.seq) return false
      const size = value.byteLength + 2 * (id.length + (redisKey === id ? 0 : redisKey.length)) + OVERHEAD_BYTES
      if (size > limits.maxBytes) return false
      const previous = byId.get(id)
      if (previous !== undefined) remove(previous)
      const found = Option.some(ownBytes(value))
      const entry: Entry = { id, redisKey, value: found, hit: Effect.succeed(found), size, readAt: now, visited: false }
      byId.set(id, entry)
      bytes += size
      if (redisKey !== id) {
        let set = members.get(redisKey)
        if (set === undefined) members.set(redisKey, set = new Set())
        set.add(id)
      }
      let evicted = 0
      while ((byId.size > limits.maxEntries || bytes > limits.maxBytes) && byId.size > 1) {
        evictOne()
        evicted++
      }
      if (evicted > 0) events.evicted(evicted)
      return byId.has(id)
    },
    invalidate: (redisKeys) => {
      seq++
      let dropped = 0
      for (const redisKey of redisKeys) {
        if (inflight > 0) recent.set(redisKey, seq)
        dropped += dropRedisKey(redisKey)
      }
      if (recent.size > MAX_RECENT) {
        recent.clear()
        epoch++
      }
      return dropped
    },
    clear: () => {
      const dropped = byId.size
      epoch++
      byId.clear()
      members.clear()
      recent.clear()
      hand = undefined
      bytes = 0
      return dropped
    },
    entries: () => byId.size,
    bytes: () => bytes
  }
}
