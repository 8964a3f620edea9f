/**
 * Interoperability with Python services using dogpile.cache with
 * dogpile_backend_redis_advanced: envelopes that read and write that plugin's
 * JSON and MessagePack layouts, so both sides can share keys.
 *
 * | layout    | JSON bytes                                 | MessagePack bytes                             |
 * |-----------|--------------------------------------------|-----------------------------------------------|
 * | `full`    | `[payload, {"v": 1, "ct": 1471113698.76127}]` | `92` payload `82 a1 76` v `a2 63 74 cb` ct (float64) |
 * | `compact` | `[payload, 1471113753]`                    | `92` payload `ce` seconds (uint32)            |
 * | `raw`     | `payload`                                  | `payload`                                     |
 *
 * `ct` is the creation time in float seconds (written with microsecond
 * precision, as Python's `time.time()`), `v` dogpile's value version. The
 * payload is encoded by the region's codec, which must write the same format:
 * {@link layer} provides a matching pair.
 *
 * @since 0.1.0
 */
import { Codec, type CodecShape, DecodeError, Envelope } from "@dogpile-effect/core"
import { Effect, Layer, Predicate } from "effect"
import * as Json from "./Json.ts"
import * as Msgpack from "./Msgpack.ts"
import * as MsgpackProfile from "./MsgpackProfile.ts"

/**
 * The serializer the Python side uses: `json` (`json.dumps`/`json.loads`) or
 * `msgpack` (`msgpack.packb`/`msgpack.unpackb`).
 *
 * @since 0.1.0
 */
export type Format = "json" | "msgpack"

/**
 * The plugin's layouts: `full` is dogpile's `CachedValue` (`[payload, {"ct", "v"}]`),
 * `compact` the README's `AltCachedValue` (`[payload, int seconds]`), `raw` the
 * payload alone (expiry left to Redis).
 *
 * @since 0.1.0
 */
export type Layout = "full" | "compact" | "raw"

/**
 * Options of {@link envelope} and {@link layer}.
 *
 * @since 0.1.0
 */
export interface Options {
  readonly format: Format
  readonly layout: Layout
  /** dogpile's `value_version`, written as `v` and checked on read (full layout). Default 1. */
  readonly version?: number
}

const textEncoder = new TextEncoder()
const textDecoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true })

const concat = (...parts: ReadonlyArray<Uint8Array>): Uint8Array => {
  let length = 0
  for (const part of parts) length += part.length
  const out = new Uint8Array(length)
  let at = 0
  for (const part of parts) {
    out.set(part, at)
    at += part.length
  }
  return out
}

/** Seconds with microsecond precision, as Python's `time.time()` reports them. */
const floatSeconds = (createdAt: number): number => Number((Math.max(0, createdAt) / 1000).toFixed(6))
const wholeSeconds = (createdAt: number): number => Math.floor(Math.max(0, createdAt) / 1000)

/** Python's `repr` of a float: like JavaScript's, but integral values keep `.0`. */
const pythonFloat = (x: number): string => (Number.isInteger(x) ? `${x}.0` : String(x))

const msgpackUint = (n: number): Uint8Array => {
  if (n <= 0x7f) return Uint8Array.of(n)
  if (n <= 0xff) return Uint8Array.of(0xcc, n)
  if (n <= 0xffff) return Uint8Array.of(0xcd, n >> 8, n & 0xff)
  if (n <= 0xffffffff) {
    const out = new Uint8Array(5)
    out[0] = 0xce
    new DataView(out.buffer).setUint32(1, n)
    return out
  }
  const out = new Uint8Array(9)
  out[0] = 0xcf
  new DataView(out.buffer).setBigUint64(1, BigInt(n))
  return out
}

const msgpackFloat64 = (x: number): Uint8Array => {
  const out = new Uint8Array(9)
  out[0] = 0xcb
  new DataView(out.buffer).setFloat64(1, x)
  return out
}

/**
 * Where the JSON value starting at `start` ends: the offset of the first `,`
 * or `]` outside strings and brackets. UTF-8 continuation bytes are never
 * ASCII, so scanning bytes is exact.
 */
const jsonValueEnd = (b: Uint8Array, start: number): number => {
  let depth = 0
  let inString = false
  for (let i = start; i < b.length; i++) {
    const c = b[i]
    if (inString) {
      if (c === 0x5c) i++
      else if (c === 0x22) inString = false
      continue
    }
    switch (c) {
      case 0x22:
        inString = true
        break
      case 0x5b:
      case 0x7b:
        depth++
        break
      case 0x5d:
      case 0x7d:
        if (depth === 0) return i
        depth--
        break
      case 0x2c:
        if (depth === 0) return i
        break
    }
  }
  return -1
}

const isSpace = (c: number | undefined): boolean => c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09

interface Split {
  readonly payload: Uint8Array
  readonly meta: unknown
}

const splitJson = (bytes: Uint8Array): Split | string => {
  let start = 0
  while (isSpace(bytes[start])) start++
  if (bytes[start] !== 0x5b) return "not a JSON array"
  start++
  while (isSpace(bytes[start])) start++
  const end = jsonValueEnd(bytes, start)
  if (end < 0 || bytes[end] !== 0x2c) return "not a two-element JSON array"
  let payloadEnd = end
  while (payloadEnd > start && isSpace(bytes[payloadEnd - 1])) payloadEnd--
  let meta: unknown
  try {
    // "[" + the rest parses as a one-element array exactly when the envelope has two elements.
    const rest = JSON.parse(`[${textDecoder.decode(bytes.subarray(end + 1))}`) as unknown
    if (!Array.isArray(rest) || rest.length !== 1) return "not a two-element JSON array"
    meta = rest[0]
  } catch {
    return "the envelope's metadata is not valid JSON"
  }
  return { payload: bytes.subarray(start, payloadEnd), meta }
}

