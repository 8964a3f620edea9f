/**
 * Expiry envelopes: how a stored value carries its creation time and format
 * version, independently of the codec that encodes the payload.
 *
 * @since 0.1.0
 */
import { Context, Duration, Effect, Exit, Option } from "effect"
import { DecodeError, EncodeError } from "./CacheError.ts"
import type { CodecShape } from "./Codec.ts"
import * as Eager from "./internal/eager.ts"
import {
  COMPACT_HEADER,
  COMPACT_MAGIC,
  FULL_HEADER,
  FULL_MAGIC,
  MAX_UINT32,
  putUint32,
  restamped,
  withHeader,
  writeCompactHeader,
  writeFullHeader,
  writeFullTime
} from "./internal/envelopeHeader.ts"

/**
 * A decoded entry: the value and the time it was created (epoch milliseconds).
 *
 * @since 0.1.0
 */
export interface Entry {
  readonly value: unknown
  readonly createdAt: number
}

/**
 * An envelope format. `encode` wraps a value created at `createdAt`; `decode`
 * unwraps it, failing with {@link DecodeError} on bytes of another format or
 * version (the region counts that as a miss). `now` is the reader's clock, used
 * by formats that do not store a time.
 *
 * @since 0.1.0
 */
export interface EnvelopeShape {
  readonly name: string
  /**
   * Whether the creation time is stored. When it is not (raw), expiry is left to
   * the store's TTL and the region passes its expiration as the TTL hint.
   */
  readonly storesCreatedAt: boolean
  /**
   * Why the envelope's options are invalid, if they are. Constructors never
   * throw: a region built with such an envelope fails with
   * `InvalidOptionError` naming the problem.
   */
  readonly problem?: string | undefined
  /**
   * Whether the region may put `EntryMeta` (tags, early-refresh timing, a
   * value's own expiration) in front of this envelope's bytes. Envelopes that
   * another program reads byte for byte (the Python ones) say `false`: the
   * region then refuses those features with `InvalidOptionError`. Default: yes
   * when the envelope stores creation times.
   */
  readonly metadata?: boolean | undefined
  encode(value: unknown, createdAt: number, codec: CodecShape): Effect.Effect<Uint8Array, EncodeError>
  decode(bytes: Uint8Array, now: number, codec: CodecShape): Effect.Effect<Entry, DecodeError>
  /**
   * Reads the header without decoding the payload (for `Region.inspect`):
   * `None` for bytes of another format. Envelopes without it are inspected by
   * a full decode.
   */
  peek?(bytes: Uint8Array): Option.Option<EnvelopeHeader>
  /**
   * The same entry created at `createdAt`: a copy of `bytes` with only the header's creation time
   * rewritten, the payload untouched and not decoded (a conditional refresh that answered "not
   * modified"). `None` for bytes of another format. Envelopes without it cannot renew entries:
   * regions refuse conditional creators with them.
   */
  restamp?(bytes: Uint8Array, createdAt: number): Option.Option<Uint8Array>
  /**
   * The header this envelope writes in front of the payload of an entry created at `createdAt`
   * (what `restamp` rewrites; its length is the header's). With it, a region renews a "not
   * modified" entry in place where the backend can (`Backend.restampMany`): it sends the old and
   * the new header, not the value. Envelopes without it renew by re-reading and rewriting.
   */
  header?(createdAt: number): Uint8Array
}

/**
 * Whether a region may store `EntryMeta` in front of this envelope's bytes.
 *
 * @example
 * ```ts
 * import { Envelope } from "@dogpile-effect/core"
 * Envelope.allowsMetadata(Envelope.raw) // false
 * ```
 *
 * @category predicates
 * @since 0.1.0
 */
export const allowsMetadata = (envelope: EnvelopeShape): boolean =>
  envelope.storesCreatedAt && envelope.metadata !== false

/**
 * What an envelope's header says about an entry, read without its payload.
 *
 * @example
 * ```ts
 * import { Envelope } from "@dogpile-effect/core"
 * const header: Envelope.EnvelopeHeader = { createdAt: 0, version: 1, payloadBytes: 12 }
 * ```
 *
 * @category models
 * @since 0.1.0
 */
