/**
 * Tag invalidation marks, shared through the backend like the region's own
 * marks: `invalidateTags(tags)` writes one mark per tag (O(1) per tag, no scan
 * of keys); a read of an entry compares its creation time with the marks of
 * its tags (O(tags of the entry)). Marks are cached in process for `refresh`
 * (1 s), so other processes see an invalidation within that window, and the
 * cache is bounded.
 *
 * @internal
 */
import { Clock, type Duration, Effect, Option } from "effect"
import type { Backend, BackendFailure } from "../Backend.ts"
import { MAX_MARK_AHEAD_MS } from "../Invalidation.ts"
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

interface Cached {
  readonly hard: number
  readonly soft: number
  readonly readAt: number
}

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
        hard = Math.max(hard, cached.hard)
        soft = Math.max(soft, cached.soft)
      }
    }
    return { hard, soft }
  }

  const current = (tags: ReadonlyArray<string>) =>
    Clock.clockWith((clock) => {
      const now = clock.currentTimeMillisUnsafe()
      const due = [...new Set(tags)].filter((tag) => {
        const cached = cache.peek(tag)
        return cached === undefined || now - cached.readAt >= refreshMs
      })
      if (due.length === 0) return Effect.succeed(lookup)
      return Effect.map(backend.getMany(due.flatMap((tag) => [hardKey(tag), softKey(tag)])), (found) => {
        due.forEach((tag, i) => {
          // Never move a mark backwards: a local invalidation may be newer than what was read.
          const before = cache.peek(tag)
          remember(tag, {
            hard: Math.max(parse(found[2 * i], now), before?.hard ?? 0),
            soft: Math.max(parse(found[2 * i + 1], now), before?.soft ?? 0),
            readAt: now
          })
        })
        return lookup
      })
    })

  const invalidate = (tags: ReadonlyArray<string>, hard: boolean) =>
    Effect.flatMap(Clock.currentTimeMillis, (now) => {
      const unique = [...new Set(tags)]
      if (unique.length === 0) return Effect.void
      const mark = textEncoder.encode(String(now))
      // A mark outlives every entry it can invalidate by at most the region's store TTL.
      return Effect.andThen(
        backend.setMany(unique.map((tag) => ({ key: hard ? hardKey(tag) : softKey(tag), value: mark, ttl: markTtl }))),
        Effect.sync(() =>
          unique.forEach((tag) => {
            const before = cache.peek(tag)
            remember(tag, {
              hard: hard ? now : before?.hard ?? 0,
              soft: hard ? before?.soft ?? 0 : now,
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
