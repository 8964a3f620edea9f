/**
 * The hit path without I/O: when the backend can answer in process (memory,
 * a near cache) and everything a read needs is at hand (the decoded entry for
 * those exact bytes, the invalidation and tag marks within their refresh
 * window), a fresh value is found synchronously; anything else falls back to
 * the full read. A hit allocates nothing.
 *
 * @internal
 */
import { Context, Random } from "effect"
import type { Backend } from "../Backend.ts"
import type { InvalidationShape } from "../Invalidation.ts"
import type * as Keys from "./keys.ts"
import type { EarlyRefresh } from "./settings.ts"
import * as Stored from "./stored.ts"
import type { TagMarks } from "./tagMarks.ts"

/** What a fast hit returns when it has no answer: "read it the usual way". */
export const noHit: unique symbol = Symbol.for("dogpile-effect/FastPath/noHit")

/** A fresh entry found without I/O, or {@link noHit}, by the fiber whose context is `context` (its `Random` draws early refreshes). */
export type FastHit<A> = (
  target: Keys.Target,
  expirationMs: number,
  now: number,
  context: Context.Context<never>
) => Stored.Stored<A> | typeof noHit

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
  return (target, expirationMs, now, context) => {
    const bytes = peek(target.full, now)
    if (bytes === undefined) return noHit
    const stored = storage.decoded(bytes, now)
    if (stored === undefined) return noHit
    const marks = cachedMarks(now)
    if (marks === undefined) return noHit
    const tags = stored.meta.tags
    let tagMark: Stored.TagMarkOf | undefined
    if (tags !== undefined) {
      tagMark = tagMarks.cached(tags, now)
      if (tagMark === undefined) return noHit
    }
    if (Stored.stateOf(stored, now, expirationMs, marks, tagMark) !== "Fresh") return noHit
    // A read chosen for an early refresh takes the full path, which starts the refresh.
    if (early !== undefined) {
      const u = Context.get(context, Random.Random).nextDoubleUnsafe()
      if (Stored.refreshEarly(stored, now, expirationMs, early.beta, u)) return noHit
    }
    return stored
  }
}
