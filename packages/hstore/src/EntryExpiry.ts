/**
 * Per-entry expiry inside a bucket: Redis before 7.4 expires whole hashes
 * only, so an entry's age comes from the creation time its envelope stores.
 *
 * @since 0.1.0
 */
import { EntryMeta, type Envelope, InvalidOptionError, Options } from "@dogpile-effect/core"
import { Effect, Option } from "effect"
import { headerOnly } from "./HeaderCodec.ts"

/**
 * Options of per-entry expiry (`HashBackend.layer({ entryExpiry })`).
 *
 * A hash field whose envelope says it was created more than `maxAge` ago is
 * returned as a miss and queued for removal; a sweeper deletes queued fields
 * in batches of `batchSize` with a compare-and-delete script (a field
 * rewritten meanwhile stays). The queue holds at most `queueCapacity` fields;
 * beyond that expired fields are simply not queued (counted in
 * `dogpile_hstore_sweep_dropped`), so reads never wait for removal.
 *
 * Without `maxAge`, an entry's age limit is its bucket's store TTL: the
 * longest `ttl` hint (the region's store TTL, expiration plus the stale
 * window) ever written to the bucket, which the write script keeps in the
 * reserved field `"\u0000hstore:ttl"` of the bucket. Entries then read as gone
 * exactly when their store TTL (or a longer one of the same bucket) has
 * passed, and a bucket written without a hint keeps its entries. With `maxAge`
 * every bucket uses that age instead (no reserved field).
 *
 * Creation times are read from the envelopes core writes, recognised by their
 * first byte: `Envelope.full()` (`0xFE`, any version), `Envelope.compact()`
 * (`0xFC`, one-second resolution) and `Envelope.packed()` (a decimal integer,
 * default epoch; its other values are compact). Values of `Envelope.raw`
 * carry no creation time: do not combine them with per-entry expiry (raw
 * integers would read as packed ones). A region whose envelope has other
 * parameters (`compact({ resolution })`, `packed({ epoch })`) must be named in
 * `envelope`.
 *
 * @example
 * ```ts
 * import { HashBackend } from "@dogpile-effect/hstore"
 * const layer = HashBackend.layer({ entryExpiry: { maxAge: "1 hour", sweeper: "manual" } })
 * ```
 *
 * @category models
 * @since 0.1.0
 */
export interface EntryExpiryOptions {
  /**
   * Age after which a field is treated as gone: a finite duration, zero
   * allowed. Default: the longest store TTL written to its bucket (above).
   */
  readonly maxAge?: Options.DurationOption | undefined
  /**
   * The envelope the regions on this backend write, when it has non-default
   * parameters. Default: full, compact and packed recognised by their first
   * byte. An envelope that stores no creation time (`Envelope.raw`) fails the
   * Layer with `InvalidOptionError`.
   */
  readonly envelope?: Envelope.EnvelopeShape | undefined
  /** Fields removed per script call; default 100. */
  readonly batchSize?: number | undefined
  /** Most expired fields waiting for removal; default 10,000. */
  readonly queueCapacity?: number | undefined
  /**
   * `"background"` (default): a fiber of the Layer's scope removes queued
   * fields as they come. `"manual"`: nothing runs on its own; call
   * `HashStore.sweepPending` (e.g. on a schedule).
   */
  readonly sweeper?: "background" | "manual" | undefined
}

/**
 * Validated options, defaults filled in.
 *
 * @example
 * ```ts
 * import { EntryExpiry } from "@dogpile-effect/hstore"
 * const settings = EntryExpiry.resolve({ maxAge: "1 hour" }) // Effect<EntryExpirySettings, InvalidOptionError>
 * ```
 *
 * @category models
 * @since 0.1.0
 */
export interface EntryExpirySettings {
  /** `undefined`: each bucket's longest store TTL, kept in its {@link TTL_FIELD}. */
  readonly maxAgeMs: number | undefined
  /** `undefined`: recognise the core envelopes by their first byte. */
  readonly envelope: Envelope.EnvelopeShape | undefined
  readonly batchSize: number
  readonly queueCapacity: number
  readonly sweeper: "background" | "manual"
}

const COMPONENT = "HashBackend"

const invalid = (option: string, reason: string) =>
  Effect.fail(new InvalidOptionError({ component: COMPONENT, option: `entryExpiry.${option}`, reason }))

