/**
 * Which JavaScript values a codec can store so that they read back exactly.
 * Each binary codec checks its value against a {@link Domain} before encoding,
 * so an unrepresentable value fails at `set` with a reason instead of being
 * stored lossily (cbor-x and msgpackr would otherwise drop, coerce or crash).
 *
 * @since 0.1.0
 */
import * as Limits from "./Limits.ts"

/**
 * What a codec's domain admits beyond the JSON-like core (strings, finite
 * numbers, booleans, null, dense arrays, plain objects with string keys).
 *
 * @since 0.1.0
 */
export interface Domain {
  readonly codec: string
  readonly undefined: boolean
  readonly nonFinite: boolean
  readonly bigint: boolean
  readonly date: boolean
  /** Largest |epoch milliseconds| of a Date that reads back to the millisecond. */
  readonly dateLimitMs: number
  readonly bytes: boolean
  readonly map: boolean
  readonly set: boolean
}

/**
 * Deepest nesting accepted on encode and on decode by default
 * ({@link Limits.defaults}`.maxDepth`). Decoders refuse deeper input, so
 * nesting is bounded the same way in both directions.
 *
 * @since 0.1.0
 */
export const maxDepth: number = Limits.defaults.maxDepth

// String.prototype.isWellFormed is ES2024; the lib target here is ES2022.
const loneSurrogate = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/

/**
 * Whether a string can be written as UTF-8 and read back identical (it has no
 * lone surrogate halves, which UTF-8 replaces with U+FFFD).
 *
 * @example
 * ```ts
 * import { Representable } from "@dogpile-effect/codecs"
 * Representable.isWellFormed("\uD800") // false
 * ```
 *
 * @since 0.1.0
 */
export const isWellFormed = (s: string): boolean => !loneSurrogate.test(s)

const className = (value: object): string => {
  const ctor = (value as { constructor?: { name?: unknown } }).constructor
  return typeof ctor?.name === "string" && ctor.name !== "" ? ctor.name : "unknown class"
}

/**
 * The first reason `value` falls outside `domain` or beyond `limits` (nesting,
 * number of values, bignum size; default {@link Limits.defaults}), or
 * `undefined` when it round-trips exactly. The reason names the path
 * (`value.a[2]`).
 *
 * @example
 * ```ts
 * import { Representable } from "@dogpile-effect/codecs"
 * Representable.problem({ a: () => 1 }, Representable.msgpack) // "value.a is a function, ..."
 * ```
 *
 * @since 0.1.0
 */
export const problem = (
  value: unknown,
  domain: Domain,
  limits: Limits.Resolved = Limits.defaults
): string | undefined => walk(value, { domain, limits, seen: new Set(), items: 0 }, "value", 0)

interface Walk {
  readonly domain: Domain
  readonly limits: Limits.Resolved
  readonly seen: Set<object>
  items: number
}