export interface EnvelopeHeader {
  /** The creation time (epoch ms), when the envelope stores one. */
  readonly createdAt?: number | undefined
  /** The format version, when the envelope stores one. */
  readonly version?: number | undefined
  readonly payloadBytes: number
}

/** An envelope built from invalid options: regions refuse it when built; used directly, it fails every call. */
const invalidEnvelope = (name: string, problem: string): EnvelopeShape => ({
  name,
  storesCreatedAt: true,
  problem,
  encode: () => Effect.fail(new EncodeError({ codec: `envelope:${name}`, reason: problem })),
  decode: () => Effect.fail(new DecodeError({ codec: `envelope:${name}`, reason: problem }))
})

const malformed = (name: string, reason: string) => Effect.fail(new DecodeError({ codec: `envelope:${name}`, reason }))

/**
 * The entry of a decoded payload. A codec that decodes eagerly answers with a
 * completed `Exit`; the entry is then one too, so a region can read it without
 * another fiber step (the Redis hit path does).
 */
const entryOf = (decoded: Effect.Effect<unknown, DecodeError>, createdAt: number): Effect.Effect<Entry, DecodeError> =>
  Exit.isExit(decoded)
    ? Exit.map(decoded as Exit.Exit<unknown, DecodeError>, (value) => ({ value, createdAt }))
    : Effect.map(decoded, (value) => ({ value, createdAt }))

/**
 * The full envelope (dogpile's semantics): a magic byte, a 16-bit format
 * version, the creation time in milliseconds (48 bits), then the payload.
 * 9 bytes of overhead. A stored version other than `version` decodes as a
 * {@link DecodeError} with reason `version mismatch`, which the region treats
 * as a miss.
 *
 * @example
 * ```ts
 * import { Envelope } from "@dogpile-effect/core"
 * const envelope = Envelope.full({ version: 2 })
 * ```
 *
 * @since 0.1.0
 */
export const full = (options?: { readonly version?: number }): EnvelopeShape => {
  const version = options?.version ?? 1
  if (!Number.isInteger(version) || version < 0 || version > 0xffff) {
    return invalidEnvelope("full", `Envelope.full: version must be an integer in 0..65535, got ${version}`)
  }
  return {
    name: "full",
    storesCreatedAt: true,
    encode: (value, createdAt, codec) =>
      // An eager codec's bytes are a completed `Exit`; the envelope's are then one too (no fiber step).
      Eager.map(codec.encode(value), (payload) =>
        withHeader(FULL_HEADER, payload, (out) => writeFullHeader(out, version, createdAt))),
    decode: (bytes, _now, codec) => {
      if (bytes.length < FULL_HEADER || bytes[0] !== FULL_MAGIC) return malformed("full", "not a full envelope")
      const view = new DataView(bytes.buffer, bytes.byteOffset, FULL_HEADER)
      const stored = view.getUint16(1)
      if (stored !== version) return malformed("full", `version mismatch: stored ${stored}, expected ${version}`)
      const createdAt = view.getUint16(3) * 2 ** 32 + view.getUint32(5)
      return entryOf(codec.decode(bytes.subarray(FULL_HEADER)), createdAt)
    },
    restamp: (bytes, createdAt) =>
      bytes.length < FULL_HEADER || bytes[0] !== FULL_MAGIC
        ? Option.none()
        : Option.some(restamped(bytes, (out) => writeFullTime(out, createdAt))),
    header: (createdAt) => {
      const out = new Uint8Array(FULL_HEADER)
      writeFullHeader(out, version, createdAt)
      return out
    },
    peek: (bytes) => {
      if (bytes.length < FULL_HEADER || bytes[0] !== FULL_MAGIC) return Option.none()
      const view = new DataView(bytes.buffer, bytes.byteOffset, FULL_HEADER)
      return Option.some({
        version: view.getUint16(1),
        createdAt: view.getUint16(3) * 2 ** 32 + view.getUint32(5),
        payloadBytes: bytes.length - FULL_HEADER
      })
    }
  }
}

