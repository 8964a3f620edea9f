/**
 * Redis Cluster key slots: which of the 16384 slots a key lives in, and how to
 * split a batch of keys into requests that never cross a slot (MGET, DEL,
 * pipelines and scripts fail with CROSSSLOT otherwise).
 *
 * @since 0.1.0
 */

/**
 * The number of slots of a Redis Cluster.
 *
 * @since 0.1.0
 */
export const SLOTS = 16384

const table: ReadonlyArray<number> = Array.from({ length: 256 }, (_, byte) => {
  let crc = byte << 8
  for (let bit = 0; bit < 8; bit++) crc = (crc & 0x8000) !== 0 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff
  return crc
})

/** CRC16-CCITT (XMODEM), the checksum Redis Cluster uses. */
const crc16 = (bytes: Uint8Array): number => {
  let crc = 0
  for (const byte of bytes) {
    // The index is a byte (0..255): always within the 256-entry table.
    crc = ((crc << 8) & 0xffff) ^ (table[((crc >> 8) ^ byte) & 0xff] as number)
  }
  return crc
}

const encoder = new TextEncoder()

/**
 * The part of a key that decides its slot: the text between the first `{` and
 * the next `}` when it is non-empty, otherwise the whole key.
 *
 * @example
 * ```ts
 * import { KeySlot } from "@dogpile-effect/redis"
 * KeySlot.hashTag("user:{42}:name") // "42"
 * KeySlot.hashTag("plain") // "plain"
 * KeySlot.hashTag("empty:{}:tag") // "empty:{}:tag"
 * ```
 *
 * @since 0.1.0
 */
export const hashTag = (key: string): string => {
  const open = key.indexOf("{")
  if (open === -1) return key
  const close = key.indexOf("}", open + 1)
  if (close === -1 || close === open + 1) return key
  return key.slice(open + 1, close)
}

/**
 * The `{tag}` of a key including its braces, when it has one (`undefined`
 * otherwise): prefixing another key with it puts that key in the same slot.
 *
 * @since 0.1.0
 */
export const tagOf = (key: string): string | undefined => {
  const tag = hashTag(key)
  return tag === key ? undefined : `{${tag}}`
}

/**
 * The cluster slot of a key (UTF-8 bytes, `{tag}` rules).
 *
 * @example
 * ```ts
 * import { KeySlot } from "@dogpile-effect/redis"
 * KeySlot.slot("foo") // 12182, like CLUSTER KEYSLOT foo
 * ```
 *
 * @since 0.1.0
 */
export const slot = (key: string): number => crc16(encoder.encode(hashTag(key))) % SLOTS

/**
 * Splits positions `0..keys.length-1` into request batches of at most `size`
 * keys each. With `cluster`, the keys of one batch share a slot. Positions are
 * returned so that callers can put replies back in input order.
 *
 * @example
 * ```ts
 * import { KeySlot } from "@dogpile-effect/redis"
 * KeySlot.batches(["a", "b", "c"], { size: 2, cluster: false }) // [[0, 1], [2]]
 * ```
 *
 * @since 0.1.0
 */
export const batches = (
  keys: ReadonlyArray<string>,
  options: { readonly size: number; readonly cluster: boolean }
): ReadonlyArray<ReadonlyArray<number>> => {
  const size = Math.max(1, Math.floor(options.size))
  const groups: Array<Array<number>> = []
  if (!options.cluster) {
    groups.push(keys.map((_, i) => i))
  } else {
    const bySlot = new Map<number, Array<number>>()
    keys.forEach((key, i) => {
      const s = slot(key)
      const group = bySlot.get(s)
      if (group === undefined) bySlot.set(s, [i])
      else group.push(i)
    })
    groups.push(...bySlot.values())
  }
  const out: Array<ReadonlyArray<number>> = []
  for (const group of groups) {
    for (let start = 0; start < group.length; start += size) out.push(group.slice(start, start + size))
  }
  return out
}
