/**
 * Per-entry expiry inside a bucket: Redis 7.0 expires whole hashes only, so an
 * entry's age comes from the creation time its envelope stores.
 *
 * @since 0.1.0
 */
import { type CodecShape, Envelope } from "@dogpile-effect/core"
import { Duration, Effect, Option } from "effect"

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
 * Set `maxAge` to the region's expiration for strict per-entry expiry, or
 * longer (expiration + grace) to keep serving stale values while one caller
 * regenerates, as the region does within its expiration.
 *
 * @since 0.1.0
 */
export interface EntryExpiryOptions {
  /** Age after which a field is treated as gone. */
  readonly maxAge: Duration.Input
  /** The envelope the regions on this backend write; default `Envelope.compact()`. */
  readonly envelope?: Envelope.EnvelopeShape
  /** Fields removed per script call; default 100. */
  readonly batchSize?: number
  /** Most expired fields waiting for removal; default 10,000. */
  readonly queueCapacity?: number
  /**
   * `"background"` (default): a fiber of the Layer's scope removes queued
   * fields as they come. `"manual"`: nothing runs on its own; call
   * `HashStore.sweepPending` (e.g. on a schedule).
   */
  readonly sweeper?: "background" | "manual"
}

/** Resolved options. */
export interface EntryExpirySettings {
  readonly maxAgeMs: number
  readonly envelope: Envelope.EnvelopeShape
  readonly batchSize: number
  readonly queueCapacity: number
  readonly sweeper: "background" | "manual"
}

/**
 * Validates and fills in defaults.
 *
 * @since 0.1.0
 */
export const resolve = (options: EntryExpiryOptions): EntryExpirySettings => {
  const maxAgeMs = Duration.toMillis(Duration.fromInputUnsafe(options.maxAge))
  if (!(maxAgeMs >= 0)) throw new RangeError(`EntryExpiry: maxAge must be a non-negative duration`)
  const batchSize = options.batchSize ?? 100
  const queueCapacity = options.queueCapacity ?? 10_000
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new RangeError("EntryExpiry: batchSize must be a positive integer")
  if (!Number.isInteger(queueCapacity) || queueCapacity < 1) {
    throw new RangeError("EntryExpiry: queueCapacity must be a positive integer")
  }
  return {
    maxAgeMs,
    envelope: options.envelope ?? Envelope.compact(),
    batchSize,
    queueCapacity,
    sweeper: options.sweeper ?? "background"
  }
}

/** A codec that hands back the payload bytes untouched: decoding the envelope only, never the value. */
const headerOnly: CodecShape = {
  name: "hstore-header",
  encode: (value) => Effect.succeed(value instanceof Uint8Array ? value : new Uint8Array()),
  decode: (bytes) => Effect.succeed(bytes)
}

/**
 * The creation time stored in `bytes` by `envelope`, or `None` when the bytes
 * are not of that envelope (or it stores no time): such values are left to the
 * region and never expired here.
 *
 * @example
 * ```ts
 * import { Codec, Envelope } from "@dogpile-effect/core"
 * import { EntryExpiry } from "@dogpile-effect/hstore"
 * import { Effect } from "effect"
 *
 * const program = Effect.gen(function*() {
 *   const bytes = yield* Envelope.compact().encode(1, 1_700_000_000_000, Codec.json)
 *   return yield* EntryExpiry.createdAt(Envelope.compact(), bytes, Date.now()) // Some(1700000000000)
 * })
 * ```
 *
 * @since 0.1.0
 */
export const createdAt = (
  envelope: Envelope.EnvelopeShape,
  bytes: Uint8Array,
  now: number
): Effect.Effect<Option.Option<number>> =>
  envelope.storesCreatedAt
    ? envelope.decode(bytes, now, headerOnly).pipe(
      Effect.map((entry) => Option.some(entry.createdAt)),
      Effect.orElseSucceed(() => Option.none<number>())
    )
    : Effect.succeedNone

/**
 * Whether a stored value is past `maxAgeMs` at `now` (strictly older, like
 * the region's expiry rule).
 *
 * @since 0.1.0
 */
export const isExpired = (
  settings: EntryExpirySettings,
  bytes: Uint8Array,
  now: number
): Effect.Effect<boolean> =>
  Effect.map(createdAt(settings.envelope, bytes, now), (time) => Option.isSome(time) && now - time.value > settings.maxAgeMs)