/**
 * The compact envelope (the seed's `AltCachedValue`): a magic byte and the
 * creation time in whole units of `resolution` (default one second) as 32 bits,
 * then the payload. 5 bytes of overhead; no version. Creation times are rounded
 * down to the resolution, so values may expire up to one unit early.
 *
 * @example
 * ```ts
 * import { Envelope } from "@dogpile-effect/core"
 * const envelope = Envelope.compact({ resolution: "1 minute" })
 * ```
 *
 * @since 0.1.0
 */
export const compact = (options?: { readonly resolution?: Duration.Input }): EnvelopeShape => {
  const decoded = Duration.fromInput(options?.resolution ?? Duration.seconds(1))
  const unit = Option.isSome(decoded) ? Duration.toMillis(decoded.value) : Number.NaN
  if (!Number.isFinite(unit) || unit < 1) {
    return invalidEnvelope("compact", `Envelope.compact: resolution must be at least 1 ms, got ${String(options?.resolution)}`)
  }
  return {
    name: "compact",
    storesCreatedAt: true,
    encode: (value, createdAt, codec) =>
      Eager.map(codec.encode(value), (payload) =>
        withHeader(COMPACT_HEADER, payload, (out) => writeCompactHeader(out, unit, createdAt))),
    header: (createdAt) => {
      const out = new Uint8Array(COMPACT_HEADER)
      writeCompactHeader(out, unit, createdAt)
      return out
    },
    restamp: (bytes, createdAt) =>
      bytes.length < COMPACT_HEADER || bytes[0] !== COMPACT_MAGIC
        ? Option.none()
        : Option.some(restamped(bytes, (out) => putUint32(out, 1, Math.min(Math.max(0, Math.floor(createdAt / unit)), MAX_UINT32)))),
    decode: (bytes, _now, codec) => {
      if (bytes.length < COMPACT_HEADER || bytes[0] !== COMPACT_MAGIC) {
        return malformed("compact", "not a compact envelope")
      }
      const createdAt = new DataView(bytes.buffer, bytes.byteOffset, COMPACT_HEADER).getUint32(1) * unit
      return entryOf(codec.decode(bytes.subarray(COMPACT_HEADER)), createdAt)
    },
    peek: (bytes) =>
      bytes.length < COMPACT_HEADER || bytes[0] !== COMPACT_MAGIC
        ? Option.none()
        : Option.some({
          createdAt: new DataView(bytes.buffer, bytes.byteOffset, COMPACT_HEADER).getUint32(1) * unit,
          payloadBytes: bytes.length - COMPACT_HEADER
        })
  }
}

/**
 * The raw envelope: the payload only. On read the creation time is "now", so a
 * value never expires logically; expiry is left to the store's TTL (the region
 * passes its expiration time as the TTL hint).
 *
 * @example
 * ```ts
 * import { Envelope } from "@dogpile-effect/core"
 * const envelope = Envelope.raw
 * ```
 *
 * @since 0.1.0
 */
export const raw: EnvelopeShape = {
  name: "raw",
  storesCreatedAt: false,
  metadata: false,
  encode: (value, _createdAt, codec) => codec.encode(value),
  decode: (bytes, now, codec) => entryOf(codec.decode(bytes), now),
  peek: (bytes) => Option.some({ payloadBytes: bytes.length })
}

const TIME_BITS = 31n
const TIME_MASK = (1n << TIME_BITS) - 1n
const MAX_TIME = Number(TIME_MASK)
const PAYLOAD_MIN = -(2 ** 31)
const PAYLOAD_MAX = 2 ** 31 - 1
const DEFAULT_EPOCH = Date.UTC(2024, 0, 1)
const canonicalInteger = /^(?:0|-?[1-9][0-9]*)$/
const DASH = 0x2d
const ZERO = 0x30
const NINE = 0x39
const packedText = new TextDecoder()
const packedBytes = new TextEncoder()

/** Whether a value takes the packed integer form. */
const packs = (value: unknown): value is number =>
  typeof value === "number" && Number.isInteger(value) && value >= PAYLOAD_MIN && value <= PAYLOAD_MAX &&
  !Object.is(value, -0)

