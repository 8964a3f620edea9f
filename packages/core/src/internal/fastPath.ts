/**
 * The hit path without I/O: when the backend can answer in process (memory,
 * a near cache) and everything a read needs is at hand (the decoded entry for
 * those exact bytes, the invalidation and tag marks within their refresh
 * window), the read decision is made synchronously and a fresh value is
 * served; anything else (including a read chosen for an early refresh) falls
 * back to the full read, which is handed the same draw. A hit allocates nothing.
 *
 * @internal
 */
import type { Backend } from "../Backend.ts"
import type { InvalidationShape, InvalidationState } from "../Invalidation.ts"
import type * as Keys from "./keys.ts"
import * as ReadDecision from "./readDecision.ts"
import type { EarlyRefresh } from "./settings.ts"
import type * as Stored from "./stored.ts"
import type { TagMarks } from "./tagMarks.ts"

/** What a fast hit returns when it has no answer: "read it the usual way". */
export const noHit: unique symbol = Symbol.for("dogpile-effect/FastPath/noHit")

/** A fresh entry found without I/O, or {@link noHit}. `draw`: the read's one early-refresh draw, if it may refresh. */
export type FastHit<A> = (
  target: Keys.Target,
  expirationMs: number,
  now: number,
  draw: number | undefined
) => Stored.Stored<A> | typeof noHit

/** What the fast path reads through. */
export interface Source<A> {
  readonly backend: Backend["Service"]
  readonly storage: Stored.Storage<A>
  readonly invalidation: InvalidationShape
  readonly tagMarks: TagMarks
  readonly early: EarlyRefresh | undefined
}

/** Builds the fast hit of a region, or `undefined` when its backend cannot answer in process. */
export const make = <A>(source: Source<A>): FastHit<A> | undefined => {
  const peek = source.backend.peek
  const cachedMarks = source.invalidation.cached
  if (peek === undefined || cachedMarks === undefined) return undefined
  const { storage, tagMarks } = source
  const beta = source.early?.beta
  return (target, expirationMs, now, draw) => {
    const bytes = peek(target.full, now)
    if (bytes === undefined) return noHit
    const stored = storage.decoded(bytes, now)
    if (stored === undefined) return noHit
    const marks = cachedMarks(now)
    if (marks === undefined) return noHit
    const tags = stored.meta.tags
    let tagState: InvalidationState | undefined
    if (tags !== undefined) {
      const tagMark = tagMarks.cached(tags, now)
      if (tagMark === undefined) return noHit
      tagState = tagMark(tags)
    }
    return ReadDecision.decide(stored, now, expirationMs, marks, tagState, beta, draw) === "Fresh" ? stored : noHit
  }
}
