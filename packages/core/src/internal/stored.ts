/**
 * A region's values as stored bytes: dogpile's `get_value` and `gen_value`
 * halves. Bytes are unwrapped by the envelope, decoded by the codec, then
 * checked by the region's Schema; anything that fails on the way is a miss,
 * counted in `dogpile_decode_failures_total`.
 *
 * @internal
 */
import { Effect, Exit, Metric, Option, Schema } from "effect"
import { type DecodeError, EncodeError } from "../CacheError.ts"
import * as EntryMeta from "../EntryMeta.ts"
import * as Envelope from "../Envelope.ts"
import type { InvalidationState } from "../Invalidation.ts"
import type { RegionMetrics } from "../RegionMetrics.ts"
import type * as ReadDecision from "./readDecision.ts"
import type { RegionSettings } from "./settings.ts"

/** A decoded entry of type `A`, with its creation time (epoch ms) and metadata. */
export interface Stored<A> {
  readonly value: A
  readonly createdAt: number
  readonly meta: EntryMeta.EntryMeta
  /**
   * The envelope's bytes it was decoded from (behind the metadata), to renew it without encoding. A
   * view of what the client handed over: use it in the step that read it (a client may reuse its
   * buffer later, as a Redis parser's pool does), never after.
   */
  readonly inner?: Uint8Array | undefined
  /** The answers of a hit on this entry, built on the first hit (a hit then allocates nothing). */
  exit: Exit.Exit<A> | undefined
  someExit: Exit.Exit<Option.Option<A>> | undefined
}

/** A decoded entry, its hit answers not yet built. */
export const entry = <A>(value: A, createdAt: number, meta: EntryMeta.EntryMeta, inner?: Uint8Array): Stored<A> => ({
  value,
  createdAt,
  meta,
  inner,
  exit: undefined,
  someExit: undefined
})

/** The answer of a hit on `entry` (`getOrCreate`): the same `Exit` on every hit. */
export const hitExit = <A>(entry: Stored<A>): Exit.Exit<A> => (entry.exit ??= Exit.succeed(entry.value))

/** The answer of a hit on `entry` (`get`): the same `Exit` on every hit. */
export const someHitExit = <A>(entry: Stored<A>): Exit.Exit<Option.Option<A>> =>
  (entry.someExit ??= Exit.succeed(Option.some(entry.value)))

/**
 * What a read found for one key. `early`: fresh, but chosen for an early refresh (XFetch). `entry`:
 * the decoded entry, which a conditional creator may renew: absent for a soft-invalidated one (only
 * entries fresh or stale by time are renewed).
 */
export type Found<A> =
  | { readonly _tag: "Fresh"; readonly value: A; readonly early?: boolean; readonly entry?: Stored<A> }
  | { readonly _tag: "Stale"; readonly value: A; readonly entry?: Stored<A> | undefined }
  | { readonly _tag: "Missing" }

/** The one `Missing`. */
export const missing: Found<never> = { _tag: "Missing" }

/** The newest hard and soft invalidation marks among an entry's tags (0 when none). */
export type TagMarkOf = (tags: ReadonlyArray<string>) => InvalidationState

/** The marks of `stored`'s tags by `tagMark`, `undefined` when it has none (what {@link ReadDecision.decide} takes). */
export const tagMarksOf = (stored: ReadDecision.Header, tagMark: TagMarkOf | undefined): InvalidationState | undefined => {
  const tags = stored.meta.tags
  return tags === undefined || tagMark === undefined ? undefined : tagMark(tags)
}

/**
 * What a read found for a key: its decision on `stored` (`undefined` when nothing was found) as a
 * `Found`; a stale entry keeps `stored` (for a conditional refresh) unless the marks soft-invalidated it.
 */
export const found = <A>(
  decision: ReadDecision.Decision,
  stored: Stored<A> | undefined,
  marks?: InvalidationState,
  tagMarks?: InvalidationState
): Found<A> => {
  if (stored === undefined) return missing
  switch (decision) {
    case "Fresh":
      return { _tag: "Fresh", value: stored.value, entry: stored }
    case "RefreshEarly":
      return { _tag: "Fresh", value: stored.value, early: true, entry: stored }
    case "Stale":
      return {
        _tag: "Stale",
        value: stored.value,
        entry: marks !== undefined && softInvalidated(stored, marks, tagMarks) ? undefined : stored
      }
    default:
      return missing
  }
}

/** Whether a soft mark of the region or of one of its tags is newer than `stored`. */
const softInvalidated = (stored: ReadDecision.Header, marks: InvalidationState, tagMarks: InvalidationState | undefined) =>
  stored.createdAt < marks.soft || (tagMarks !== undefined && stored.createdAt < tagMarks.soft)

