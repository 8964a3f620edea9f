/**
 * MessagePack as Python's `msgpack` (1.x) writes and reads it with its
 * defaults: the bytes of `msgpack.packb(value)`, and a reader limited to what
 * `msgpack.unpackb` gives back as plain Python values.
 *
 * @since 0.1.0
 */
import { type CodecShape, DecodeError, EncodeError } from "@dogpile-effect/core"
import { Effect } from "effect"
import * as Limits from "./Limits.ts"
import * as Msgpack from "./Msgpack.ts"
import { isWellFormed } from "./Representable.ts"

/**
 * The deepest nesting written. Python's unpacker refuses nesting deeper than
 * its stack (1,024 levels), so the writer stays well below.
 *
 * @example
 * ```ts
 * import { PythonMsgpack } from "@dogpile-effect/codecs"
 * console.log(PythonMsgpack.MAX_DEPTH) // 500
 * ```
 *
 * @category constants
 * @since 0.1.0
 */
export const MAX_DEPTH = 500

const UINT64_MAX = 2n ** 64n - 1n
const INT64_MIN = -(2n ** 63n)
const utf8 = new TextEncoder()

class Refused {
  constructor(readonly reason: string) {}
}

/** Growable output buffer. */
class Out {
  /** Values written so far, counted as the reader counts them (see `Limits.maxItems`). */
  items = 0
  bytes = new Uint8Array(64)
  view = new DataView(this.bytes.buffer)
  length = 0

  reserve(n: number): number {
    if (this.length + n > this.bytes.length) {
      const next = new Uint8Array(Math.max(this.bytes.length * 2, this.length + n))
      next.set(this.bytes.subarray(0, this.length))
      this.bytes = next
      this.view = new DataView(next.buffer)
    }
    const at = this.length
    this.length += n
    return at
  }

  byte(b: number): void {
    const at = this.reserve(1)
    this.bytes[at] = b
  }

  head(b: number, size: 1 | 2 | 4, n: number): void {
    const at = this.reserve(1 + size)
    this.bytes[at] = b
    if (size === 1) this.view.setUint8(at + 1, n)
    else if (size === 2) this.view.setUint16(at + 1, n)
    else this.view.setUint32(at + 1, n)
  }

  /** A type byte and 8 bytes written by `set` (after `reserve`, which may replace the view). */
  wide(b: number, set: (view: DataView, at: number) => void): void {
    const at = this.reserve(9)
    this.bytes[at] = b
    set(this.view, at + 1)
  }

  raw(bytes: Uint8Array): void {
    const at = this.reserve(bytes.length)
    this.bytes.set(bytes, at)
  }
}

/** An integer in the smallest format `packb` picks: unsigned formats for n ≥ 0, signed for n < 0. */
const writeInteger = (out: Out, n: bigint): void => {
  if (n > UINT64_MAX || n < INT64_MIN) throw new Refused("an integer outside 64 bits (Python's packb refuses it)")
  if (n >= 0n) {
    if (n <= 0x7fn) return out.byte(Number(n))
    if (n <= 0xffn) return out.head(0xcc, 1, Number(n))
    if (n <= 0xffffn) return out.head(0xcd, 2, Number(n))
    if (n <= 0xffffffffn) return out.head(0xce, 4, Number(n))
    return out.wide(0xcf, (view, at) => view.setBigUint64(at, n))
  }
  if (n >= -32n) return out.byte(Number(n) & 0xff)
  if (n >= -128n) return out.head(0xd0, 1, Number(n) & 0xff)
  if (n >= -32768n) return out.head(0xd1, 2, Number(n) & 0xffff)
  if (n >= -(2n ** 31n)) return out.head(0xd2, 4, Number(n) >>> 0)
  out.wide(0xd3, (view, at) => view.setBigInt64(at, n))
}

const writeLength = (out: Out, n: number, fix: number | undefined, fixMax: number, codes: readonly [number, number, number]) => {
  if (fix !== undefined && n <= fixMax) return out.byte(fix | n)
  if (codes[0] !== 0 && n <= 0xff) return out.head(codes[0], 1, n)
  if (n <= 0xffff) return out.head(codes[1], 2, n)
  out.head(codes[2], 4, n)
}

const isPlainObject = (value: object): boolean => {
  const proto: unknown = Object.getPrototypeOf(value)
  return proto === Object.prototype || proto === null
}

