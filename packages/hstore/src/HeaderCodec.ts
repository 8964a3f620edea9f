/**
 * A codec that hands back the payload bytes undecoded: decoding an envelope
 * with it reads the envelope's header (the creation time) and never the
 * value. Used by the per-entry expiry checks (`EntryExpiry`, `FieldAge`).
 * Internal to `@dogpile-effect/hstore`.
 *
 * @since 0.1.0
 */
import type { CodecShape } from "@dogpile-effect/core"
import { Effect } from "effect"

/**
 * The header-only codec.
 *
 * @example
 * ```ts
 * import { Codec, Envelope } from "@dogpile-effect/core"
 * import { Effect } from "effect"
 * import { headerOnly } from "./HeaderCodec.ts" // internal to @dogpile-effect/hstore
 *
 * const createdAt = Effect.gen(function*() {
 *   const bytes = yield* Envelope.compact().encode(1, 1_700_000_000_000, Codec.json)
 *   return (yield* Envelope.compact().decode(bytes, Date.now(), headerOnly)).createdAt // 1700000000000
 * })
 * ```
 *
 * @category codecs
 * @since 0.1.0
 */
export const headerOnly: CodecShape = {
  name: "hstore-header",
  encode: (value) => Effect.succeed(value instanceof Uint8Array ? value : new Uint8Array()),
  decode: (bytes) => Effect.succeed(bytes)
}
