/**
 * Writing a region's values: encoded with the region's storage, each with the
 * store TTL that matches its expiration, everything encoded before anything is
 * written (one value that cannot be encoded writes nothing).
 *
 * @internal
 */
import { Clock, Effect } from "effect"
import type { Backend, BackendEntry, BackendRestamp } from "../Backend.ts"
import type * as CacheKey from "../CacheKey.ts"
import { type CacheError, InvalidKeyError, InvalidOptionError } from "../CacheError.ts"
import * as EntryMeta from "../EntryMeta.ts"
import * as Envelope from "../Envelope.ts"
import type { SetOptions } from "../Region.ts"
import * as Eager from "./eager.ts"
import * as Keys from "./keys.ts"
import * as Settings from "./settings.ts"
import type * as Stored from "./stored.ts"

/** A region's writes. */
export interface Writes<A> {
  /** `Region.setMany`: validated keys, options and tags; encoded, then written in one `setMany`. */
  readonly setMany: (entries: ReadonlyArray<readonly [CacheKey.CacheKey, A]>, call?: SetOptions) => Effect.Effect<void, CacheError>
  /** What the dogpile stores after a creation: created values with their metadata, created at `now`. */
  readonly store: (
    entries: ReadonlyArray<readonly [Keys.Target, A, EntryMeta.EntryMeta]>,
    call: Settings.CallSettings<A>,
    now: number
  ) => Effect.Effect<void, CacheError>
  /** What the dogpile stores after a conditional creator answered "not modified": renewed bytes, not encoded again. */
  readonly renew: (
    entries: ReadonlyArray<readonly [Keys.Target, Uint8Array, EntryMeta.EntryMeta]>,
    call: Settings.CallSettings<A>
  ) => Effect.Effect<void, CacheError>
  /**
   * Renews entries in place (`Backend.restampMany`): only their headers are sent. Per entry, whether
   * it applied; a store failure the bypass policy lets pass counts as applied (as a failed `renew`
   * would). Absent when the backend cannot.
   */
  readonly restamp?:
    | ((
      entries: ReadonlyArray<readonly [Keys.Target, Stored.InPlace, EntryMeta.EntryMeta]>,
      call: Settings.CallSettings<A>
    ) => Effect.Effect<ReadonlyArray<boolean>, CacheError>)
    | undefined
}

/** Builds the writes of a region. `guardStore` wraps the dogpile's stores (the bypass policy). */
export const make = <A>(
  settings: Settings.RegionSettings<A>,
  backend: Backend["Service"],
  storage: Stored.Storage<A>,
  guardStore: (effect: Effect.Effect<void, CacheError>) => Effect.Effect<void, CacheError>
): Writes<A> => {
  const { keySpace, name } = settings

  /** One entry through `set` (a plain command a client can pipeline with others'), several through `setMany`. */
  const write = (writes: ReadonlyArray<BackendEntry>): Effect.Effect<void, CacheError> =>
    writes.length === 1 ? backend.set(writes[0]!.key, writes[0]!.value, writes[0]!.ttl) : backend.setMany(writes)

  /** The backend entries of `items`, every one encoded before any is written (a single one without a loop). */
  const encodeAll = <X>(
    items: ReadonlyArray<X>,
    encodeOne: (item: X, i: number) => Effect.Effect<BackendEntry, CacheError>
  ): Effect.Effect<ReadonlyArray<BackendEntry>, CacheError> =>
    items.length === 1 ? Eager.map(encodeOne(items[0]!, 0), (entry) => [entry]) : Effect.forEach(items, encodeOne)

  /** The store TTL of an entry with `meta`: a value with its own expiration gets one to match. */
  const ttlOf = (meta: EntryMeta.EntryMeta, call: Settings.CallSettings<A>) =>
    meta.expirationMs === undefined
      ? call.storeTtl
      : Settings.storeTtlFor(settings.storeTtlMs, settings.envelope, meta.expirationMs)

  /** The backend entry of `bytes` for `target`. */
  const entryOf = (target: Keys.Target, bytes: Uint8Array, meta: EntryMeta.EntryMeta, call: Settings.CallSettings<A>): BackendEntry => ({
    key: target.full,
    value: bytes,
    ttl: ttlOf(meta, call)
  })

  const store: Writes<A>["store"] = (entries, call, now) =>
    Eager.flatMap(
      encodeAll(entries, ([target, value, meta]) =>
        Eager.map(storage.encode(Keys.display(target), value, now, meta), (bytes) => entryOf(target, bytes, meta, call))),
      (writes) => guardStore(write(writes))
    )

  const renew: Writes<A>["renew"] = (entries, call) =>
    guardStore(write(entries.map(([target, bytes, meta]) => entryOf(target, bytes, meta, call))))

  const restampMany = backend.restampMany?.bind(backend)
  const restamp: Writes<A>["restamp"] = restampMany === undefined ? undefined : (entries, call) =>
    Effect.suspend(() => {
      let applied: ReadonlyArray<boolean> = entries.map(() => true)
      const sent = restampMany(entries.map(([target, plan, meta]): BackendRestamp => ({
        key: target.full,
        length: plan.length,
        expected: plan.expected,
        header: plan.header,
        ttl: ttlOf(meta, call)
      })))
      return Effect.map(guardStore(Effect.map(sent, (answers) => void (applied = answers))), () => applied)
    })

  const noMetadata = () =>
    new InvalidOptionError({
      component: `Region ${name}`,
      option: "tags",
      reason: `need an envelope that stores creation times; the ${settings.envelope.name} envelope does not`
    })

  const setMany: Writes<A>["setMany"] = (entries, call) =>
    Effect.suspend((): Effect.Effect<void, CacheError> => {
      if (!Array.isArray(entries)) {
        return Effect.fail(new InvalidKeyError({ key: typeof entries, reason: "expected an array of [key, value] pairs" }))
      }
      const targets = Keys.resolveAll(keySpace, entries.map((entry) => (Array.isArray(entry) ? entry[0] : entry)))
      if (targets instanceof InvalidKeyError) return Effect.fail(targets)
      if (targets.length === 0) return Effect.void
      return Effect.flatMap(Settings.expirationFor(settings as Settings.RegionSettings<unknown>, call), (expirationMs) =>
        Effect.flatMap(Settings.validateTags(name, call?.tags), (tags) =>
          Effect.flatMap(Clock.currentTimeMillis, (now): Effect.Effect<void, CacheError> => {
            const ttl = Settings.storeTtlFor(settings.storeTtlMs, settings.envelope, expirationMs)
            const meta: EntryMeta.EntryMeta = tags === undefined ? EntryMeta.empty : { tags }
            if (tags !== undefined && !Envelope.allowsMetadata(settings.envelope)) return Effect.fail(noMetadata())
            // Encode everything first: one value that cannot be encoded writes nothing.
            return Eager.flatMap(
              encodeAll(targets, (target, i) =>
                Eager.map(
                  storage.encode(Keys.display(target), (entries[i] as readonly [unknown, A])[1], now, meta),
                  (bytes): BackendEntry => ({ key: target.full, value: bytes, ttl })
                )),
              write
            )
          })))
    })

  return { setMany, store, renew, restamp }
}
