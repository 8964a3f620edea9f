/**
 * The safe MessagePack profile: a linear scan that every byte string passes
 * before msgpackr sees it. msgpackr keeps its extensions (records 0x72, shared
 * structures behind bytes 0x40-0x7f, `Error` 0x65 and `RegExp` 0x78 revival,
 * structured-clone pointers 0x69/0x70, bundled strings 0x62, typed arrays 0x74,
 * BigInt 0x42, Set 0x73) in a process-wide table, so the codec admits only plain
 * MessagePack plus two extensions and refuses the rest up front.
 *
 * Admitted: nil, booleans, all integer and float formats, str, bin, arrays,
 * maps whose keys are strings (never `__proto__`), extension type 0 with one
 * byte (msgpackr's `undefined`) and extension type -1 of 4, 8 or 12 bytes (the
 * standard timestamp, read as a Date). Refused: 0xc1, every other extension,
 * declared lengths larger than the remaining input (so no header makes the
 * decoder allocate more than the input holds), and trailing bytes. The
 * {@link Limits} are enforced here too: more bytes than `maxBytes`, nesting
 * deeper than `maxDepth` and more values than `maxItems` are refused before
 * msgpackr builds anything. (MessagePack has no bignums: integers are at most
 * 64 bits.)
 *
 * @since 0.1.0
 */
import * as Limits from "./Limits.ts"

class Refused {
  constructor(readonly reason: string) {}
}

const PROTO = [0x5f, 0x5f, 0x70, 0x72, 0x6f, 0x74, 0x6f, 0x5f, 0x5f] // "__proto__"

/**
 * Scans `bytes` as exactly one MessagePack item of the safe profile within
 * `limits` (default {@link Limits.defaults}). Returns the reason it is
 * refused, or `undefined` when msgpackr may decode it.
 *
 * @example
 * ```ts
 * import { MsgpackProfile } from "@dogpile-effect/codecs"
 * MsgpackProfile.refusal(new Uint8Array([0xd4, 0x72, 0x00])) // "extension type 114 of 1 bytes is not allowed"
 * ```
 *
 * @since 0.1.0
 */
export const refusal = (bytes: Uint8Array, limits: Limits.Resolved = Limits.defaults): string | undefined => {
  if (bytes.length > limits.maxBytes) return `${bytes.length} bytes is more than maxBytes (${limits.maxBytes})`
  const end = itemEnd(bytes, 0, limits)
  if (typeof end === "string") return end
  return end === bytes.length ? undefined : `${bytes.length - end} trailing bytes after the item`
}

/**
 * Where the MessagePack item starting at `start` ends, or the reason it is
 * refused (within `limits`, default {@link Limits.defaults}; `maxBytes` is not
 * checked here). Used to split an envelope array without decoding its payload
 * twice.
 *
 * @example
 * ```ts
 * import { MsgpackProfile } from "@dogpile-effect/codecs"
 * MsgpackProfile.itemEnd(new Uint8Array([0x92, 0x0a, 0x01]), 1) // 2
 * ```
 *
 * @since 0.1.0
 */
export const itemEnd = (
  bytes: Uint8Array,
  start: number,
  limits: Limits.Resolved = Limits.defaults
): number | string => {
  try {
    return item({ b: bytes, limits, items: 0 }, start, 0)
  } catch (error) {
    if (error instanceof Refused) return error.reason
    throw error
  }
}

const need = (b: Uint8Array, at: number, n: number): void => {
  if (n > b.length - at) throw new Refused("truncated")
}

const uint = (b: Uint8Array, at: number, size: number): number => {
  need(b, at, size)
  let v = 0
  for (let i = 0; i < size; i++) v = v * 256 + (b[at + i] as number)
  return v
}

const isProtoKey = (b: Uint8Array, start: number, length: number): boolean => {
  if (length !== PROTO.length) return false
  for (let i = 0; i < length; i++) if (b[start + i] !== PROTO[i]) return false
  return true
}

