/**
 * Renewing entries in place (core's `Backend.restampMany`) on any Redis
 * client: one Lua script over the keys it is given (all in one slot on a
 * Cluster), which per key checks the stored string's length and leading
 * bytes and, when both match, overwrites those bytes (`SETRANGE`) and resets
 * the TTL (`PEXPIRE`, or `PERSIST` for none). A conditional refresh's "not
 * modified" renews an entry this way with its headers alone: the value's
 * bytes never cross the wire.
 *
 * @since 0.1.0
 */
import type { BackendRestamp } from "@dogpile-effect/core"
import { pxOf } from "./StoreTtl.ts"

/**
 * The script. `KEYS` the entries' keys; `ARGV` four per key, in order: the
 * stored length, the expected leading bytes, the new ones (as many), the TTL
 * in ms (`""`: none). Answers one integer per key: 1 when renewed, 0 when the
 * key holds another entry (or none, or not a string).
 *
 * @example
 * ```ts
 * import { RestampLua } from "@dogpile-effect/redis/lock-kit"
 * const restamp = { lua: RestampLua.RESTAMP, numberOfKeys: "variable" as const }
 * ```
 *
 * @since 0.1.0
 */
export const RESTAMP = `
local out = {}
for i = 1, #KEYS do
  local at = (i - 1) * 4
  local key = KEYS[i]
  local expected = ARGV[at + 2]
  local header = ARGV[at + 3]
  out[i] = 0
  if #expected > 0 and #header == #expected and redis.call("TYPE", key).ok == "string"
    and redis.call("STRLEN", key) == tonumber(ARGV[at + 1])
    and redis.call("GETRANGE", key, 0, #expected - 1) == expected then
    redis.call("SETRANGE", key, 0, header)
    if ARGV[at + 4] == "" then
      redis.call("PERSIST", key)
    else
      redis.call("PEXPIRE", key, ARGV[at + 4])
    end
    out[i] = 1
  end
end
return out`

const bufferOf = (bytes: Uint8Array): Buffer =>
  Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)

/**
 * The `ARGV` of {@link RESTAMP} for the entries at `positions` of `entries`
 * (their keys, in the same order, are its `KEYS`).
 *
 * @example
 * ```ts
 * import { RestampLua } from "@dogpile-effect/redis/lock-kit"
 * const header = new Uint8Array([0xfe, 0, 1, 0, 0, 0, 0, 0, 2])
 * RestampLua.argsOf([{ key: "k", length: 20, expected: header, header }], [0]).length // 4
 * ```
 *
 * @since 0.1.0
 */
export const argsOf = (
  entries: ReadonlyArray<BackendRestamp>,
  positions: ReadonlyArray<number>
): Array<string | number | Buffer> => {
  const args: Array<string | number | Buffer> = []
  for (const i of positions) {
    const entry = entries[i] as BackendRestamp
    const px = pxOf(entry.ttl)
    args.push(entry.length, bufferOf(entry.expected), bufferOf(entry.header), px === undefined ? "" : px)
  }
  return args
}

/**
 * What {@link RESTAMP} answered, as one boolean per key (anything but a list
 * of integers counts as nothing renewed).
 *
 * @example
 * ```ts
 * import { RestampLua } from "@dogpile-effect/redis/lock-kit"
 * RestampLua.appliedOf([1, 0], 2) // [true, false]
 * ```
 *
 * @since 0.1.0
 */
export const appliedOf = (reply: unknown, count: number): ReadonlyArray<boolean> => {
  const answers = Array.isArray(reply) ? reply : []
  return Array.from({ length: count }, (_, i) => Number(answers[i]) === 1)
}
