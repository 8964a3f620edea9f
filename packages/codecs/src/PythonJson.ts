/**
 * JSON as Python writes and reads it: the bytes of `json.dumps(value).encode()`
 * with Python's defaults, and a reader that keeps integers beyond 2^53 exact.
 *
 * @since 0.1.0
 */
import { type CodecShape, DecodeError, EncodeError } from "@dogpile-effect/core"
import { Effect } from "effect"
import * as Limits from "./Limits.ts"
import { ReadError, Reader } from "./PythonJsonReader.ts"
import { isWellFormed } from "./Representable.ts"

/**
 * The deepest nesting written or read. Python's `json` recurses once per level
 * and raises `RecursionError` near 1,000 levels, so the writer stays well below.
 *
 * @example
 * ```ts
 * import { PythonJson } from "@dogpile-effect/codecs"
 * console.log(PythonJson.MAX_DEPTH) // 500
 * ```
 *
 * @category constants
 * @since 0.1.0
 */
export const MAX_DEPTH = 500

/**
 * The most digits of an integer written or read: Python 3.11+ refuses longer
 * integers in `json.dumps`/`json.loads` (`sys.get_int_max_str_digits()`, 4300).
 *
 * @example
 * ```ts
 * import { PythonJson } from "@dogpile-effect/codecs"
 * console.log(PythonJson.MAX_INT_DIGITS) // 4300
 * ```
 *
 * @category constants
 * @since 0.1.0
 */
export const MAX_INT_DIGITS = 4300

/**
 * The most values written or read in one stored value (the top-level value,
 * every list element and every dict entry), the codecs' default `maxItems`.
 * Bounds the work and memory of a decode together with {@link MAX_BYTES}.
 *
 * @example
 * ```ts
 * import { PythonJson } from "@dogpile-effect/codecs"
 * console.log(PythonJson.MAX_ITEMS) // 1000000
 * ```
 *
 * @category constants
 * @since 0.1.0
 */
export const MAX_ITEMS: number = Limits.defaults.maxItems

/**
 * The longest text written or read, in bytes: the codecs' default `maxBytes`
 * (16 MiB).
 *
 * @example
 * ```ts
 * import { PythonJson } from "@dogpile-effect/codecs"
 * console.log(PythonJson.MAX_BYTES) // 16777216
 * ```
 *
 * @category constants
 * @since 0.1.0
 */
export const MAX_BYTES: number = Limits.defaults.maxBytes

/**
 * Why a value cannot be written, or text cannot be read, the way Python does.
 *
 * @example
 * ```ts
 * import { PythonJson } from "@dogpile-effect/codecs"
 * const result = PythonJson.loads("[1,")
 * if (PythonJson.isRefused(result)) console.log(result.reason)
 * ```
 *
 * @category models
 * @since 0.1.0
 */
export class Refused {
  constructor(readonly reason: string) {}
}

/**
 * Python's `repr` of a float (what `json.dumps` writes): the shortest digits
 * that read back the same double, in fixed notation when the decimal exponent
 * is in [-4, 16), otherwise as `d.ddde±XX`; integral values keep `.0`; NaN and
 * the infinities as `NaN`, `Infinity`, `-Infinity`.
 *
 * @example
 * ```ts
 * import { PythonJson } from "@dogpile-effect/codecs"
 * PythonJson.floatRepr(1e16) // "1e+16"
 * PythonJson.floatRepr(2) // "2.0"
 * ```
 *
 * @category formatting
 * @since 0.1.0
 */
export const floatRepr = (x: number): string => {
  if (Number.isNaN(x)) return "NaN"
  if (x === Number.POSITIVE_INFINITY) return "Infinity"
  if (x === Number.NEGATIVE_INFINITY) return "-Infinity"
  if (x === 0) return Object.is(x, -0) ? "-0.0" : "0.0"
  const [mantissa = "", exponent = "0"] = x.toExponential().split("e")
  const exp = Number(exponent)
  const sign = x < 0 ? "-" : ""
  const digits = mantissa.replace("-", "").replace(".", "")
  if (exp < -4 || exp >= 16) {
    const m = digits.length === 1 ? digits : `${digits[0]}.${digits.slice(1)}`
    return `${sign}${m}e${exp < 0 ? "-" : "+"}${String(Math.abs(exp)).padStart(2, "0")}`
  }
  if (exp < 0) return `${sign}0.${"0".repeat(-exp - 1)}${digits}`
  if (digits.length <= exp + 1) return `${sign}${digits}${"0".repeat(exp + 1 - digits.length)}.0`
  return `${sign}${digits.slice(0, exp + 1)}.${digits.slice(exp + 1)}`
}