/** End of a string key starting at `at`. */
const key = (b: Uint8Array, at: number): number => {
  need(b, at, 1)
  const t = b[at] as number
  let length: number
  let start: number
  if (t >= 0xa0 && t <= 0xbf) {
    length = t & 0x1f
    start = at + 1
  } else if (t >= 0xd9 && t <= 0xdb) {
    const size = 1 << (t - 0xd9)
    length = uint(b, at + 1, size)
    start = at + 1 + size
  } else {
    throw new Refused("map keys must be strings")
  }
  need(b, start, length)
  if (isProtoKey(b, start, length)) throw new Refused("map key __proto__ is not allowed")
  return start + length
}

const extension = (b: Uint8Array, typeAt: number, length: number): number => {
  need(b, typeAt, 1 + length)
  const type = b[typeAt] as number
  if (type === 0x00 && length === 1) return typeAt + 2
  if (type === 0xff && (length === 4 || length === 8 || length === 12)) return typeAt + 1 + length
  throw new Refused(`extension type ${type > 127 ? type - 256 : type} of ${length} bytes is not allowed`)
}

interface Scan {
  readonly b: Uint8Array
  readonly limits: Limits.Resolved
  items: number
}

/** `depth` counts the arrays and maps around the item; a container needs room for one more. */
const deeper = (s: Scan, depth: number): number => {
  if (depth >= s.limits.maxDepth) throw new Refused(`nested deeper than ${s.limits.maxDepth} levels (maxDepth)`)
  return depth + 1
}

const item = (s: Scan, at: number, depth: number): number => {
  if (++s.items > s.limits.maxItems) throw new Refused(`more than maxItems (${s.limits.maxItems}) values`)
  const b = s.b
  need(b, at, 1)
  const t = b[at] as number
  if (t <= 0x7f || t >= 0xe0) return at + 1
  if (t <= 0x8f) return map(s, at + 1, t & 0x0f, depth)
  if (t <= 0x9f) return array(s, at + 1, t & 0x0f, depth)
  if (t <= 0xbf) {
    need(b, at + 1, t & 0x1f)
    return at + 1 + (t & 0x1f)
  }
  switch (t) {
    case 0xc0:
    case 0xc2:
    case 0xc3:
      return at + 1
    case 0xc4:
    case 0xc5:
    case 0xc6:
    case 0xd9:
    case 0xda:
    case 0xdb: {
      const size = 1 << ((t >= 0xd9 ? t - 0xd9 : t - 0xc4))
      const length = uint(b, at + 1, size)
      need(b, at + 1 + size, length)
      return at + 1 + size + length
    }
    case 0xc7:
    case 0xc8:
    case 0xc9: {
      const size = 1 << (t - 0xc7)
      return extension(b, at + 1 + size, uint(b, at + 1, size))
    }
    case 0xca:
      need(b, at + 1, 4)
      return at + 5
    case 0xcb:
      need(b, at + 1, 8)
      return at + 9
    case 0xcc:
    case 0xcd:
    case 0xce:
    case 0xcf:
    case 0xd0:
    case 0xd1:
    case 0xd2:
    case 0xd3: {
      const size = 1 << ((t - 0xcc) & 3)
      need(b, at + 1, size)
      return at + 1 + size
    }
    case 0xd4:
    case 0xd5:
    case 0xd6:
    case 0xd7:
    case 0xd8:
      return extension(b, at + 1, 1 << (t - 0xd4))
    case 0xdc:
    case 0xdd: {
      const size = t === 0xdc ? 2 : 4
      return array(s, at + 1 + size, uint(b, at + 1, size), depth)
    }
    case 0xde:
    case 0xdf: {
      const size = t === 0xde ? 2 : 4
      return map(s, at + 1 + size, uint(b, at + 1, size), depth)
    }
    default:
      throw new Refused(`byte 0x${t.toString(16)} is never used`)
  }
}

const array = (s: Scan, at: number, count: number, depth: number): number => {
  if (count > s.b.length - at) throw new Refused("array longer than the input")
  const inner = deeper(s, depth)
  let p = at
  for (let i = 0; i < count; i++) p = item(s, p, inner)
  return p
}

const map = (s: Scan, at: number, count: number, depth: number): number => {
  if (count * 2 > s.b.length - at) throw new Refused("map longer than the input")
  const inner = deeper(s, depth)
  let p = at
  for (let i = 0; i < count; i++) p = item(s, key(s.b, p), inner)
  return p
}
