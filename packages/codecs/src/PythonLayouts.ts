/**
 * The byte layouts behind `PythonInterop` (internal to the codecs package):
 * dogpile.cache 1.x's `{"ct", "v"}|payload` and the plugin's list layouts.
 *
 * @internal
 * @since 0.1.0
 */
import { DecodeError, type Envelope } from "@dogpile-effect/core"
import { Effect, Predicate } from "effect"
import * as Msgpack from "./Msgpack.ts"
import * as MsgpackProfile from "./MsgpackProfile.ts"
import * as PythonJson from "./PythonJson.ts"

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
export const dogpileEnvelope = (name: string, version: number): Envelope.EnvelopeShape => {
  const fail = (reason: string) => Effect.fail(new DecodeError({ codec: `envelope:${name}`, reason }))
  return {
    name,
    storesCreatedAt: true,
    // Python reads these bytes as they are: no EntryMeta header in front of them.
    metadata: false,
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
export const listEnvelope = (
  name: string,
  options: { readonly format: "json" | "msgpack"; readonly layout: "full" | "compact" },
  version: number
): Envelope.EnvelopeShape => {
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
    // Python reads these bytes as they are: no EntryMeta header in front of them.
    metadata: false,
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