const SHORT_ESCAPES: Record<number, string> = {
  0x22: "\\\"",
  0x5c: "\\\\",
  0x0a: "\\n",
  0x0d: "\\r",
  0x09: "\\t",
  0x08: "\\b",
  0x0c: "\\f"
}

/** A string as `json.dumps` writes it with `ensure_ascii=True`. */
const quote = (s: string): string => {
  if (!isWellFormed(s)) throw new Refused("a string with a lone surrogate half")
  let out = "\""
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i)
    if (c >= 0x20 && c <= 0x7e && c !== 0x22 && c !== 0x5c) out += s[i]
    else out += SHORT_ESCAPES[c] ?? `\\u${c.toString(16).padStart(4, "0")}`
  }
  return `${out}"`
}

const integer = (text: string): string => {
  if (text.replace("-", "").length > MAX_INT_DIGITS) {
    throw new Refused(`an integer of more than ${MAX_INT_DIGITS} digits (Python refuses it)`)
  }
  return text
}

const isPlainObject = (value: object): boolean => {
  const proto: unknown = Object.getPrototypeOf(value)
  return proto === Object.prototype || proto === null
}

/** Counts the values written, refusing more than {@link MAX_ITEMS}. */
class Budget {
  items = 0
  spend(): void {
    if (++this.items > MAX_ITEMS) throw new Refused(`more than ${MAX_ITEMS} values`)
  }
}

const write = (value: unknown, depth: number, budget: Budget): string => {
  budget.spend()
  switch (typeof value) {
    case "string":
      return quote(value)
    case "boolean":
      return value ? "true" : "false"
    case "bigint":
      return integer(value.toString())
    case "number":
      return Number.isSafeInteger(value) && !Object.is(value, -0) ? String(value) : floatRepr(value)
    case "object":
      break
    default:
      throw new Refused(`a value of type ${typeof value}`)
  }
  if (value === null) return "null"
  if (depth >= MAX_DEPTH) throw new Refused(`nesting deeper than ${MAX_DEPTH} levels (or a cycle)`)
  if (Array.isArray(value)) {
    const items: Array<string> = []
    for (let i = 0; i < value.length; i++) {
      if (!(i in value)) throw new Refused("a sparse array")
      items.push(write(value[i], depth + 1, budget))
    }
    return `[${items.join(", ")}]`
  }
  if (!isPlainObject(value)) {
    const name = value instanceof Uint8Array ? "bytes (JSON has none)" : "an instance of a class"
    throw new Refused(name)
  }
  const fields: Array<string> = []
  for (const key of Object.keys(value)) {
    fields.push(`${quote(key)}: ${write((value as Record<string, unknown>)[key], depth + 1, budget)}`)
  }
  return `{${fields.join(", ")}}`
}

/**
 * The text `json.dumps(value)` gives for the Python counterpart of `value`, or
 * the reason Python could not read it back.
 *
 * Counterparts: string ↔ `str`, boolean ↔ `bool`, `null` ↔ `None`, a safe
 * integer or a BigInt ↔ `int`, any other number ↔ `float` (NaN and the
 * infinities as Python writes them), arrays ↔ `list`, plain objects ↔ `dict`.
 *
 * @example
 * ```ts
 * import { PythonJson } from "@dogpile-effect/codecs"
 * PythonJson.dumps({ a: [1, 2.5, "é"] }) // '{"a": [1, 2.5, "\\u00e9"]}'
 * ```
 *
 * @category encoding
 * @since 0.1.0
 */
export const dumps = (value: unknown): string | Refused => {
  try {
    return write(value, 0, new Budget())
  } catch (error) {
    if (error instanceof Refused) return error
    // A throwing getter or proxy: refuse it as well, never as a defect.
    return new Refused(error instanceof Error ? error.message : String(error))
  }
}

