/**
 * The safe CBOR profile: a linear, allocation-free scan that every byte string
 * passes before cbor-x sees it. cbor-x registers its extensions (records, shared
 * structures, packed values, `Error`/`RegExp` revival, typed-array views) in a
 * process-wide table that no decoder option switches off, so the codec admits
 * only the items it writes itself and refuses everything else up front.
 *
 * Admitted: definite-length integers, byte and text strings, arrays and maps;
 * `false`/`true`/`null`/`undefined`; half, single and double floats; tag 1
 * (epoch-seconds Date, numeric content), tags 2 and 3 (bignums, byte-string
 * content), tag 258 (Set, array content) and tag 259 (Map, map content).
 * Refused: every other tag (so no record definitions such as 105 or
 * 0xdffe/0xdfff, no generic-object tag 27, no packed tables 51/6, no sharing 28/29),
 * indefinite lengths, other simple values, a map key `__proto__`, non-text keys
 * outside a tag-259 map, declared lengths larger than the remaining input
 * (so no header makes the decoder allocate more than the input holds), and
 * trailing bytes. The {@link Limits} are enforced here too: more bytes than
 * `maxBytes`, nesting deeper than `maxDepth`, more values than `maxItems`
 * (a tag and its content count as one value) and a bignum longer than
 * `maxBignumBytes` are refused before cbor-x builds anything.
 *
 * @since 0.1.0
 */
import * as Limits from "./Limits.ts"

class Refused {
  constructor(readonly reason: string) {}
}

const PROTO = [0x5f, 0x5f, 0x70, 0x72, 0x6f, 0x74, 0x6f, 0x5f, 0x5f] // "__proto__"

/**
 * Scans `bytes` as exactly one CBOR item of the safe profile within `limits`
 * (default {@link Limits.defaults}). Returns the reason it is refused, or
 * `undefined` when cbor-x may decode it.
 *
 * @example
 * ```ts
 * import { CborProfile } from "@dogpile-effect/codecs"
 * CborProfile.refusal(new Uint8Array([0xd8, 0x69, 0x80])) // "tag 105 is not allowed"
 * ```
 *
 * @since 0.1.0
 */
export const refusal = (bytes: Uint8Array, limits: Limits.Resolved = Limits.defaults): string | undefined => {
  if (bytes.length === 0) return "empty input"
  if (bytes.length > limits.maxBytes) return `${bytes.length} bytes is more than maxBytes (${limits.maxBytes})`
  try {
    const end = item({ b: bytes, limits, items: 0 }, 0, 0, "any")
    return end === bytes.length ? undefined : `${bytes.length - end} trailing bytes after the item`
  } catch (error) {
    if (error instanceof Refused) return error.reason
    throw error
  }
}

type Expect = "any" | "number" | "bytes" | "array" | "map259"

interface Head {
  readonly major: number
  readonly info: number
  readonly arg: number
  readonly next: number
}

const head = (b: Uint8Array, at: number): Head => {
  if (at >= b.length) throw new Refused("truncated")
  const initial = b[at] as number
  const major = initial >> 5
  const info = initial & 0x1f
  if (info < 24) return { major, info, arg: info, next: at + 1 }
  const size = info === 24 ? 1 : info === 25 ? 2 : info === 26 ? 4 : info === 27 ? 8 : 0
  if (size === 0) {
    throw new Refused(info === 31 ? "indefinite lengths are not allowed" : `reserved additional info ${info}`)
  }
  if (at + 1 + size > b.length) throw new Refused("truncated")
  let arg = 0
  for (let i = 1; i <= size; i++) arg = arg * 256 + (b[at + i] as number)
  return { major, info, arg, next: at + 1 + size }
}

const isProtoKey = (b: Uint8Array, start: number, length: number): boolean => {
  if (length !== PROTO.length) return false
  for (let i = 0; i < length; i++) if (b[start + i] !== PROTO[i]) return false
  return true
}

interface Scan {
  readonly b: Uint8Array
  readonly limits: Limits.Resolved
  items: number
}

const count = (s: Scan): void => {
  if (++s.items > s.limits.maxItems) throw new Refused(`more than maxItems (${s.limits.maxItems}) values`)
}

/** `depth` counts the arrays and maps around the item; a container needs room for one more. */
const deeper = (s: Scan, depth: number): number => {
  if (depth >= s.limits.maxDepth) throw new Refused(`nested deeper than ${s.limits.maxDepth} levels (maxDepth)`)
  return depth + 1
}

const item = (s: Scan, at: number, depth: number, expect: Expect): number => {
  const b = s.b
  if (expect === "any") count(s)
  const h = head(b, at)
  const remaining = b.length - h.next
  switch (expect) {
    case "number":
      if (h.major !== 0 && h.major !== 1 && !(h.major === 7 && h.info >= 25 && h.info <= 27)) {
        throw new Refused("a Date tag must hold a number")
      }
      break
    case "bytes":
      if (h.major !== 2) throw new Refused("a bignum tag must hold a byte string")
      if (h.arg > s.limits.maxBignumBytes) {
        throw new Refused(`a bignum of ${h.arg} bytes is longer than maxBignumBytes (${s.limits.maxBignumBytes})`)
      }
      break
    case "array":
      if (h.major !== 4) throw new Refused("a Set tag must hold an array")
      break
    case "map259":
      if (h.major !== 5) throw new Refused("a Map tag must hold a map")
      break
  }
  switch (h.major) {
    case 0:
    case 1:
      return h.next
    case 2:
    case 3:
      if (h.arg > remaining) throw new Refused("truncated string")
      return h.next + h.arg
    case 4: {
      if (h.arg > remaining) throw new Refused("array longer than the input")
      const inner = deeper(s, depth)
      let p = h.next
      for (let i = 0; i < h.arg; i++) p = item(s, p, inner, "any")
      return p
    }
    case 5: {
      if (h.arg * 2 > remaining) throw new Refused("map longer than the input")
      const inner = deeper(s, depth)
      let p = h.next
      for (let i = 0; i < h.arg; i++) {
        if (expect === "map259") {
          p = item(s, p, inner, "any")
        } else {
          const k = head(b, p)
          if (k.major !== 3) throw new Refused("map keys must be text strings")
          if (k.arg > b.length - k.next) throw new Refused("truncated string")
          if (isProtoKey(b, k.next, k.arg)) throw new Refused("map key __proto__ is not allowed")
          p = k.next + k.arg
        }
        p = item(s, p, inner, "any")
      }
      return p
    }
    case 6:
      // The content is the tagged value itself: same depth, not counted again.
      switch (h.arg) {
        case 1:
          return item(s, h.next, depth, "number")
        case 2:
        case 3:
          return item(s, h.next, depth, "bytes")
        case 258:
          return item(s, h.next, depth, "array")
        case 259:
          return item(s, h.next, depth, "map259")
        default:
          throw new Refused(`tag ${h.arg} is not allowed`)
      }
    default:
      // major 7: false, true, null, undefined and floats only
      if ((h.info >= 20 && h.info <= 23) || (h.info >= 25 && h.info <= 27)) return h.next
      throw new Refused(`simple value ${h.info === 24 ? h.arg : h.info} is not allowed`)
  }
}
