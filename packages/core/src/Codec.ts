/**
 * Value ⇄ bytes.
 *
 * @since 0.1.0
 */
import { Buffer } from "node:buffer"
import { Context, Effect, Layer } from "effect"
import { DecodeError, EncodeError } from "./CacheError.ts"

/**
 * The shape of a codec: `encode` turns a value into bytes (or fails with
 * {@link EncodeError}, writing nothing), `decode` turns bytes back into a value
 * (or fails with {@link DecodeError}, which a region counts as a miss).
 *
 * @since 0.1.0
 */
export interface CodecShape {
  readonly name: string
  encode(value: unknown): Effect.Effect<Uint8Array, EncodeError>
  decode(bytes: Uint8Array): Effect.Effect<unknown, DecodeError>
}

const textDecoder = new TextDecoder("utf-8", { fatal: true })

/**
 * UTF-8 bytes of `text`. `Buffer.from` is the fastest encoder here (~100 ns for
 * a 40-byte value, against ~600 ns for `TextEncoder.encode` and 0.6–1.8 µs for
 * memory of its own, whose allocation and collection cost more than the
 * encoding). Short results are views into Node's shared 8 KiB pool: the
 * envelopes copy them behind their header, and a store that keeps bytes as it
 * got them (`MemoryBackend`) copies a view first, so no kept value holds a
 * pool slab alive.
 */
const utf8Bytes = (text: string): Uint8Array => {
  const buffer = Buffer.from(text, "utf8")
  return new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength)
}

/**
 * The text of UTF-8 `bytes`; invalid UTF-8 throws (the fatal decoder). `toString` replaces an invalid
 * sequence with U+FFFD, so only a text holding one is decoded again, fatally (which throws, or gives the
 * same text when the bytes really encode U+FFFD): no validating pass over every value (`isUtf8` cost
 * about as much as the decoding), and a JSON text of ASCII answers `includes` without a scan.
 */
const utf8 = (bytes: Uint8Array): string => {
  const buffer = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  const text = buffer.toString("utf8")
  return text.includes("\uFFFD") ? textDecoder.decode(bytes) : text
}

const describe = (error: unknown): string => (error instanceof Error ? error.message : String(error))

/**
 * Limits of the JSON codec, fixed, the same as the defaults of
 * `@dogpile-effect/codecs`' `Limits`: a stored value may be at most 16 MiB,
 * nest at most 512 arrays and objects, and hold at most 1,000,000 values (the
 * top-level value, every array element and every object entry). Encoding
 * refuses a value beyond them with an {@link EncodeError}, decoding refuses
 * bytes beyond them with a {@link DecodeError} before `JSON.parse` builds
 * anything, so neither a deep value nor a hostile one can exhaust the stack,
 * the heap or the CPU.
 */
const jsonLimits = { maxBytes: 16 * 1024 * 1024, maxDepth: 512, maxItems: 1_000_000 } as const

interface JsonWalk {
  readonly seen: Set<object>
  items: number
}

/** What JSON cannot hold, and where: the steps from the top-level value, innermost first (built on the way out). */
interface JsonProblem {
  readonly what: string
  readonly steps: Array<string | number>
}

const problem = (what: string): JsonProblem => ({ what, steps: [] })

/** The problem of a child at `step`, seen from its parent. */
const under = (found: JsonProblem | undefined, step: string | number): JsonProblem | undefined => {
  if (found !== undefined) found.steps.push(step)
  return found
}

/** `value.a[0].b is …`: the message of a problem, its path in the same notation as JavaScript. */
const describeProblem = (found: JsonProblem): string => {
  let path = "value"
  for (let i = found.steps.length - 1; i >= 0; i--) {
    const step = found.steps[i] as string | number
    path += typeof step === "number" ? `[${step}]` : `.${step}`
  }
  return `${path} ${found.what}`
}

/**
 * Walks a value and reports the first thing JSON would silently drop or alter:
 * functions, symbols, `undefined`, BigInt, non-finite numbers, -0, and class
 * instances other than plain objects and arrays. Circular structures are
 * reported too, and so is a value beyond {@link jsonLimits} (nesting, number of
 * values), before the recursion could exhaust the stack. `JSON.stringify`
 * alone would turn several of these into `null` or nothing, and a cache must
 * not store a value that reads back different. `depth` counts the arrays and
 * objects around `value`. The path is built only for a value refused.
 */