/** `depth` counts the containers around `value`, as the decoders' profile scans do. */
const walk = (value: unknown, w: Walk, path: string, depth: number): string | undefined => {
  if (++w.items > w.limits.maxItems) return `${path} is past maxItems (${w.limits.maxItems}) values`
  const domain = w.domain
  switch (typeof value) {
    case "boolean":
      return undefined
    case "string":
      return isWellFormed(value) ? undefined : `${path} is a string with a lone surrogate, which UTF-8 cannot carry`
    case "number":
      if (Object.is(value, -0)) return `${path} is -0, which ${domain.codec} reads back as 0`
      if (!domain.nonFinite && !Number.isFinite(value)) return `${path} is ${value}, which ${domain.codec} cannot represent`
      return undefined
    case "undefined":
      return domain.undefined ? undefined : `${path} is undefined, which ${domain.codec} cannot represent`
    case "bigint":
      if (!domain.bigint) return `${path} is a BigInt, which ${domain.codec} cannot represent exactly`
      return Limits.bignumBytes(value) > w.limits.maxBignumBytes
        ? `${path} is a BigInt longer than maxBignumBytes (${w.limits.maxBignumBytes} bytes)`
        : undefined
    case "function":
    case "symbol":
      return `${path} is a ${typeof value}, which no codec stores`
    case "object":
      break
  }
  if (value === null) return undefined
  const object = value as object
  if (object instanceof Uint8Array) {
    return domain.bytes && (Object.getPrototypeOf(object) === Uint8Array.prototype || Buffer.isBuffer(object))
      ? undefined
      : `${path} is a ${className(object)}, which ${domain.codec} does not round-trip`
  }
  if (object instanceof Date) {
    if (!domain.date) return `${path} is a Date, which ${domain.codec} does not round-trip`
    const ms = object.getTime()
    if (Number.isNaN(ms)) return `${path} is an invalid Date`
    return Math.abs(ms) > domain.dateLimitMs
      ? `${path} is a Date more than ${domain.dateLimitMs} ms from 1970, which ${domain.codec} cannot carry to the millisecond`
      : undefined
  }
  if (w.seen.has(object)) return `${path} is a circular reference`
  if (depth >= w.limits.maxDepth) return `${path} is nested deeper than ${w.limits.maxDepth} levels (maxDepth)`
  w.seen.add(object)
  const result = walkContainer(object, w, path, depth + 1)
  w.seen.delete(object)
  return result
}

const walkContainer = (object: object, w: Walk, path: string, depth: number): string | undefined => {
  const domain = w.domain
  if (Array.isArray(object)) {
    for (let i = 0; i < object.length; i++) {
      if (!(i in object)) return `${path}[${i}] is a hole in a sparse array, which reads back as undefined`
      const found = walk(object[i], w, `${path}[${i}]`, depth)
      if (found !== undefined) return found
    }
    return undefined
  }
  if (object instanceof Map) {
    if (!domain.map) return `${path} is a Map, which ${domain.codec} reads back as a plain object`
    let i = 0
    for (const [k, v] of object) {
      const found = walk(k, w, `${path}<key ${i}>`, depth) ?? walk(v, w, `${path}<value ${i}>`, depth)
      if (found !== undefined) return found
      i++
    }
    return undefined
  }
  if (object instanceof Set) {
    if (!domain.set) return `${path} is a Set, which ${domain.codec} reads back as an array`
    let i = 0
    for (const v of object) {
      const found = walk(v, w, `${path}<element ${i}>`, depth)
      if (found !== undefined) return found
      i++
    }
    return undefined
  }
  if (Object.getPrototypeOf(object) !== Object.prototype) {
    return `${path} is a ${className(object)} instance, which ${domain.codec} does not round-trip`
  }
  if (Object.getOwnPropertySymbols(object).length > 0) return `${path} has symbol keys, which no codec stores`
  const record = object as Record<string, unknown>
  for (const k of Object.keys(record)) {
    if (k === "__proto__") return `${path} has an own "__proto__" key, which decoders refuse`
    const found = walk(record[k], w, `${path}.${k}`, depth)
    if (found !== undefined) return found
  }
  return undefined
}

/**
 * The CBOR codec's domain: the JSON core plus undefined, NaN/±Infinity,
 * BigInt, Date (within 2^50 ms of 1970, about years -33,700 to 37,600),
 * Uint8Array, Map and Set.
 *
 * @since 0.1.0
 */
export const cbor: Domain = {
  codec: "cbor",
  undefined: true,
  nonFinite: true,
  bigint: true,
  date: true,
  // cbor-x writes Dates as float seconds (tag 1); beyond 2^50 ms (about year 37,600) the milliseconds round.
  dateLimitMs: 2 ** 50,
  bytes: true,
  map: true,
  set: true
}

/**
 * The MessagePack codec's domain: the JSON core plus undefined, NaN/±Infinity,
 * Date and Uint8Array (no BigInt, Map or Set: plain MessagePack reads them back
 * as other types).
 *
 * @since 0.1.0
 */
export const msgpack: Domain = {
  codec: "msgpack",
  undefined: true,
  nonFinite: true,
  bigint: false,
  date: true,
  dateLimitMs: 8.64e15,
  bytes: true,
  map: false,
  set: false
}