/**
 * The packed envelope (for hash buckets with per-entry expiry): an integer
 * payload and its creation time in ONE decimal integer, so Redis stores the
 * whole envelope as a listpack integer (9 bytes + 1) instead of a
 * header-plus-payload string.
 *
 * Stored forms, exactly one per value:
 * - a safe integer `v` with −2^31 ≤ v < 2^31 (not −0): the canonical decimal
 *   text of `v × 2^31 + t`, `t` (0 ≤ t < 2^31) being the creation time in
 *   whole seconds since `epoch` (default 2024-01-01T00:00:00Z; 68 years of
 *   range). The payload bypasses the codec and reads back as a number.
 * - any other value: the {@link compact} envelope (`0xFC` is neither a digit
 *   nor `-`, so the forms never collide).
 *
 * Creation times before `epoch` are stored as `epoch` (such values read as
 * older than they are, never younger); times are rounded down to the second.
 *
 * @example
 * ```ts
 * import { Codec, Envelope } from "@dogpile-effect/core"
 * import { Effect } from "effect"
 * // 10 created 1 s after the epoch: 10 × 2^31 + 1 = "21474836481"
 * Effect.runSync(Envelope.packed().encode(10, Date.UTC(2024, 0, 1, 0, 0, 1), Codec.json))
 * ```
 *
 * @since 0.1.0
 */
export const packed = (options?: { readonly epoch?: number }): EnvelopeShape => {
  const epoch = options?.epoch ?? DEFAULT_EPOCH
  const fallback = compact({ resolution: "1 second" })
  const pack = (value: number, createdAt: number): Uint8Array => {
    const t = Math.min(Math.max(0, Math.floor((createdAt - epoch) / 1000)), MAX_TIME)
    return packedBytes.encode(((BigInt(value) << TIME_BITS) | BigInt(t)).toString())
  }
  return {
    name: "packed",
    storesCreatedAt: true,
    encode: (value, createdAt, codec) => packs(value) ? Effect.succeed(pack(value, createdAt)) : fallback.encode(value, createdAt, codec),
    // The integer form is re-packed (no codec involved); the other form is a compact envelope.
    restamp: (bytes, createdAt) => {
      const first = bytes[0]
      if (first === undefined || !(first === DASH || (first >= ZERO && first <= NINE))) return fallback.restamp!(bytes, createdAt)
      const text = packedText.decode(bytes)
      return canonicalInteger.test(text) && text.length <= 20
        ? Option.some(pack(Number(BigInt(text) >> TIME_BITS), createdAt))
        : Option.none()
    },
    decode: (bytes, now, codec) => {
      const first = bytes[0]
      if (first === undefined || !(first === DASH || (first >= ZERO && first <= NINE))) {
        return fallback.decode(bytes, now, codec)
      }
      const text = packedText.decode(bytes)
      if (!canonicalInteger.test(text) || text.length > 20) {
        return Effect.fail(new DecodeError({ codec: "envelope:packed", reason: "not a packed integer" }))
      }
      const n = BigInt(text)
      const value = Number(n >> TIME_BITS)
      if (value < PAYLOAD_MIN || value > PAYLOAD_MAX) {
        return Effect.fail(new DecodeError({ codec: "envelope:packed", reason: "packed integer out of range" }))
      }
      return Effect.succeed({ value, createdAt: epoch + Number(n & TIME_MASK) * 1000 })
    },
    peek: (bytes) => {
      const first = bytes[0]
      if (first === undefined || !(first === DASH || (first >= ZERO && first <= NINE))) return fallback.peek!(bytes)
      const text = packedText.decode(bytes)
      if (!canonicalInteger.test(text) || text.length > 20) return Option.none()
      return Option.some({ createdAt: epoch + Number(BigInt(text) & TIME_MASK) * 1000, payloadBytes: bytes.length })
    }
  }
}

/**
 * The envelope a region uses when its options name none. Defaults to
 * {@link full}; provide a Layer to change it for every region built under it.
 *
 * @example
 * ```ts
 * import { Envelope } from "@dogpile-effect/core"
 * import { Layer } from "effect"
 * const compactEverywhere = Layer.succeed(Envelope.CurrentEnvelope, Envelope.compact())
 * ```
 *
 * @since 0.1.0
 */
export const CurrentEnvelope = Context.Reference<EnvelopeShape>("@dogpile-effect/core/Envelope/CurrentEnvelope", {
  defaultValue: () => full()
})
