/**
 * The read decision, in one place: from what the store returned for one key
 * (a decoded entry, or only its envelope's header), the invalidation marks of
 * the region and of the entry's tags, the clock, the expiration that applies
 * and one random draw, to what the read does with it. The fast path, one-key
 * and many-key reads, `has`, `inspect` and early refresh all decide here.
 *
 * Pure and allocation-free: the hit path calls it on every hit.
 *
 * @internal
 */
import type * as EntryMeta from "../EntryMeta.ts"
import type { InvalidationState } from "../Invalidation.ts"

/**
 * What a read does with one key:
 *
 * - `Fresh`: serve it.
 * - `RefreshEarly`: serve it, and start a background refresh (XFetch chose this read).
 * - `Stale`: expired, or soft-invalidated (by the region or a tag): served while whoever takes the
 *   key's lock without waiting regenerates it.
 * - `Missing`: nothing stored (or nothing readable): create it.
 * - `Invalidated`: a hard mark of the region or of one of its tags is newer than the entry: as missing.
 */
export type Decision = "Fresh" | "RefreshEarly" | "Stale" | "Missing" | "Invalidated"

/** What the decision reads of a stored entry: its creation time (epoch ms) and metadata. A decoded entry is one. */
export interface Header {
  readonly createdAt: number
  readonly meta: EntryMeta.EntryMeta
}

/**
 * What the read of `entry` does at `now`: hard marks (the region's, then its tags') make it
 * invalidated; its expiry (its own expiration if its creator chose one) and soft marks make it stale;
 * a fresh entry is refreshed early when XFetch says so for `draw`.
 */
export const decide = (
  entry: Header | undefined,
  now: number,
  expirationMs: number,
  marks: InvalidationState,
  tagMarks: InvalidationState | undefined,
  beta: number | undefined,
  draw: number | undefined
): Decision => {
  if (entry === undefined) return "Missing"
  const createdAt = entry.createdAt
  if (createdAt < marks.hard || (tagMarks !== undefined && createdAt < tagMarks.hard)) return "Invalidated"
  const expiration = entry.meta.expirationMs ?? expirationMs
  if (now - createdAt > expiration || createdAt < marks.soft) return "Stale"
  if (tagMarks !== undefined && createdAt < tagMarks.soft) return "Stale"
  if (beta === undefined || draw === undefined) return "Fresh"
  return refreshesEarly(createdAt + expiration, entry.meta.computeMs, now, beta, draw) ? "RefreshEarly" : "Fresh"
}

/**
 * XFetch (Vattani et al., VLDB 2015): refresh early when `now − δ·β·ln(u) ≥ expiry`, with δ the
 * creator's duration and `u` the read's draw (0 read as the smallest positive number). An entry whose
 * creator's duration was not recorded is never refreshed early.
 */
export const refreshesEarly = (
  expiry: number,
  computeMs: number | undefined,
  now: number,
  beta: number,
  u: number
): boolean => {
  if (computeMs === undefined || computeMs <= 0) return false
  return now - computeMs * beta * Math.log(u > 0 ? u : Number.MIN_VALUE) >= expiry
}