const splitMsgpack = (bytes: Uint8Array): Split | string => {
  if (bytes[0] !== 0x92) return "not a two-element MessagePack array"
  const end = MsgpackProfile.itemEnd(bytes, 1)
  if (typeof end === "string") return end
  const metaBytes = bytes.subarray(end)
  if (MsgpackProfile.refusal(metaBytes) !== undefined) return "the envelope's metadata is not valid MessagePack"
  const meta = Effect.runSync(Effect.result(Msgpack.codec.decode(metaBytes)))
  if (meta._tag === "Failure") return "the envelope's metadata is not valid MessagePack"
  return { payload: bytes.subarray(1, end), meta: meta.success }
}

/**
 * The envelope for one format and layout. Decoding fails with a
 * {@link DecodeError} (a miss) on another layout, a version other than
 * `version`, or malformed bytes; it never throws.
 *
 * @example
 * ```ts
 * import { Msgpack, PythonInterop } from "@dogpile-effect/codecs"
 * import { Effect } from "effect"
 *
 * const envelope = PythonInterop.envelope({ format: "msgpack", layout: "compact" })
 * Effect.runSync(envelope.encode(10, 1471112052000, Msgpack.codec)) // 92 0a ce 57 af 63 74
 * ```
 *
 * @since 0.1.0
 */
export const envelope = (options: Options): Envelope.EnvelopeShape => {
  if (options.layout === "raw") return Envelope.raw
  const version = options.version ?? 1
  if (!Number.isSafeInteger(version) || version < 0) {
    throw new RangeError(`PythonInterop.envelope: version must be a non-negative integer, got ${version}`)
  }
  const name = `python-${options.format}-${options.layout}`
  const fail = (reason: string) => Effect.fail(new DecodeError({ codec: `envelope:${name}`, reason }))
  const full = options.layout === "full"
  const json = options.format === "json"

  const wrap = (payload: Uint8Array, createdAt: number): Uint8Array => {
    if (json) {
      const tail = full
        ? `, {"v": ${version}, "ct": ${pythonFloat(floatSeconds(createdAt))}}]`
        : `, ${wholeSeconds(createdAt)}]`
      return concat(Uint8Array.of(0x5b), payload, textEncoder.encode(tail))
    }
    return full
      ? concat(
        Uint8Array.of(0x92),
        payload,
        Uint8Array.of(0x82, 0xa1, 0x76),
        msgpackUint(version),
        Uint8Array.of(0xa2, 0x63, 0x74),
        msgpackFloat64(floatSeconds(createdAt))
      )
      : concat(Uint8Array.of(0x92), payload, msgpackUint(wholeSeconds(createdAt)))
  }

  return {
    name,
    storesCreatedAt: true,
    encode: (value, createdAt, codec) => Effect.map(codec.encode(value), (payload) => wrap(payload, createdAt)),
    decode: (bytes, _now, codec) => {
      const split = json ? splitJson(bytes) : splitMsgpack(bytes)
      if (typeof split === "string") return fail(split)
      const { meta, payload } = split
      let seconds: number
      if (full) {
        if (!Predicate.isObject(meta) || Array.isArray(meta)) return fail("expected {\"ct\", \"v\"} metadata")
        const ct: unknown = Object.hasOwn(meta, "ct") ? (meta as { ct: unknown }).ct : undefined
        const v: unknown = Object.hasOwn(meta, "v") ? (meta as { v: unknown }).v : undefined
        if (typeof ct !== "number" || !Number.isFinite(ct)) return fail("metadata has no numeric ct")
        if (v !== version) return fail(`version mismatch: stored ${String(v)}, expected ${version}`)
        seconds = ct
      } else {
        if (typeof meta !== "number" || !Number.isFinite(meta)) return fail("expected integer seconds as metadata")
        seconds = meta
      }
      return Effect.map(codec.decode(payload), (value) => ({ value, createdAt: seconds * 1000 }))
    }
  }
}

/**
 * The payload codec for a format: {@link Json.codec} or {@link Msgpack.codec}.
 *
 * @example
 * ```ts
 * import { PythonInterop } from "@dogpile-effect/codecs"
 * const codec = PythonInterop.codec("msgpack")
 * ```
 *
 * @since 0.1.0
 */
export const codec = (format: Format): CodecShape => (format === "json" ? Json.codec : Msgpack.codec)

/**
 * A matching codec and envelope as one Layer: provides `Codec` and sets
 * `Envelope.CurrentEnvelope`, so regions built under it read and write what
 * the Python plugin reads and writes.
 *
 * @example
 * ```ts
 * import { PythonInterop } from "@dogpile-effect/codecs"
 * const sharedWithPython = PythonInterop.layer({ format: "msgpack", layout: "full", version: 1 })
 * ```
 *
 * @since 0.1.0
 */
export const layer = (options: Options): Layer.Layer<Codec> =>
  Layer.merge(Codec.layer(codec(options.format)), Layer.succeed(Envelope.CurrentEnvelope, envelope(options)))