const write = (out: Out, value: unknown, depth: number): void => {
  // Keys are written through here too, but the reader does not count them as values.
  if (++out.items > Limits.defaults.maxItems) throw new Refused(`more than ${Limits.defaults.maxItems} values`)
  switch (typeof value) {
    case "boolean":
      return out.byte(value ? 0xc3 : 0xc2)
    case "bigint":
      return writeInteger(out, value)
    case "number":
      if (Number.isSafeInteger(value) && !Object.is(value, -0)) return writeInteger(out, BigInt(value))
      return out.wide(0xcb, (view, at) => view.setFloat64(at, value))
    case "string": {
      if (!isWellFormed(value)) throw new Refused("a string with a lone surrogate half")
      const bytes = utf8.encode(value)
      writeLength(out, bytes.length, 0xa0, 31, [0xd9, 0xda, 0xdb])
      return out.raw(bytes)
    }
    case "object":
      break
    default:
      throw new Refused(`a value of type ${typeof value}`)
  }
  if (value === null) return out.byte(0xc0)
  if (value instanceof Uint8Array) {
    writeLength(out, value.length, undefined, 0, [0xc4, 0xc5, 0xc6])
    return out.raw(value)
  }
  if (depth >= MAX_DEPTH) throw new Refused(`nesting deeper than ${MAX_DEPTH} levels (or a cycle)`)
  if (Array.isArray(value)) {
    writeLength(out, value.length, 0x90, 15, [0, 0xdc, 0xdd])
    for (let i = 0; i < value.length; i++) {
      if (!(i in value)) throw new Refused("a sparse array")
      write(out, value[i], depth + 1)
    }
    return
  }
  if (!isPlainObject(value)) throw new Refused("an instance of a class")
  const keys = Object.keys(value)
  writeLength(out, keys.length, 0x80, 15, [0, 0xde, 0xdf])
  for (const key of keys) {
    write(out, key, depth + 1)
    out.items--
    write(out, (value as Record<string, unknown>)[key], depth + 1)
  }
}

/** Rejects the extension values the generic reader admits but Python's defaults never write. */
const foreign = (value: unknown, depth: number): string | undefined => {
  if (value === undefined) return "an extension value (msgpackr's undefined)"
  if (value instanceof Date) return "a timestamp extension"
  if (typeof value !== "object" || value === null || value instanceof Uint8Array || depth > MAX_DEPTH * 2) {
    return undefined
  }
  for (const item of Array.isArray(value) ? value : Object.values(value)) {
    const found = foreign(item, depth + 1)
    if (found !== undefined) return found
  }
  return undefined
}

/**
 * The codec. Encoding gives exactly `msgpack.packb(value)`'s bytes for the
 * Python counterpart of `value` (string ↔ `str`, Uint8Array ↔ `bytes`, a safe
 * integer or BigInt ↔ `int` in the smallest format, any other number ↔
 * `float` as float64, arrays ↔ `list`, plain objects ↔ `dict`), and fails
 * with an `EncodeError` for what Python could not read back: integers outside
 * [-2^63, 2^64), `undefined`, Dates and other class instances, lone
 * surrogates, sparse arrays, nesting deeper than {@link MAX_DEPTH}, more
 * values or bytes than the MessagePack codec's default {@link Limits} read.
 *
 * Decoding admits plain MessagePack only (the `Msgpack` profile without its
 * two extensions), with string map keys; integers beyond 2^53 come back as
 * BigInt. Anything else, including trailing bytes (a pickled value), fails
 * with a `DecodeError`.
 *
 * @example
 * ```ts
 * import { PythonMsgpack } from "@dogpile-effect/codecs"
 * import { Effect } from "effect"
 * Effect.runSync(PythonMsgpack.codec.encode([1, 2.5, new Uint8Array([0])])) // 93 01 cb 40 04 00 … c4 01 00
 * ```
 *
 * @category codecs
 * @since 0.1.0
 */
export const codec: CodecShape = {
  name: "python-msgpack",
  encode: (value) => {
    const out = new Out()
    try {
      write(out, value, 0)
    } catch (error) {
      const reason = error instanceof Refused ? error.reason : error instanceof Error ? error.message : String(error)
      return Effect.fail(new EncodeError({ codec: "python-msgpack", reason: `Python's msgpack cannot hold ${reason}` }))
    }
    if (out.length > Limits.defaults.maxBytes) {
      return Effect.fail(
        new EncodeError({
          codec: "python-msgpack",
          reason: `value encodes to ${out.length} bytes, more than ${Limits.defaults.maxBytes}`
        })
      )
    }
    return Effect.succeed(out.bytes.slice(0, out.length))
  },
  decode: (bytes) =>
    Effect.flatMap(
      Effect.mapError(Msgpack.codec.decode(bytes), (error) =>
        new DecodeError({ codec: "python-msgpack", reason: error.reason })),
      (value) => {
        const found = foreign(value, 0)
        return found === undefined
          ? Effect.succeed(value)
          : Effect.fail(new DecodeError({ codec: "python-msgpack", reason: `${found} is not a Python value` }))
      }
    )
}