/** Encodes and decodes one region's values. */
export interface Storage<A> {
  /** Decodes stored bytes; a failure is a miss, counted unless `count` is false (a re-read of the same bytes). */
  readonly decode: (bytes: Option.Option<Uint8Array>, now: number, count?: boolean) => Effect.Effect<Option.Option<Stored<A>>>
  /**
   * `decode` of present bytes, answered at once when every step answers at once (an eager codec, the
   * Schema accepting the value): the entry; otherwise the effect doing the rest (each step run once).
   */
  readonly open: (bytes: Uint8Array, now: number, count?: boolean) => Stored<A> | Effect.Effect<Option.Option<Stored<A>>>
  /** What `decode` made of these exact bytes (the same instance) at `now`, if it decoded them before. */
  readonly decoded: (bytes: Uint8Array, now: number) => Stored<A> | undefined
  /** Encodes a value created at `createdAt`, with its metadata, failing with `EncodeError` naming the key. */
  readonly encode: (
    shown: string,
    value: A,
    createdAt: number,
    meta?: EntryMeta.EntryMeta
  ) => Effect.Effect<Uint8Array, EncodeError>
  /**
   * The bytes of `stored` renewed at `createdAt` with `meta`: its envelope's bytes with the creation
   * time rewritten, behind the new metadata; the codec does not run. `undefined` when it cannot.
   */
  readonly renew: (stored: Stored<A>, createdAt: number, meta: EntryMeta.EntryMeta) => Uint8Array | undefined
  /**
   * `stored` renewed at `createdAt` with `meta` in place: the header it was stored with (rebuilt
   * from what was decoded, never from its bytes, which may be gone), its whole length, and the new
   * header. `undefined` when the envelope cannot rebuild its header, or the new header's length
   * differs (other tags): then the entry is renewed by `renew` and a whole write.
   */
  readonly inPlace: (stored: Stored<A>, createdAt: number, meta: EntryMeta.EntryMeta) => InPlace | undefined
}

/** A renewal in place: the entry of `length` bytes starting with `expected` gets `header` instead. */
export interface InPlace {
  readonly length: number
  readonly expected: Uint8Array
  readonly header: Uint8Array
}

const schemaDecoder = <A>(settings: RegionSettings<A>) => {
  const schema = settings.schema
  if (schema === undefined) return undefined
  const decode = Schema.decodeUnknownExit(schema)
  return (value: unknown): Option.Option<A> => {
    const exit = decode(value)
    return Exit.isSuccess(exit) ? Option.some(exit.value) : Option.none()
  }
}

const schemaEncoder = <A>(settings: RegionSettings<A>) => {
  const schema = settings.schema
  if (schema === undefined) return undefined
  const encode = Schema.encodeUnknownExit(schema)
  // A value that throws when inspected (a revoked Proxy) throws out of the parser: a failure, not a defect.
  return (value: A): Exit.Exit<unknown, unknown> => {
    try {
      return encode(value)
    } catch (error) {
      return Exit.fail(error)
    }
  }
}

