/**
 * The packed envelope: an integer payload and its creation time in ONE
 * decimal integer, so that Redis stores the whole envelope as a listpack
 * integer (9 bytes + 1) instead of a header-plus-payload string.
 *
 * Proposed for `@dogpile-effect/core` (or `@dogpile-effect/codecs`); it lives
 * in the demo until it moves into a package.
 *
 * Stored forms (exactly one per value, never ambiguous):
 * - a safe integer `v` with −2^31 ≤ v < 2^31 (not −0): the canonical decimal
 *   text of `v × 2^31 + t`, where `t` (0 ≤ t < 2^31) is the creation time in
 *   whole seconds since `epoch` (default 2024-01-01T00:00:00Z; 68 years of
 *   range). The number is below 2^62 in magnitude, so Redis keeps it as a
 *   64-bit integer. The payload bypasses the codec: it reads back as a number.
 * - any other value: the compact envelope (`0xFC`, 32-bit time in seconds,
 *   then the codec's bytes). `0xFC` is not an ASCII digit or `-`, so the two
 *   forms never collide.
 *
 * Creation times before `epoch` are stored as `epoch` (such values read as
 * older than they are, never younger); times are rounded down to the second.
 */
import { DecodeError, Envelope } from "@dogpile-effect/core"
import { Effect } from "effect"

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
const textEncoder = new TextEncoder()
const textDecoder = new TextDecoder()

/** Whether a value takes the packed integer form. */
export const packs = (value: unknown): value is number =>
  typeof value === "number" && Number.isInteger(value) && value >= PAYLOAD_MIN && value <= PAYLOAD_MAX &&
  !Object.is(value, -0)

/**
 * Builds the packed envelope.
 *
 * @example
 * ```ts
 * import { Codec } from "@dogpile-effect/core"
 * import { Effect } from "effect"
 * import * as PackedEnvelope from "./PackedEnvelope.ts"
 *
 * const envelope = PackedEnvelope.make()
 * // 10 created 1 s after the epoch: 10 × 2^31 + 1 = "21474836481"
 * Effect.runSync(envelope.encode(10, Date.UTC(2024, 0, 1, 0, 0, 1), Codec.json))
 * ```
 */
export const make = (options?: { readonly epoch?: number }): Envelope.EnvelopeShape => {
  const epoch = options?.epoch ?? DEFAULT_EPOCH
  const fallback = Envelope.compact({ resolution: "1 second" })
  return {
    name: "packed",
    storesCreatedAt: true,
    encode: (value, createdAt, codec) => {
      if (!packs(value)) return fallback.encode(value, createdAt, codec)
      const t = Math.min(Math.max(0, Math.floor((createdAt - epoch) / 1000)), MAX_TIME)
      return Effect.succeed(textEncoder.encode(((BigInt(value) << TIME_BITS) | BigInt(t)).toString()))
    },
    decode: (bytes, now, codec) => {
      const first = bytes[0]
      if (first === undefined || !(first === DASH || (first >= ZERO && first <= NINE))) {
        return fallback.decode(bytes, now, codec)
      }
      const text = textDecoder.decode(bytes)
      if (!canonicalInteger.test(text) || text.length > 20) {
        return Effect.fail(new DecodeError({ codec: "envelope:packed", reason: "not a packed integer" }))
      }
      const n = BigInt(text)
      const value = Number(n >> TIME_BITS)
      if (value < PAYLOAD_MIN || value > PAYLOAD_MAX) {
        return Effect.fail(new DecodeError({ codec: "envelope:packed", reason: "packed integer out of range" }))
      }
      return Effect.succeed({ value, createdAt: epoch + Number(n & TIME_MASK) * 1000 })
    }
  }
}