/**
 * Parses text in the language Python's `json.loads` reads: integers come back
 * as numbers when they are safe integers and as BigInts beyond (never
 * rounded; more than {@link MAX_INT_DIGITS} digits is refused, as Python
 * does); `NaN`, `Infinity` and `-Infinity` are read; nesting deeper than
 * {@link MAX_DEPTH} and more than {@link MAX_ITEMS} values are refused.
 * Linear in the input, except that each integer of up to 4300 digits costs
 * up to about 0.2 ms to convert to a BigInt.
 *
 * @example
 * ```ts
 * import { PythonJson } from "@dogpile-effect/codecs"
 * PythonJson.loads("[18446744073709551617, 1.5]") // [18446744073709551617n, 1.5]
 * ```
 *
 * @category decoding
 * @since 0.1.0
 */
export const loads = (text: string): unknown | Refused => {
  try {
    const reader = new Reader(text, { maxDepth: MAX_DEPTH, maxIntDigits: MAX_INT_DIGITS, maxItems: MAX_ITEMS })
    const value = reader.value(0)
    reader.space()
    if (reader.at !== text.length) reader.fail("extra data")
    return value
  } catch (error) {
    if (error instanceof ReadError) return new Refused(error.reason)
    throw error
  }
}

/**
 * Whether a {@link dumps} or {@link loads} result is a refusal.
 *
 * @example
 * ```ts
 * import { PythonJson } from "@dogpile-effect/codecs"
 * PythonJson.isRefused(PythonJson.dumps(new Uint8Array(1))) // true
 * ```
 *
 * @category guards
 * @since 0.1.0
 */
export const isRefused = (result: unknown): result is Refused => result instanceof Refused

const encoder = new TextEncoder()
const decoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: false })

/**
 * The codec: encodes exactly the bytes `json.dumps(value).encode()` gives in
 * Python (ASCII, `", "` and `": "` separators, `\uXXXX` escapes, Python float
 * repr), and decodes with {@link loads}. Encoding fails with an
 * `EncodeError` for anything Python could not read back: bytes, `undefined`,
 * class instances (Date, Map, ...), lone surrogates, sparse arrays, BigInts of
 * more than {@link MAX_INT_DIGITS} digits, nesting deeper than {@link MAX_DEPTH},
 * more than {@link MAX_ITEMS} values or {@link MAX_BYTES} bytes. Decoding
 * refuses the same before reading.
 *
 * JavaScript cannot tell `2.0` from `2`: Python's float `2.0` reads as `2`
 * and is written back as the int `2`.
 *
 * @example
 * ```ts
 * import { PythonJson } from "@dogpile-effect/codecs"
 * import { Effect } from "effect"
 * Effect.runSync(PythonJson.codec.encode({ n: 2n ** 64n })) // bytes of '{"n": 18446744073709551616}'
 * ```
 *
 * @category codecs
 * @since 0.1.0
 */
export const codec: CodecShape = {
  name: "python-json",
  encode: (value) => {
    const text = dumps(value)
    if (isRefused(text)) {
      return Effect.fail(new EncodeError({ codec: "python-json", reason: `Python's json cannot hold ${text.reason}` }))
    }
    // ensure_ascii output: one byte per character.
    return text.length > MAX_BYTES
      ? Effect.fail(
        new EncodeError({ codec: "python-json", reason: `value encodes to ${text.length} bytes, more than ${MAX_BYTES}` })
      )
      : Effect.succeed(encoder.encode(text))
  },
  decode: (bytes) => {
    if (bytes.length > MAX_BYTES) {
      return Effect.fail(new DecodeError({ codec: "python-json", reason: `${bytes.length} bytes is more than ${MAX_BYTES}` }))
    }
    let text: string
    try {
      text = decoder.decode(bytes)
    } catch {
      return Effect.fail(new DecodeError({ codec: "python-json", reason: "not UTF-8" }))
    }
    const value = loads(text)
    return isRefused(value)
      ? Effect.fail(new DecodeError({ codec: "python-json", reason: value.reason }))
      : Effect.succeed(value)
  }
}