/**
 * Validates and fills in defaults; fails with `InvalidOptionError` naming the
 * option and what to change.
 *
 * @example
 * ```ts
 * import { EntryExpiry } from "@dogpile-effect/hstore"
 * EntryExpiry.resolve({ maxAge: "1 hour" }) // Effect<{ maxAgeMs: 3600000, ... }>
 * ```
 *
 * @category constructors
 * @since 0.1.0
 */
export const resolve = (options: EntryExpiryOptions): Effect.Effect<EntryExpirySettings, InvalidOptionError> =>
  Effect.gen(function*() {
    const maxAgeMs = options.maxAge === undefined
      ? undefined
      : yield* Options.millis(COMPONENT, "entryExpiry.maxAge", options.maxAge, { zero: true })
    const envelope = options.envelope
    if (envelope !== undefined && !envelope.storesCreatedAt) {
      return yield* invalid(
        "envelope",
        `is Envelope.${envelope.name}, which stores no creation time, so per-entry expiry could never apply: ` +
          "write full, compact or packed envelopes in the regions, or drop entryExpiry and rely on the bucket TTL"
      )
    }
    const batchSize = yield* Options.integer(COMPONENT, "entryExpiry.batchSize", options.batchSize, 100, { min: 1 })
    const queueCapacity = yield* Options.integer(
      COMPONENT,
      "entryExpiry.queueCapacity",
      options.queueCapacity,
      10_000,
      { min: 1 }
    )
    const sweeper = options.sweeper ?? "background"
    if (sweeper !== "background" && sweeper !== "manual") {
      return yield* invalid("sweeper", `must be "background" or "manual", got ${JSON.stringify(sweeper)}`)
    }
    return { maxAgeMs, envelope, batchSize, queueCapacity, sweeper }
  })

const FULL_MAGIC = 0xfe
const COMPACT_MAGIC = 0xfc
const FULL_HEADER = 9
const COMPACT_HEADER = 5
const PACKED_EPOCH = Date.UTC(2024, 0, 1)
const PACKED_TIME_MASK = (1n << 31n) - 1n
const PACKED_PAYLOAD_LIMIT = 2 ** 31
const canonicalInteger = /^(?:0|-?[1-9][0-9]*)$/
const text = new TextDecoder()

const view = (bytes: Uint8Array, length: number) => new DataView(bytes.buffer, bytes.byteOffset, length)

/** `Envelope.full()`: magic, 16-bit version, 48-bit milliseconds. */
const fullCreatedAt = (bytes: Uint8Array): number | undefined =>
  bytes.length >= FULL_HEADER && bytes[0] === FULL_MAGIC
    ? view(bytes, FULL_HEADER).getUint16(3) * 2 ** 32 + view(bytes, FULL_HEADER).getUint32(5)
    : undefined

/** `Envelope.compact()` with its default one-second resolution. */
const compactCreatedAt = (bytes: Uint8Array): number | undefined =>
  bytes.length >= COMPACT_HEADER && bytes[0] === COMPACT_MAGIC
    ? view(bytes, COMPACT_HEADER).getUint32(1) * 1000
    : undefined

/** `Envelope.packed()` integers (value × 2^31 + seconds since its default epoch). */
const packedCreatedAt = (bytes: Uint8Array): number | undefined => {
  if (bytes.length === 0 || bytes.length > 20) return undefined
  const first = bytes[0] as number
  if (first !== 0x2d && (first < 0x30 || first > 0x39)) return undefined
  const digits = text.decode(bytes)
  if (!canonicalInteger.test(digits)) return undefined
  const n = BigInt(digits)
  const value = Number(n >> 31n)
  if (value < -PACKED_PAYLOAD_LIMIT || value >= PACKED_PAYLOAD_LIMIT) return undefined
  return PACKED_EPOCH + Number(n & PACKED_TIME_MASK) * 1000
}

/**
 * The creation time of bytes written by one of core's envelopes with default
 * parameters, recognised by the first byte, or `undefined`.
 *
 * @example
 * ```ts
 * import { Codec, Envelope } from "@dogpile-effect/core"
 * import { EntryExpiry } from "@dogpile-effect/hstore"
 * import { Effect } from "effect"
 * const bytes = Effect.runSync(Envelope.full().encode(1, 1_700_000_000_000, Codec.json))
 * EntryExpiry.recognise(bytes) // 1700000000000
 * ```
 *
 * @category getters
 * @since 0.1.0
 */