const jsonProblem = (value: unknown, walk: JsonWalk, depth: number): JsonProblem | undefined => {
  if (++walk.items > jsonLimits.maxItems) return problem(`is past the JSON codec's ${jsonLimits.maxItems} values`)
  switch (typeof value) {
    case "string":
    case "boolean":
      return undefined
    case "number":
      if (!Number.isFinite(value)) return problem(`is ${value}, which JSON cannot represent`)
      if (Object.is(value, -0)) return problem("is -0, which JSON reads back as 0")
      return undefined
    case "undefined":
      return problem("is undefined, which JSON cannot represent")
    case "bigint":
      return problem("is a BigInt, which JSON cannot represent")
    case "function":
    case "symbol":
      return problem(`is a ${typeof value}, which no codec stores`)
    case "object": {
      if (value === null) return undefined
      if (walk.seen.has(value)) return problem("is a circular reference")
      if (depth >= jsonLimits.maxDepth) return problem(`is nested deeper than ${jsonLimits.maxDepth} levels`)
      if (Array.isArray(value)) {
        walk.seen.add(value)
        for (let i = 0; i < value.length; i++) {
          const found = under(jsonProblem(value[i], walk, depth + 1), i)
          if (found !== undefined) return found
        }
        walk.seen.delete(value)
        return undefined
      }
      const proto = Object.getPrototypeOf(value)
      if (proto !== Object.prototype && proto !== null) {
        const name = (value as { constructor?: { name?: string } }).constructor?.name ?? "unknown"
        return problem(`is a ${name} instance, which JSON does not round-trip`)
      }
      if (Object.getOwnPropertySymbols(value).length > 0) return problem("has symbol keys, which JSON drops")
      walk.seen.add(value)
      for (const k of Object.keys(value)) {
        const found = under(jsonProblem((value as Record<string, unknown>)[k], walk, depth + 1), k)
        if (found !== undefined) return found
      }
      walk.seen.delete(value)
      return undefined
    }
  }
}

/** The UTF-8 JSON of `value`, or why it is refused. Never throws. */
const jsonBytes = (value: unknown): Uint8Array | string => {
  try {
    const refused = jsonProblem(value, { seen: new Set(), items: 0 }, 0)
    if (refused !== undefined) return describeProblem(refused)
    const bytes = utf8Bytes(JSON.stringify(value))
    return bytes.length > jsonLimits.maxBytes
      ? `value encodes to ${bytes.length} bytes, more than the JSON codec's ${jsonLimits.maxBytes}`
      : bytes
  } catch (error) {
    // A throwing getter or proxy trap: refused like any other value JSON cannot hold.
    return `value cannot be read: ${describe(error)}`
  }
}

const QUOTE = 0x22
const BACKSLASH = 0x5c

/** Index of the quote that closes the string whose opening quote is at `open`, or -1. */
const stringEnd = (b: Uint8Array, open: number): number => {
  // Short strings (the common case) byte by byte; long ones by jumping between quotes natively.
  const stop = Math.min(open + 48, b.length)
  let i = open + 1
  while (i < stop) {
    const c = b[i]
    if (c === QUOTE) return i
    i += c === BACKSLASH ? 2 : 1
  }
  while (i < b.length) {
    const q = b.indexOf(QUOTE, i)
    if (q < 0) return -1
    let k = q - 1
    while (b[k] === BACKSLASH) k--
    if ((q - 1 - k) % 2 === 0) return q
    i = q + 1
  }
  return -1
}

const isSpace = (c: number | undefined): boolean => c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09

/**
 * Checks UTF-8 JSON text against {@link jsonLimits} without building anything:
 * one pass over the bytes that skips strings and counts nesting and values
 * (the top-level value, plus one per `,` and per non-empty array or object).
 * Only structure is tracked; malformed text is left to `JSON.parse` to refuse.
 * Input shorter than `2 × (maxDepth + 1)` bytes (and not longer than
 * `maxItems`) cannot exceed either limit and is not scanned.
 */