/** Builds the storage of a region from its settings. */
export const make = <A>(settings: RegionSettings<A>, metrics: RegionMetrics, keepDecoded: boolean): Storage<A> => {
  const { codec, envelope } = settings
  const withMeta = Envelope.allowsMetadata(envelope)
  const fromSchema = schemaDecoder(settings)
  const toSchema = schemaEncoder(settings)
  const counted = (reason: unknown) =>
    Effect.as(
      Effect.andThen(
        Metric.update(metrics.decodeFailures, 1),
        Effect.logDebug("dogpile: stored value did not decode; treating it as a miss", reason)
      ),
      Option.none<Stored<A>>()
    )

  // Decoded entries by the bytes they came from: a store that hands back the same instance for an
  // unchanged value (memory, a near cache) is decoded once. Weak: it never keeps bytes alive. Not
  // kept for other stores (every read brings new bytes; a weak entry per read only costs the GC).
  const byBytes = new WeakMap<Uint8Array, Stored<A>>()
  const keep = keepDecoded && envelope.storesCreatedAt
  // An envelope without a creation time (raw) makes an entry "created" at each read: its decoded value
  // is kept by the same bytes, and each read rebuilds the entry at its own time (marks apply as before).
  const valueByBytes = new WeakMap<Uint8Array, readonly [A, EntryMeta.EntryMeta]>()
  const keepValue = keepDecoded && !envelope.storesCreatedAt
  const decodedAt = (bytes: Uint8Array, now: number): Stored<A> | undefined => {
    if (keep) return byBytes.get(bytes)
    if (!keepValue) return undefined
    const known = valueByBytes.get(bytes)
    return known === undefined ? undefined : entry(known[0], now, known[1])
  }

  /** The stored entry of what the envelope opened, or a miss (counted). Keeps what it decoded, where kept. */
  const accept = (
    bytes: Uint8Array,
    opened: Envelope.Entry,
    meta: EntryMeta.EntryMeta,
    count: boolean,
    now: number,
    inner: Uint8Array
  ) => {
    const value = fromSchema === undefined ? Option.some(opened.value as A) : fromSchema(opened.value)
    if (Option.isNone(value)) return count ? counted("the value does not match the region's schema") : Effect.succeedNone
    const decoded = entry(value.value, opened.createdAt, meta, withMeta ? inner : undefined)
    if (keep) byBytes.set(bytes, decoded)
    else if (keepValue && opened.createdAt === now) valueByBytes.set(bytes, [value.value, meta])
    return decoded
  }

  const open = (bytes: Uint8Array, now: number, count = true): Stored<A> | Effect.Effect<Option.Option<Stored<A>>> => {
    const known = decodedAt(bytes, now)
    if (known !== undefined) return known
    // Only envelopes that allow metadata can carry it: a raw value starting with 0xFD is just a value.
    const unwrapped = withMeta ? EntryMeta.unwrap(bytes) : Option.some({ meta: EntryMeta.empty, inner: bytes })
    if (Option.isNone(unwrapped)) return count ? counted("malformed entry metadata") : Effect.succeedNone
    const { inner, meta } = unwrapped.value
    const opened = envelope.decode(inner, now, codec)
    // An eager codec's answer is already complete: read it here, with no fiber step.
    if (Exit.isExit(opened) && Exit.isSuccess(opened as Exit.Exit<Envelope.Entry, DecodeError>)) {
      return accept(bytes, (opened as Exit.Success<Envelope.Entry, DecodeError>).value, meta, count, now, inner)
    }
    return Effect.matchEffect(opened, {
      onFailure: (error) => (count ? counted(error.reason) : Effect.succeedNone),
      onSuccess: (entry) => {
        const accepted = accept(bytes, entry, meta, count, now, inner)
        return Effect.isEffect(accepted) ? accepted : Effect.succeedSome(accepted)
      }
    })
  }

  const decode = (bytes: Option.Option<Uint8Array>, now: number, count = true): Effect.Effect<Option.Option<Stored<A>>> => {
    if (Option.isNone(bytes)) return Effect.succeedNone
    const opened = open(bytes.value, now, count)
    return Effect.isEffect(opened) ? opened : Effect.succeedSome(opened)
  }

  const encode = (
    shown: string,
    value: A,
    createdAt: number,
    meta: EntryMeta.EntryMeta = EntryMeta.empty
  ): Effect.Effect<Uint8Array, EncodeError> => {
    let plain: unknown = value
    if (toSchema !== undefined) {
      const exit = toSchema(value)
      if (Exit.isFailure(exit)) {
        return Effect.fail(
          new EncodeError({ codec: `schema`, reason: "the value does not match the region's schema", key: shown })
        )
      }
      plain = exit.value
    }
    if (!withMeta && !EntryMeta.isEmpty(meta)) {
      return Effect.fail(new EncodeError({ codec: envelope.name, reason: "this envelope stores no metadata (tags, own expiration)", key: shown }))
    }
    // A value whose getters throw, or a codec bug, must not end as a defect.
    const threw = (defect: unknown) => new EncodeError({ codec: codec.name, reason: `encoding threw: ${String(defect)}`, key: shown })
    let encoded: Effect.Effect<Uint8Array, EncodeError>
    try {
      encoded = envelope.encode(plain, createdAt, codec)
    } catch (defect) {
      return Effect.fail(threw(defect))
    }
    // An eager codec's bytes are at hand: no further fiber step.
    if (Exit.isExit(encoded) && Exit.isSuccess(encoded)) return Exit.succeed(EntryMeta.wrap(meta, encoded.value as Uint8Array))
    return encoded.pipe(
      Effect.map((bytes) => EntryMeta.wrap(meta, bytes)),
      Effect.mapError((error) => new EncodeError({ codec: error.codec, reason: error.reason, key: shown })),
      Effect.catchDefect((defect) => Effect.fail(threw(defect)))
    )
  }

  const renew = (stored: Stored<A>, createdAt: number, meta: EntryMeta.EntryMeta): Uint8Array | undefined => {
    if (stored.inner === undefined || envelope.restamp === undefined) return undefined
    const restamped = envelope.restamp(stored.inner, createdAt)
    return Option.isSome(restamped) ? EntryMeta.wrap(meta, restamped.value) : undefined
  }

  const inPlace = (stored: Stored<A>, createdAt: number, meta: EntryMeta.EntryMeta): InPlace | undefined => {
    const header = envelope.header
    if (stored.inner === undefined || header === undefined) return undefined
    const before = header(stored.createdAt)
    const expected = EntryMeta.wrap(stored.meta, before)
    const renewed = EntryMeta.wrap(meta, header(createdAt))
    if (renewed.length !== expected.length || stored.inner.length < before.length) return undefined
    return { length: expected.length + stored.inner.length - before.length, expected, header: renewed }
  }

  return { decode, open, decoded: decodedAt, encode, renew, inPlace }
}
