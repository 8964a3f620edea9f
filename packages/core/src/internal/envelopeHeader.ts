/**
 * The bytes of the full and compact envelopes' headers: their magic bytes and
 * sizes, and the big-endian writers that fill them in, used to build an
 * envelope and to restamp one (its header rewritten, its payload untouched).
 *
 * @internal
 */
export const FULL_MAGIC = 0xfe
export const COMPACT_MAGIC = 0xfc
export const FULL_HEADER = 9
export const COMPACT_HEADER = 5
export const MAX_UINT48 = 2 ** 48 - 1
export const MAX_UINT32 = 2 ** 32 - 1

/**
 * `payload` behind a header of `header` bytes that `write` fills in (big-endian, byte by byte: a `DataView`
 * over a small new array would make V8 move it off the heap first, which cost more than the rest).
 */
export const withHeader = (header: number, payload: Uint8Array, write: (out: Uint8Array) => void): Uint8Array => {
  const out = new Uint8Array(header + payload.length)
  write(out)
  out.set(payload, header)
  return out
}

/** A copy of `bytes` with its header rewritten by `write` (the payload copied as it is, never decoded). */
export const restamped = (bytes: Uint8Array, write: (out: Uint8Array) => void): Uint8Array => {
  const out = bytes.slice()
  write(out)
  return out
}

/** Writes `value` (an unsigned 32-bit integer) big-endian at `at`. */
export const putUint32 = (out: Uint8Array, at: number, value: number): void => {
  out[at] = (value >>> 24) & 0xff
  out[at + 1] = (value >>> 16) & 0xff
  out[at + 2] = (value >>> 8) & 0xff
  out[at + 3] = value & 0xff
}

/** Writes the full envelope's creation time (48 bits of ms, big-endian) at its offset 3. */
export const writeFullTime = (out: Uint8Array, createdAt: number): void => {
  const ms = Math.min(Math.max(0, Math.floor(createdAt)), MAX_UINT48)
  const high = Math.floor(ms / 2 ** 32)
  out[3] = high >>> 8
  out[4] = high & 0xff
  putUint32(out, 5, ms % 2 ** 32)
}

/** Writes the full envelope's header: magic, `version` (16 bits), creation time. */
export const writeFullHeader = (out: Uint8Array, version: number, createdAt: number): void => {
  out[0] = FULL_MAGIC
  out[1] = version >>> 8
  out[2] = version & 0xff
  writeFullTime(out, createdAt)
}

/** Writes the compact envelope's header: magic, creation time in whole `unit`s (32 bits). */
export const writeCompactHeader = (out: Uint8Array, unit: number, createdAt: number): void => {
  out[0] = COMPACT_MAGIC
  putUint32(out, 1, Math.min(Math.max(0, Math.floor(createdAt / unit)), MAX_UINT32))
}