const jsonShapeProblem = (b: Uint8Array): string | undefined => {
  const { maxBytes, maxDepth, maxItems } = jsonLimits
  if (b.length > maxBytes) return `${b.length} bytes is more than the JSON codec's ${maxBytes}`
  if (b.length < 2 * (maxDepth + 1) && b.length <= maxItems) return undefined
  let depth = 0
  let items = 1
  for (let i = 0; i < b.length; i++) {
    const c = b[i]
    if (c === QUOTE) {
      i = stringEnd(b, i)
      if (i < 0) return undefined
    } else if (c === 0x5b || c === 0x7b) {
      if (++depth > maxDepth) return `nested deeper than the JSON codec's ${maxDepth} levels`
      let j = i + 1
      while (isSpace(b[j])) j++
      if (b[j] !== 0x5d && b[j] !== 0x7d && ++items > maxItems) return `more than the JSON codec's ${maxItems} values`
    } else if (c === 0x5d || c === 0x7d) {
      depth--
    } else if (c === 0x2c && ++items > maxItems) {
      return `more than the JSON codec's ${maxItems} values`
    }
  }
  return undefined
}

/**
 * Parses JSON text. `JSON.parse` defines a key named `__proto__` as an own
 * property (never a prototype assignment) and revives nothing into classes;
 * the bytes have passed {@link jsonShapeProblem} first.
 */
const parseJson = (text: string): unknown => JSON.parse(text)

/**
 * The default codec: UTF-8 JSON. Round-trips strings, finite numbers (except
 * -0), booleans, null, arrays and plain objects; rejects everything else at
 * encode time with a typed {@link EncodeError} instead of storing a lossy value.
 * Decoding never executes code or constructs classes. Both directions refuse
 * values beyond {@link jsonLimits} (16 MiB, 512 levels, 1,000,000 values).
 *
 * @example
 * ```ts
 * import { Codec } from "@dogpile-effect/core"
 * import { Effect } from "effect"
 * Effect.runSync(Codec.json.encode([1, "a"])) // bytes of '[1,"a"]'
 * ```
 *
 * @since 0.1.0
 */
const jsonCodec: CodecShape = {
  name: "json",
  encode: (value) => {
    const out = jsonBytes(value)
    return typeof out === "string"
      ? Effect.fail(new EncodeError({ codec: "json", reason: out }))
      : Effect.succeed(out)
  },
  // Decoding is pure, so it runs eagerly and returns an already-completed Effect:
  // cheaper on the hit path than suspending it with Effect.try.
  decode: (bytes) => {
    const refused = jsonShapeProblem(bytes)
    if (refused !== undefined) return Effect.fail(new DecodeError({ codec: "json", reason: refused }))
    try {
      return Effect.succeed(parseJson(utf8(bytes)))
    } catch (error) {
      return Effect.fail(new DecodeError({ codec: "json", reason: describe(error) }))
    }
  }
}

/**
 * The Codec service. The default is {@link json}; `@dogpile-effect/codecs` adds
 * CBOR, MessagePack, Schema-validated and integer-aware codecs. Swap a codec by
 * providing another Layer.
 *
 * @example
 * ```ts
 * import { Codec } from "@dogpile-effect/core"
 * import { Effect } from "effect"
 *
 * const bytes = Effect.gen(function*() {
 *   const codec = yield* Codec
 *   return yield* codec.encode({ one: 1 })
 * }).pipe(Effect.provide(Codec.layerJson))
 * ```
 *
 * @since 0.1.0
 */
export class Codec extends Context.Service<Codec, CodecShape>()("@dogpile-effect/core/Codec") {
  /**
   * The default codec: UTF-8 JSON. Round-trips strings, finite numbers (except
   * -0), booleans, null, arrays and plain objects; rejects everything else at
   * encode time with a typed {@link EncodeError} instead of storing a lossy value.
   * Decoding never executes code or constructs classes.
   */
  static readonly json: CodecShape = jsonCodec
  /** The JSON codec as a Layer. */
  static readonly layerJson: Layer.Layer<Codec> = Layer.succeed(Codec, jsonCodec)
  /** Any codec value as a Layer. */
  static readonly layer = (codec: CodecShape): Layer.Layer<Codec> => Layer.succeed(Codec, codec)
}

