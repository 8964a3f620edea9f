/**
 * Values as the hstore tests write and read them: text in, text (or `null`
 * for a miss) out.
 */
import { Option } from "effect"

/** The UTF-8 bytes of `s`. */
export const text = (s: string) => new TextEncoder().encode(s)

/** Each value read, decoded as UTF-8, or `null` where it is missing. */
export const show = (values: ReadonlyArray<Option.Option<Uint8Array>>) =>
  values.map((v) => (Option.isSome(v) ? new TextDecoder().decode(v.value) : null))