export const recognise = (bytes: Uint8Array): number | undefined =>
  fullCreatedAt(bytes) ?? compactCreatedAt(bytes) ?? packedCreatedAt(bytes)


/**
 * The creation time stored in `bytes`: read with `envelope` when one is given
 * (a full envelope of any version is recognised too), otherwise recognised by
 * the first byte ({@link recognise}). `None` for bytes of no known envelope:
 * such values are left to the region and never expired here.
 *
 * @example
 * ```ts
 * import { Codec, Envelope } from "@dogpile-effect/core"
 * import { EntryExpiry } from "@dogpile-effect/hstore"
 * import { Effect } from "effect"
 *
 * const program = Effect.gen(function*() {
 *   const bytes = yield* Envelope.compact().encode(1, 1_700_000_000_000, Codec.json)
 *   return yield* EntryExpiry.createdAt(undefined, bytes, Date.now()) // Some(1700000000000)
 * })
 * ```
 *
 * @category getters
 * @since 0.1.0
 */
export const createdAt = (
  envelope: Envelope.EnvelopeShape | undefined,
  bytes: Uint8Array,
  now: number
): Effect.Effect<Option.Option<number>> => {
  // Entries with tags, early-refresh timing or their own expiration carry core's metadata header first.
  const unwrapped = EntryMeta.unwrap(bytes)
  if (Option.isNone(unwrapped)) return Effect.succeedNone
  const inner = unwrapped.value.inner
  return envelope === undefined
    ? Effect.succeed(Option.fromUndefinedOr(recognise(inner)))
    : envelope.decode(inner, now, headerOnly).pipe(
      Effect.map((entry) => Option.some(entry.createdAt)),
      Effect.orElseSucceed(() => Option.fromUndefinedOr(fullCreatedAt(inner)))
    )
}

/**
 * The reserved bucket field holding the longest store TTL (milliseconds, `-1`
 * for none) written to the bucket, when `entryExpiry` has no `maxAge`. A cache
 * key with this field is refused (`UnsupportedKeyError`).
 *
 * @example
 * ```ts
 * import { EntryExpiry } from "@dogpile-effect/hstore"
 * EntryExpiry.TTL_FIELD // "\u0000hstore:ttl"
 * ```
 *
 * @category constants
 * @since 0.1.0
 */
export const TTL_FIELD = "\u0000hstore:ttl"

/**
 * The age limit a bucket's {@link TTL_FIELD} value stands for: its
 * milliseconds, or `undefined` (never expire) for `-1`, a missing field or
 * anything unreadable.
 *
 * @example
 * ```ts
 * import { EntryExpiry } from "@dogpile-effect/hstore"
 * EntryExpiry.bucketMaxAge(Buffer.from("60000")) // 60000
 * ```
 *
 * @category getters
 * @since 0.1.0
 */
export const bucketMaxAge = (stored: Uint8Array | undefined): number | undefined => {
  if (stored === undefined || stored.length > 16) return undefined
  const ms = Number(text.decode(stored))
  return Number.isSafeInteger(ms) && ms >= 0 ? ms : undefined
}

/**
 * Whether a stored value is past `maxAgeMs` (by default the settings' own) at
 * `now`: strictly older, like the region's expiry rule. Never, when there is
 * no age limit.
 *
 * @example
 * ```ts
 * import { EntryExpiry } from "@dogpile-effect/hstore"
 * import { Effect } from "effect"
 * const program = Effect.flatMap(EntryExpiry.resolve({ maxAge: "1 hour" }), (settings) =>
 *   EntryExpiry.isExpired(settings, new Uint8Array([0xfc, 0, 0, 0, 1]), Date.now())) // true
 * ```
 *
 * @category predicates
 * @since 0.1.0
 */
export const isExpired = (
  settings: EntryExpirySettings,
  bytes: Uint8Array,
  now: number,
  maxAgeMs: number | undefined = settings.maxAgeMs
): Effect.Effect<boolean> =>
  maxAgeMs === undefined ? Effect.succeed(false) : Effect.map(
    createdAt(settings.envelope, bytes, now),
    (time) => Option.isSome(time) && now - time.value > maxAgeMs
  )
