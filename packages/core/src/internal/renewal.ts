/**
 * Writing the renewals of a conditional refresh: an entry whose creator
 * answered "not modified" is renewed only if the store still holds that same
 * entry, unchanged and not invalidated. Another writer's newer value (a `set`
 * while the source was asked) is kept and served; an entry invalidated
 * meanwhile (soft or hard) is not renewed, so a `304` never undoes an
 * invalidation that happened while it was in flight; a deleted entry is not
 * brought back.
 *
 * Two ways, per entry:
 * - **In place**, where the backend can (`Backend.restampMany`) and the
 *   entry's new header is as long as its old one: the region's marks are
 *   checked (no I/O within their refresh window), then one round trip
 *   compares the stored entry's length and header with the ones it was
 *   decoded from and overwrites the header alone, resetting the store TTL.
 *   No value bytes cross the wire. An entry it finds changed or gone goes
 *   the second way, which tells what the store holds instead.
 * - **Rewritten**: a re-read just before the write, then the restamped bytes
 *   written whole. The bytes renewed are those of the re-read, restamped as
 *   soon as they arrive: bytes a client handed over earlier may be views into
 *   a buffer it has reused since (a Redis parser's pool), so an entry's bytes
 *   are never kept across steps. "The same entry" is the same creation time,
 *   validator and size (for `full`, a creation time in ms).
 *
 * What is left is the window between the check and the write, the same as
 * any store after a creation.
 *
 * @internal
 */
import { Effect, Exit } from "effect"
import type { CacheError } from "../CacheError.ts"
import type * as EntryMeta from "../EntryMeta.ts"
import type { DogpileContext } from "./dogpileContext.ts"
import type { Target } from "./keys.ts"
import type { CallSettings } from "./settings.ts"
import type { Found, InPlace, Stored } from "./stored.ts"

/** One entry to renew: its key, the entry it replaces, and its new metadata. */
export interface Renewal<A> {
  readonly target: Target
  readonly previous: Stored<A>
  readonly meta: EntryMeta.EntryMeta
}

/** Whether two decoded entries are the same stored entry (see the module docs). */
const sameEntry = <A>(a: Stored<A>, b: Stored<A>): boolean =>
  a === b ||
  (a.createdAt === b.createdAt && a.meta.validator === b.meta.validator && a.inner !== undefined &&
    b.inner !== undefined && a.inner.length === b.inner.length)

/** The renewed bytes of `renewal` if the store still holds its entry (`found`), else `undefined`. */
const renewedBytes = <A>(d: DogpileContext<A>, renewal: Renewal<A>, found: Found<A>, now: number): Uint8Array | undefined =>
  found._tag !== "Missing" && found.entry !== undefined && sameEntry(found.entry, renewal.previous)
    ? d.renewed(found.entry, now, renewal.meta)
    : undefined

/** Renews by a re-read and a whole write (see the module docs); the value to serve for each renewal. */
const rewrite = <A>(
  d: DogpileContext<A>,
  renewals: ReadonlyArray<Renewal<A>>,
  call: CallSettings<A>,
  now: number
): Effect.Effect<ReadonlyArray<A>, CacheError> =>
  Effect.flatMap(d.reread(renewals.map((r) => r.target), call), (again) => {
    const kept: Array<readonly [Target, Uint8Array, EntryMeta.EntryMeta]> = []
    const values = renewals.map((renewal, i) => {
      const found = again[i] as Found<A>
      const bytes = renewedBytes(d, renewal, found, now)
      if (bytes !== undefined) kept.push([renewal.target, bytes, renewal.meta])
      return bytes !== undefined || found._tag === "Missing" ? renewal.previous.value : found.value
    })
    return kept.length === 0 ? Effect.succeed(values) : Effect.as(d.renew(kept, call), values)
  })

/** The renewals at `positions`, rewritten; their served values put in `values`. */
const rewriteAt = <A>(
  d: DogpileContext<A>,
  renewals: ReadonlyArray<Renewal<A>>,
  positions: ReadonlyArray<number>,
  values: Array<A>,
  call: CallSettings<A>,
  now: number
): Effect.Effect<ReadonlyArray<A>, CacheError> =>
  positions.length === 0 ? Exit.succeed(values) : Effect.map(rewrite(d, positions.map((i) => renewals[i]!), call, now), (served) => {
    served.forEach((value, j) => (values[positions[j]!] = value))
    return values
  })

/**
 * Renews, created at `now`, what the store still holds unchanged; the value to serve for each renewal,
 * in order: the renewed one, or what the store holds instead (the previous value if nothing).
 */
export const write = <A>(
  d: DogpileContext<A>,
  renewals: ReadonlyArray<Renewal<A>>,
  call: CallSettings<A>,
  now: number
): Effect.Effect<ReadonlyArray<A>, CacheError> => {
  const restamp = d.restamp
  if (restamp === undefined) return rewrite(d, renewals, call, now)
  const plans = renewals.map((renewal) => d.inPlace(renewal.previous, now, renewal.meta))
  const inPlace = plans.flatMap((plan, i) => (plan === undefined ? [] : [i]))
  if (inPlace.length === 0) return rewrite(d, renewals, call, now)
  const values = renewals.map((renewal) => renewal.previous.value)
  const others = plans.flatMap((plan, i) => (plan === undefined ? [i] : []))
  return Effect.flatMap(d.standing(inPlace.map((i) => renewals[i]!.previous), now), (stands) => {
    // An entry invalidated since it was read is not renewed: its previous value is served, as a re-read would.
    const sent = inPlace.filter((_, j) => stands[j])
    if (sent.length === 0) return rewriteAt(d, renewals, others, values, call, now)
    const entries = sent.map((i) => [renewals[i]!.target, plans[i] as InPlace, renewals[i]!.meta] as const)
    return Effect.flatMap(restamp(entries, call), (applied) => {
      // Changed or gone meanwhile: the re-read tells what is stored instead (a newer value to serve, or nothing).
      const missed = sent.filter((_, j) => applied[j] !== true)
      return rewriteAt(d, renewals, [...others, ...missed], values, call, now)
    })
  })
}
