/**
 * Tag invalidation marks, shared through the backend like the region's own
 * marks: `invalidateTags(tags)` writes one mark per tag (O(1) per tag, no scan
 * of keys); a read of an entry compares its creation time with the marks of
 * its tags (O(tags of the entry)). Marks are cached in process for `refresh`
 * (1 s), so other processes see an invalidation within that window, and the
 * cache is bounded. A mark this process has seen that goes missing from the
 * store (evicted under memory pressure) still invalidates what was created
 * before it was seen, and is written back while entries it invalidates may
 * still live (its store TTL); a deleted mark that lay ahead of this clock stops
 * counting once the deletion is read.
 *
 * @internal
 */
import { Clock, Duration, Effect, Option } from "effect"
import type { Backend, BackendEntry, BackendFailure } from "../Backend.ts"
import { afterRead, inForce, lost, MAX_MARK_AHEAD_MS, type MarkMemory } from "../Invalidation.ts"
import * as Lru from "./lru.ts"
import type { TagMarkOf } from "./stored.ts"

/** A region's tag marks. */
export interface TagMarks {
  /** The marks of `tags`, reloading those older than the refresh window in one read. */
  readonly current: (tags: ReadonlyArray<string>) => Effect.Effect<TagMarkOf, BackendFailure>
  /** The marks of `tags` if all are cached and within the refresh window at `now`, with no I/O. */
  readonly cached: (tags: ReadonlyArray<string>, now: number) => TagMarkOf | undefined
  /**
   * Invalidates every entry created before now that carries one of `tags`:
   * hard makes them misses, soft makes them stale (one caller regenerates).
   */
  readonly invalidate: (tags: ReadonlyArray<string>, hard: boolean) => Effect.Effect<void, BackendFailure>
}

/** What this process knows of one tag's marks (see `Invalidation.MarkMemory`: a deleted or evicted mark keeps what it was seen to invalidate, no more). */
interface Cached {
  readonly hard: MarkMemory
  readonly soft: MarkMemory
  readonly readAt: number
}

const noMemory: MarkMemory = { live: 0, seen: 0 }

const textEncoder = new TextEncoder()
const textDecoder = new TextDecoder()

/** The most tags whose marks one region keeps in memory. */
export const CAPACITY = 10_000

const parse = (bytes: Option.Option<Uint8Array> | undefined, now: number): number => {
  if (bytes === undefined || Option.isNone(bytes)) return 0
  const n = Number(textDecoder.decode(bytes.value))
  return Number.isFinite(n) && n > 0 && n <= now + MAX_MARK_AHEAD_MS ? n : 0
}

/** Builds the tag marks of one region over its backend. */
export const make = (
  backend: Backend["Service"],
  prefix: string,
  markTtl: Duration.Duration | undefined,
  refreshMs = 1000
): TagMarks => {
  const cache = Lru.make<string, Cached>(CAPACITY)
  const hardKey = (tag: string) => `${prefix}tag:hard:${tag}`
  const softKey = (tag: string) => `${prefix}tag:soft:${tag}`
  const remember = (tag: string, entry: Cached) => {
    cache.set(tag, entry)
  }
  const lookup: TagMarkOf = (tags) => {
    let hard = 0
    let soft = 0
    for (const tag of tags) {
      const cached = cache.peek(tag)
      if (cached !== undefined) {
        hard = Math.max(hard, inForce(cached.hard))
        soft = Math.max(soft, inForce(cached.soft))
      }
    }
    return { hard, soft }
  }
  const ttlMs = markTtl === undefined ? undefined : Duration.toMillis(markTtl)

  /** The write that puts back a mark seen at `seen` and now missing, while it may still invalidate a live entry. */
  const restoreEntry = (key: string, seen: number, now: number): ReadonlyArray<BackendEntry> => {
    if (ttlMs === undefined) return [{ key, value: textEncoder.encode(String(seen)) }]
    const left = ttlMs - (now - seen)
    return left > 0 ? [{ key, value: textEncoder.encode(String(seen)), ttl: Duration.millis(left) }] : []
  }

  const current = (tags: ReadonlyArray<string>) =>
    Clock.clockWith((clock) => {
      const now = clock.currentTimeMillisUnsafe()
      const due = [...new Set(tags)].filter((tag) => {
        const cached = cache.peek(tag)
        return cached === undefined || now - cached.readAt >= refreshMs
      })
      if (due.length === 0) return Effect.succeed(lookup)
      return Effect.flatMap(backend.getMany(due.flatMap((tag) => [hardKey(tag), softKey(tag)])), (found) => {
        const restore: Array<BackendEntry> = []
        due.forEach((tag, i) => {
          const before = cache.peek(tag)
          const hard = parse(found[2 * i], now)
          const soft = parse(found[2 * i + 1], now)
          if (before !== undefined && lost(before.hard, hard)) restore.push(...restoreEntry(hardKey(tag), before.hard.seen, now))
          if (before !== undefined && lost(before.soft, soft)) restore.push(...restoreEntry(softKey(tag), before.soft.seen, now))
          remember(tag, {
            hard: afterRead(before?.hard ?? noMemory, hard, now),
            soft: afterRead(before?.soft ?? noMemory, soft, now),
            readAt: now
          })
        })
        // A failed write-back changes nothing here: this process remembers the marks either way.
        return Effect.as(restore.length === 0 ? Effect.void : Effect.ignore(backend.setMany(restore)), lookup)
      })
    })

  const invalidate = (tags: ReadonlyArray<string>, hard: boolean) =>
    Effect.flatMap(Clock.currentTimeMillis, (now) => {
      const unique = [...new Set(tags)]
      if (unique.length === 0) return Effect.void
      const mark = textEncoder.encode(String(now))
      const mine = (memory: MarkMemory): MarkMemory => ({ live: now, seen: Math.max(memory.seen, now) })
      // A mark outlives every entry it can invalidate by at most the region's store TTL.
      return Effect.andThen(
        backend.setMany(unique.map((tag) => ({ key: hard ? hardKey(tag) : softKey(tag), value: mark, ttl: markTtl }))),
        Effect.sync(() =>
          unique.forEach((tag) => {
            const before = cache.peek(tag)
            remember(tag, {
              hard: hard ? mine(before?.hard ?? noMemory) : before?.hard ?? noMemory,
              soft: hard ? before?.soft ?? noMemory : mine(before?.soft ?? noMemory),
              readAt: before?.readAt ?? Number.NEGATIVE_INFINITY
            })
          })
        )
      )
    })

  const cached = (tags: ReadonlyArray<string>, now: number): TagMarkOf | undefined => {
    for (const tag of tags) {
      const entry = cache.peek(tag)
      if (entry === undefined || now - entry.readAt >= refreshMs) return undefined
    }
    return lookup
  }

  return { current, cached, invalidate }
}
