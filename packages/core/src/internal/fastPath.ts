/**
 * The hit path without I/O: when the backend can answer in process (memory,
 * a near cache) and everything a read needs is at hand (the decoded entry for
 * those exact bytes, the invalidation and tag marks within their refresh
 * window), a fresh value is found synchronously; anything else falls back to
 * the full read.
 *
 * @internal
 */
import { Option } from "effect"
import type { Backend } from "../Backend.ts"
import type { InvalidationShape } from "../Invalidation.ts"
import type * as Keys from "./keys.ts"
import type { EarlyRefresh } from "./settings.ts"
import * as Stored from "./stored.ts"
import type { TagMarks } from "./tagMarks.ts"

/** A fresh value found without I/O, or `undefined` ("read it the usual way"). */
export type FastHit<A> = (target: Keys.Target, expirationMs: number, now: number) => { readonly value: A } | undefined

/** Builds the fast hit of a region, or `undefined` when its backend cannot answer in process. */
export const make = <A>(
  backend: Backend["Service"],
  storage: Stored.Storage<A>,
  invalidation: InvalidationShape,
  tagMarks: TagMarks,
  early: EarlyRefresh | undefined
): FastHit<A> | undefined => {
  const peek = backend.peek
  const cachedMarks = invalidation.cached
  if (peek === undefined || cachedMarks === undefined) return undefined
  return (target, expirationMs, now) => {
    const bytes = peek(target.full, now)
    if (bytes === undefined) return undefined
    const stored = storage.decoded(bytes)
    if (stored === undefined) return undefined
    const marks = cachedMarks(now)
    if (marks === undefined) return undefined
    const tags = stored.meta.tags
    const tagMark = tags === undefined ? undefined : tagMarks.cached(tags, now)
    if (tags !== undefined && tagMark === undefined) return undefined
    const found = Stored.classify(Option.some(stored), now, expirationMs, marks, tagMark)
    if (found._tag !== "Fresh") return undefined
    // A read chosen for an early refresh takes the full path, which starts the refresh.
    if (early !== undefined && Stored.refreshEarly(stored, now, expirationMs, early.beta, Math.random())) return undefined
    return { value: found.value }
  }
}
