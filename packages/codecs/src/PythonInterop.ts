/**
 * Interoperability with Python services using dogpile.cache (and the
 * dogpile_backend_redis_advanced plugin): envelopes that read and write the
 * layouts Python stores, so both sides can share keys.
 *
 * | layout    | bytes (JSON payload)                           | MessagePack payload                          | written by |
 * |-----------|------------------------------------------------|----------------------------------------------|------------|
 * | `dogpile` | `{"ct": 1796149243.437805, "v": 2}\|payload`   | same metadata, then the packed payload       | dogpile.cache ≥ 1.1 (1.1.0–1.5.x) whenever the region has a `serializer` (any backend on bytes: `dogpile.cache.redis`, and plugin 0.5.x with a region serializer) |
 * | `full`    | `[payload, {"ct": 1471113698.76127, "v": 2}]`  | `92` payload `82` `v` `ct` (float64)         | plugin 0.4.x `loads`/`dumps` (json/msgpack) over dogpile < 1.0 (`v` 1), plugin 0.5.x `loads`/`dumps` over dogpile ≥ 1.1 (`v` 2) |
 * | `compact` | `[payload, 1471113753]`                        | `92` payload `ce` seconds (uint32)           | the plugin README's `AltCachedValue` (int seconds), any version |
 * | `raw`     | `payload`                                      | `payload`                                    | the plugin's raw `loads`/`dumps` (expiry left to Redis), any version |
 *
 * `ct` is the creation time in float seconds (Python's `time.time()`), `v`
 * dogpile's `value_version`: 2 since dogpile.cache 1.1.0 (the default here),
 * 1 before. The payload is encoded by the region's codec, which must write the
 * same format as Python: {@link codec} and {@link layer} give the matching
 * Python-exact codecs ({@link PythonJson}, {@link PythonMsgpack}).
 *
 * A value Python pickled (dogpile's default serializer) is a `DecodeError`,
 * that is a miss, in every layout.
 *
 * @since 0.1.0
 */
import { Codec, type CodecShape, DecodeError, Envelope, type InvalidOptionError, Options } from "@dogpile-effect/core"
import { Effect, Exit, Layer, Predicate } from "effect"
import * as Msgpack from "./Msgpack.ts"
import * as MsgpackProfile from "./MsgpackProfile.ts"
import * as PythonJson from "./PythonJson.ts"
import * as PythonMsgpack from "./PythonMsgpack.ts"

/**
 * The serializer the Python side uses: `json` (`json.dumps`/`json.loads`) or
 * `msgpack` (`msgpack.packb`/`msgpack.unpackb`).
 *
 * @since 0.1.0
 */
export type Format = "json" | "msgpack"

/**
 * The layouts: `dogpile` is dogpile.cache ≥ 1.1's own (`{"ct", "v"}|payload`);
 * the plugin's are `full`, dogpile's `CachedValue` as a list
 * (`[payload, {"ct", "v"}]`), `compact` the README's `AltCachedValue`
 * (`[payload, int seconds]`), `raw` the payload alone (expiry left to Redis).
 *
 * @since 0.1.0
 */
export type Layout = "dogpile" | "full" | "compact" | "raw"

/**
 * Options of {@link envelope} and {@link layer}.
 *
 * @since 0.1.0
 */
export interface Options {
  readonly format: Format
  readonly layout: Layout
  /**
   * dogpile's `value_version`, written as `v` and checked on read (`dogpile`
   * and `full` layouts). Default 2, what dogpile.cache has written since 1.1.0;
   * use 1 for services on dogpile.cache < 1.0 (plugin 0.4.x).
   */
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

/** Python's `repr` of a float, as `json.dumps` writes it. */
const pythonFloat = PythonJson.floatRepr

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

const PIPE = 0x7c
/**
 * The longest metadata read: dogpile writes about 35 bytes (`{"ct": …, "v": 2}`),
 * so anything longer is refused before it is parsed.
 */
const MAX_META = 256

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
  if (bytes.length - end - 1 > MAX_META) return `the envelope's metadata is longer than ${MAX_META} bytes`
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
  if (metaBytes.length > MAX_META) return `the envelope's metadata is longer than ${MAX_META} bytes`
  if (MsgpackProfile.refusal(metaBytes) !== undefined) return "the envelope's metadata is not valid MessagePack"
  const meta = Effect.runSync(Effect.result(Msgpack.codec.decode(metaBytes)))
  if (meta._tag === "Failure") return "the envelope's metadata is not valid MessagePack"
  return { payload: bytes.subarray(1, end), meta: meta.success }
}

