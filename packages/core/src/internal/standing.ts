/**
 * Whether decoded entries still stand: no invalidation mark (the region's, or
 * one of their tags', hard or soft) newer than their creation. A renewal in
 * place checks it before it restamps, as the re-read of a whole rewrite does,
 * so a "not modified" answer never undoes an invalidation that landed while
 * the source was asked. The marks come as reads take them: from the
 * process's copy within its refresh window, else one read of the store.
 *
 * @internal
 */
import { Effect, Exit } from "effect"
import type { BackendFailure } from "../Backend.ts"
import type { InvalidationShape, InvalidationState } from "../Invalidation.ts"
import * as Stored from "./stored.ts"
import type { TagMarks } from "./tagMarks.ts"

/** Whether each of `entries` stands at `now`, in order. */
export type Standing = (
  entries: ReadonlyArray<Stored.Stored<unknown>>,
  now: number
) => Effect.Effect<ReadonlyArray<boolean>, BackendFailure>

/** Whether `entry`, created at its `createdAt`, is older than a mark of `marks` or `tagMarks`. */
const invalidated = (entry: Stored.Stored<unknown>, marks: InvalidationState, tagMarks: InvalidationState | undefined) =>
  entry.createdAt < marks.hard || entry.createdAt < marks.soft ||
  (tagMarks !== undefined && (entry.createdAt < tagMarks.hard || entry.createdAt < tagMarks.soft))

/** The region's marks at `now`: its cached copy when it has one, else a read. */
const regionMarks = (invalidation: InvalidationShape, now: number): Effect.Effect<InvalidationState, BackendFailure> => {
  const cached = invalidation.cached?.(now)
  return cached === undefined ? invalidation.current : Exit.succeed(cached)
}

/** Builds the check over a region's marks and tag marks. */
export const make = (invalidation: InvalidationShape, tagMarks: TagMarks): Standing => (entries, now) =>
  Effect.flatMap(regionMarks(invalidation, now), (marks) => {
    const tags = entries.flatMap((entry) => entry.meta.tags ?? [])
    const decide = (tagMark: Stored.TagMarkOf | undefined) =>
      entries.map((entry) => !invalidated(entry, marks, Stored.tagMarksOf(entry, tagMark)))
    if (tags.length === 0) return Exit.succeed(decide(undefined))
    const cached = tagMarks.cached(tags, now)
    return cached === undefined ? Effect.map(tagMarks.current(tags), decide) : Exit.succeed(decide(cached))
  })
