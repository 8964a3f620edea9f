/**
 * Writing the renewals of a conditional refresh: an entry whose creator
 * answered "not modified" is written back (its restamped bytes) only if the
 * store still holds that same entry, unchanged and not invalidated. Another
 * writer's newer value (a `set` while the source was asked) is kept and
 * served; an entry invalidated meanwhile (soft or hard) is not renewed, so a
 * `304` never undoes an invalidation that happened while it was in flight.
 *
 * The check is a re-read just before the write: one round trip per renewed
 * batch, where a plain creation has none. What is left is the window between
 * that read and the write, the same as any store after a creation. The bytes
 * renewed are those of the re-read, restamped as soon as they arrive: bytes a
 * client handed over earlier may be views into a buffer it has reused since
 * (a Redis parser's pool), so an entry's bytes are never kept across steps.
 * "The same entry" is the same creation time, validator and size (for
 * `full`, a creation time in ms).
 *
 * @internal
 */
import { Effect } from "effect"
import type { CacheError } from "../CacheError.ts"
import type * as EntryMeta from "../EntryMeta.ts"
import type { DogpileContext } from "./dogpileContext.ts"
import type { Target } from "./keys.ts"
import type { CallSettings } from "./settings.ts"
import type { Found, Stored } from "./stored.ts"

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

/**
 * Renews, created at `now`, what the store still holds unchanged; the value to serve for each renewal,
 * in order: the renewed one, or what the store holds instead (the previous value if nothing).
 */
export const write = <A>(
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