const metaFields = (meta: unknown): { readonly ct: unknown; readonly v: unknown } | undefined =>
  Predicate.isObject(meta) && !Array.isArray(meta)
    ? {
      ct: Object.hasOwn(meta, "ct") ? (meta as { ct: unknown }).ct : undefined,
      v: Object.hasOwn(meta, "v") ? (meta as { v: unknown }).v : undefined
    }
    : undefined

/** Creation time in ms from `{"ct", "v"}` metadata, or why it is refused. */
const checkedCreatedAt = (meta: unknown, version: number): number | string => {
  const fields = metaFields(meta)
  if (fields === undefined) return "expected {\"ct\", \"v\"} metadata"
  if (typeof fields.ct !== "number" || !Number.isFinite(fields.ct)) return "metadata has no numeric ct"
  if (fields.v !== version) return `version mismatch: stored ${String(fields.v)}, expected ${version}`
  return fields.ct * 1000
}

/**
 * dogpile.cache ≥ 1.1's layout, as `CacheRegion._serialize_cached_value_elements`
 * writes it: `json.dumps({"ct": ct, "v": v}).encode("ascii") + b"|" + serializer(payload)`.
 */
const dogpileEnvelope = (name: string, version: number): Envelope.EnvelopeShape => {
  const fail = (reason: string) => Effect.fail(new DecodeError({ codec: `envelope:${name}`, reason }))
  return {
    name,
    storesCreatedAt: true,
    encode: (value, createdAt, codec) =>
      Effect.map(codec.encode(value), (payload) =>
        concat(
          textEncoder.encode(`{"ct": ${pythonFloat(floatSeconds(createdAt))}, "v": ${version}}|`),
          payload
        )),
    decode: (bytes, _now, codec) => {
      // Python splits at the first "|" (bytes.partition); the metadata is ASCII JSON.
      const pipe = bytes.subarray(0, MAX_META).indexOf(PIPE)
      if (pipe < 0) return fail("no {\"ct\", \"v\"}| metadata")
      let meta: unknown
      try {
        meta = JSON.parse(textDecoder.decode(bytes.subarray(0, pipe)))
      } catch {
        return fail("the metadata before | is not JSON")
      }
      const createdAt = checkedCreatedAt(meta, version)
      if (typeof createdAt === "string") return fail(createdAt)
      return Effect.map(codec.decode(bytes.subarray(pipe + 1)), (value) => ({ value, createdAt }))
    }
  }
}

/** The plugin's list layouts (`full`, `compact`). */
const listEnvelope = (name: string, options: Options, version: number): Envelope.EnvelopeShape => {
  const fail = (reason: string) => Effect.fail(new DecodeError({ codec: `envelope:${name}`, reason }))
  const full = options.layout === "full"
  const json = options.format === "json"
  // dogpile < 1.0 on Python 2 wrote {"v", "ct"} (the seed's vectors); dogpile ≥ 1.1 on Python 3 writes {"ct", "v"}.
  const ctFirst = version >= 2

  const jsonMeta = (createdAt: number): string => {
    const ct = `"ct": ${pythonFloat(floatSeconds(createdAt))}`
    return ctFirst ? `{${ct}, "v": ${version}}` : `{"v": ${version}, ${ct}}`
  }
  const msgpackMeta = (createdAt: number): Uint8Array => {
    const v = concat(Uint8Array.of(0xa1, 0x76), msgpackUint(version))
    const ct = concat(Uint8Array.of(0xa2, 0x63, 0x74), msgpackFloat64(floatSeconds(createdAt)))
    return ctFirst ? concat(Uint8Array.of(0x82), ct, v) : concat(Uint8Array.of(0x82), v, ct)
  }

  const wrap = (payload: Uint8Array, createdAt: number): Uint8Array => {
    if (json) {
      const tail = full ? `, ${jsonMeta(createdAt)}]` : `, ${wholeSeconds(createdAt)}]`
      return concat(Uint8Array.of(0x5b), payload, textEncoder.encode(tail))
    }
    return full
      ? concat(Uint8Array.of(0x92), payload, msgpackMeta(createdAt))
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
      let createdAt: number | string
      if (full) {
        createdAt = checkedCreatedAt(meta, version)
      } else {
        createdAt = typeof meta === "number" && Number.isFinite(meta)
          ? meta * 1000
          : "expected integer seconds as metadata"
      }
      if (typeof createdAt === "string") return fail(createdAt)
      const at = createdAt
      return Effect.map(codec.decode(payload), (value) => ({ value, createdAt: at }))
    }
  }
}

const LAYOUTS: ReadonlyArray<string> = ["dogpile", "full", "compact", "raw"]

/**
 * The envelope for one format and layout, validating the options: fails with
 * `InvalidOptionError` for an unknown format or layout, or a `version` that is
 * not a non-negative integer. Decoding fails with a {@link DecodeError} (a
 * miss) on another layout, a version other than `version`, or malformed
 * bytes; it never throws.
 *
 * @example
 * ```ts
 * import { PythonInterop } from "@dogpile-effect/codecs"
 * import { Effect } from "effect"
 *
 * const program = Effect.gen(function*() {
 *   const envelope = yield* PythonInterop.make({ format: "json", layout: "dogpile" })
 *   return yield* envelope.encode(10, 1796149243437, PythonInterop.codec("json")) // '{"ct": 1796149243.437, "v": 2}|10'
 * })
 * ```
 *
 * @category envelopes
 * @since 0.2.0
 */
export const make = (options: Options): Effect.Effect<Envelope.EnvelopeShape, InvalidOptionError> =>
  Effect.gen(function*() {
    const format: unknown = options.format
    const layout: unknown = options.layout
    yield* Options.reject("PythonInterop", "format", format !== "json" && format !== "msgpack", `must be "json" or "msgpack", got ${String(format)}`)
    yield* Options.reject("PythonInterop", "layout", !LAYOUTS.includes(String(layout)), `must be one of ${LAYOUTS.join(", ")}, got ${String(layout)}`)
    const version = yield* Options.integer("PythonInterop", "version", options.version, 2, { min: 0 })
    if (options.layout === "raw") return Envelope.raw
    const name = `python-${options.format}-${options.layout}`
    return options.layout === "dogpile" ? dogpileEnvelope(name, version) : listEnvelope(name, options, version)
  })

/**
 * {@link make}, synchronously: throws its `InvalidOptionError` for invalid
 * options.
 *
 * @example
 * ```ts
 * import { PythonInterop } from "@dogpile-effect/codecs"
 * import { Effect } from "effect"
 *
 * const envelope = PythonInterop.envelope({ format: "json", layout: "dogpile" })
 * Effect.runSync(envelope.encode(10, 1796149243437, PythonInterop.codec("json"))) // '{"ct": 1796149243.437, "v": 2}|10'
 * ```
 *
 * @category envelopes
 * @since 0.1.0
 */
export const envelope = (options: Options): Envelope.EnvelopeShape => {
  const exit = Effect.runSyncExit(make(options))
  if (Exit.isSuccess(exit)) return exit.value
  const error = Exit.findErrorOption(exit)
  if (error._tag === "Some") throw error.value
  throw new Error(`PythonInterop.envelope: ${String(exit.cause)}`)
}

/**
 * The payload codec for a format, writing exactly what Python's serializer
 * writes and reading what it reads: {@link PythonJson.codec}
 * (`json.dumps`/`json.loads`, integers beyond 2^53 as BigInt) or
 * {@link PythonMsgpack.codec} (`msgpack.packb`/`msgpack.unpackb`).
 *
 * @example
 * ```ts
 * import { PythonInterop } from "@dogpile-effect/codecs"
 * const codec = PythonInterop.codec("msgpack")
 * ```
 *
 * @category codecs
 * @since 0.1.0
 */
export const codec = (format: Format): CodecShape => (format === "json" ? PythonJson.codec : PythonMsgpack.codec)

/**
 * A matching codec and envelope as one Layer: provides `Codec` and sets
 * `Envelope.CurrentEnvelope`, so regions built under it read and write what
 * the Python side reads and writes. Fails with `InvalidOptionError` for a
 * `version` that is not a non-negative integer.
 *
 * @example
 * ```ts
 * import { PythonInterop } from "@dogpile-effect/codecs"
 * // dogpile.cache 1.x with make_region(serializer=..., deserializer=...) over msgpack
 * const sharedWithPython = PythonInterop.layer({ format: "msgpack", layout: "dogpile" })
 * ```
 *
 * @category layers
 * @since 0.1.0
 */
export const layer = (options: Options): Layer.Layer<Codec, InvalidOptionError> =>
  Layer.unwrap(
    Effect.map(make(options), (shape) =>
      Layer.merge(Codec.layer(codec(options.format)), Layer.succeed(Envelope.CurrentEnvelope, shape)))
  )
