/**
 * The Lua scripts of the hash backend, as typed descriptors: each pairs its
 * Lua source with the function that builds its KEYS and ARGV, so the argument
 * layout is written once, next to the Lua that reads it. Every key a script
 * touches is passed in KEYS (never built inside the script), so a Cluster
 * routes the call and ACL key patterns apply; all keys of one call share the
 * bucket's slot.
 *
 * @since 0.1.0
 */
import type { RedisClient } from "@dogpile-effect/redis"
import type { ChainableCommander } from "ioredis"

/**
 * The KEYS and ARGV of one script call.
 *
 * @example
 * ```ts
 * import * as HashScripts from "./HashScripts.ts" // internal to @dogpile-effect/hstore
 * const call: HashScripts.ScriptCall = HashScripts.deletePlain.call(["k"]) // { keys: ["k"], args: [] }
 * ```
 *
 * @category models
 * @since 0.1.0
 */
export interface ScriptCall {
  readonly keys: ReadonlyArray<string>
  readonly args: ReadonlyArray<string | Buffer>
}

/**
 * A script: its name (the ioredis command it is defined as), its Lua source,
 * and how a typed input becomes KEYS and ARGV.
 *
 * @example
 * ```ts
 * import * as HashScripts from "./HashScripts.ts" // internal to @dogpile-effect/hstore
 * HashScripts.setFields.name // "hstoreSetFields2"
 * ```
 *
 * @category models
 * @since 0.1.0
 */
export interface Script<Input> {
  readonly name: string
  readonly lua: string
  readonly call: (input: Input) => ScriptCall
}

/**
 * How a write changes its bucket's Redis TTL:
 * - `entries`: to at least `ms` (the longest entry TTL of the write; `PTTL`
 *   check then `PEXPIRE`, i.e. `NX` + `GT`), or no TTL at all when `ms` is
 *   `undefined` (an entry of the write has no TTL);
 * - `onCreate`: `ms` only when the bucket has no TTL (`PEXPIRE … NX`);
 * - `onEveryWrite`: reset to `ms`;
 * - `never`: untouched.
 *
 * @example
 * ```ts
 * import type * as HashScripts from "./HashScripts.ts" // internal to @dogpile-effect/hstore
 * const ttl: HashScripts.BucketTtl = { mode: "entries", ms: 60_000 }
 * ```
 *
 * @category models
 * @since 0.1.0
 */
export interface BucketTtl {
  readonly mode: "entries" | "onCreate" | "onEveryWrite" | "never"
  readonly ms: number | undefined
}

/**
 * The Lua that applies a {@link BucketTtl} to a container key (a bucket or a
 * list) at the end of a write script, shared by every hstore script that
 * writes. The script must have `mode` (`e`, `c`, `w` or `n`, from ARGV[1]) and
 * `ttl` (the policy's milliseconds) in scope; `longest` names the Lua variable
 * with the longest entry TTL of the write (negative: an entry without a TTL).
 *
 * @example
 * ```ts
 * import * as HashScripts from "./HashScripts.ts" // internal to @dogpile-effect/hstore
 * const lua = `local bucket = KEYS[1]\n${HashScripts.applyBucketTtl("bucket", "ttl")}`
 * ```
 *
 * @category scripts
 * @since 0.1.0
 */
export const applyBucketTtl = (container: string, longest: string): string => `if mode == 'e' then
  if ${longest} < 0 then
    redis.call('PERSIST', ${container})
  else
    local current = redis.call('PTTL', ${container})
    if current == -1 or current < ${longest} then redis.call('PEXPIRE', ${container}, ${longest}) end
  end
elseif mode == 'c' then
  if redis.call('PTTL', ${container}) == -1 then redis.call('PEXPIRE', ${container}, ttl) end
elseif mode == 'w' then
  redis.call('PEXPIRE', ${container}, ttl)
end`

/**
 * One field of a write.
 *
 * @example
 * ```ts
 * import type * as HashScripts from "./HashScripts.ts" // internal to @dogpile-effect/hstore
 * const write: HashScripts.FieldWrite = { field: "f", value: Buffer.from("v"), overflow: false, fieldTtlMs: undefined, keyTtlMs: undefined }
 * ```
 *
 * @category models
 * @since 0.1.0
 */
export interface FieldWrite {
  readonly field: string
  readonly value: Buffer
  /** Whether `value` goes to `overflowKey` (the field then holds the marker). */
  readonly overflow: boolean
  /** The field's own TTL (`HPEXPIRE`, when the server has it). */
  readonly fieldTtlMs: number | undefined
  /** The overflow key's TTL (`PX`) when the value overflows. */
  readonly keyTtlMs: number | undefined
}

/**
 * The input of {@link setFields}.
 *
 * @example
 * ```ts
 * import * as HashScripts from "./HashScripts.ts" // internal to @dogpile-effect/hstore
 * const input: HashScripts.SetFieldsInput = {
 *   bucket: "b", ttl: { mode: "never", ms: undefined }, marker: undefined, overflowKeys: [], fieldTtl: false,
 *   ttlField: undefined, longestMs: undefined, fields: []
 * }
 * ```
 *
 * @category models
 * @since 0.1.0
 */
export interface SetFieldsInput {
  readonly bucket: string
  readonly ttl: BucketTtl
  /** The overflow marker, `undefined` when overflow is off. */
  readonly marker: string | undefined
  /** One overflow key per field (same order), when overflow is on. */
  readonly overflowKeys: ReadonlyArray<string>
  readonly fieldTtl: boolean
  /**
   * The reserved field that keeps the longest store TTL written to the bucket
   * (per-entry expiry without `maxAge`), or `undefined` to keep none.
   */
  readonly ttlField: string | undefined
  /** The longest entry TTL of this write, `undefined` when an entry has none. */
  readonly longestMs: number | undefined
  readonly fields: ReadonlyArray<FieldWrite>
}

const ms = (value: number | undefined): string => (value === undefined ? "0" : String(value))

const MODES = { entries: "e", onCreate: "c", onEveryWrite: "w", never: "n" } as const

/**
 * Writes fields of one bucket and applies its TTL, atomically.
 *
 * KEYS[1] bucket; KEYS[1 + i] overflow key of field i (only when overflow is on).
 * ARGV[1] bucket TTL mode (`e` entries, `c` on create, `w` every write, `n` never);
 * ARGV[2] its milliseconds (`-1`: none, for `e` this removes the TTL);
 * ARGV[3] overflow marker (`""`: overflow off); ARGV[4] `"1"` when HPEXPIRE exists;
 * ARGV[5] the reserved TTL field (`""`: none) and ARGV[6] the write's longest
 * entry TTL (`-1`: an entry has none): the field keeps the largest value
 * written, and `-1` once a write had no TTL;
 * ARGV[7 …] per field: name, value, overflow `"1"`/`"0"`, field TTL ms, overflow key TTL ms (`"0"`: none).
 *
 * A field that held the marker and now gets an inline value has its overflow
 * key deleted, so a value that shrinks leaves nothing behind. The first command
 * reads the bucket (HMGET) or writes it (HSET), so a key of another type fails
 * the call with WRONGTYPE before anything is written.
 *
 * @example
 * ```ts
 * import * as HashScripts from "./HashScripts.ts" // internal to @dogpile-effect/hstore
 * HashScripts.setFields.call({
 *   bucket: "b", ttl: { mode: "entries", ms: 60_000 }, marker: undefined, overflowKeys: [], fieldTtl: false,
 *   ttlField: undefined, longestMs: 60_000,
 *   fields: [{ field: "f", value: Buffer.from("v"), overflow: false, fieldTtlMs: undefined, keyTtlMs: undefined }]
 * }).keys // ["b"]
 * ```
 *
 * @category scripts
 * @since 0.1.0
 */
export const setFields: Script<SetFieldsInput> = {
  name: "hstoreSetFields2",
  call: (input) => ({
    keys: [input.bucket, ...(input.marker === undefined ? [] : input.overflowKeys)],
    args: [
      MODES[input.ttl.mode],
      input.ttl.ms === undefined ? "-1" : String(input.ttl.ms),
      input.marker ?? "",
      input.fieldTtl ? "1" : "0",
      input.ttlField ?? "",
      input.longestMs === undefined ? "-1" : String(input.longestMs),
      ...input.fields.flatMap((f) => [f.field, f.value, f.overflow ? "1" : "0", ms(f.fieldTtlMs), ms(f.keyTtlMs)])
    ]
  }),
  lua: `
local bucket = KEYS[1]
local mode = ARGV[1]
local ttl = tonumber(ARGV[2])
local marker = ARGV[3]
local n = (#ARGV - 6) / 5
local function at(i, k) return ARGV[6 + (i - 1) * 5 + k] end
local fields = {}
for i = 1, n do fields[i] = at(i, 1) end
if marker ~= '' then
  for first = 1, n, 1000 do
    local last = math.min(first + 999, n)
    local old = redis.call('HMGET', bucket, unpack(fields, first, last))
    for i = first, last do
      local key = KEYS[1 + i]
      if at(i, 3) == '1' then
        local px = tonumber(at(i, 5))
        if px > 0 then redis.call('SET', key, at(i, 2), 'PX', px) else redis.call('SET', key, at(i, 2)) end
      elseif old[i - first + 1] == marker then
        redis.call('DEL', key)
      end
    end
  end
end
for first = 1, n, 1000 do
  local last = math.min(first + 999, n)
  local args = {}
  for i = first, last do
    args[#args + 1] = fields[i]
    if at(i, 3) == '1' then args[#args + 1] = marker else args[#args + 1] = at(i, 2) end
  end
  redis.call('HSET', bucket, unpack(args))
end
if ARGV[4] == '1' then
  for i = 1, n do
    local px = tonumber(at(i, 4))
    if px > 0 then
      redis.call('HPEXPIRE', bucket, px, 'FIELDS', 1, fields[i])
    else
      redis.call('HPERSIST', bucket, 'FIELDS', 1, fields[i])
    end
  end
end
if ARGV[5] ~= '' then
  local longest = tonumber(ARGV[6])
  local kept = tonumber(redis.call('HGET', bucket, ARGV[5]) or '0') or 0
  if kept >= 0 and (longest < 0 or longest > kept) then redis.call('HSET', bucket, ARGV[5], longest) end
end
${applyBucketTtl("bucket", "ttl")}
return n
`
}

/**
 * The input of {@link deleteIfUnchanged}: fields of one bucket with the value
 * each had when it was found expired.
 *
 * @example
 * ```ts
 * import type * as HashScripts from "./HashScripts.ts" // internal to @dogpile-effect/hstore
 * const input: HashScripts.DeleteIfUnchangedInput = { bucket: "b", fields: [{ field: "f", value: Buffer.from("v") }] }
 * ```
 *
 * @category models
 * @since 0.1.0
 */
export interface DeleteIfUnchangedInput {
  readonly bucket: string
  readonly fields: ReadonlyArray<{ readonly field: string; readonly value: Buffer }>
}

/**
 * Deletes fields of one bucket whose value is still the one given (a
 * compare-and-delete, so a value rewritten since it was found expired stays).
 *
 * KEYS[1] bucket. ARGV pairs: field, expected value. Returns the number deleted.
 *
 * @example
 * ```ts
 * import * as HashScripts from "./HashScripts.ts" // internal to @dogpile-effect/hstore
 * HashScripts.deleteIfUnchanged.call({ bucket: "b", fields: [{ field: "f", value: Buffer.from("v") }] }).keys // ["b"]
 * ```
 *
 * @category scripts
 * @since 0.1.0
 */
export const deleteIfUnchanged: Script<DeleteIfUnchangedInput> = {
  name: "hstoreDeleteIfUnchanged",
  call: (input) => ({ keys: [input.bucket], args: input.fields.flatMap((f) => [f.field, f.value]) }),
  lua: `
local key = KEYS[1]
local deleted = 0
for i = 1, #ARGV, 2 do
  if redis.call('HGET', key, ARGV[i]) == ARGV[i + 1] then
    deleted = deleted + redis.call('HDEL', key, ARGV[i])
  end
end
return deleted
`
}

/**
 * Deletes plain keys (KEYS, all in one slot) unless they hold a hash, so a
 * plain key equal to a bucket's name never deletes the bucket. Returns the
 * number deleted.
 *
 * @example
 * ```ts
 * import * as HashScripts from "./HashScripts.ts" // internal to @dogpile-effect/hstore
 * HashScripts.deletePlain.call(["a", "b"]).keys // ["a", "b"]
 * ```
 *
 * @category scripts
 * @since 0.1.0
 */
export const deletePlain: Script<ReadonlyArray<string>> = {
  name: "hstoreDeletePlain",
  call: (keys) => ({ keys, args: [] }),
  lua: `
local deleted = 0
for _, key in ipairs(KEYS) do
  if redis.call('TYPE', key).ok ~= 'hash' then deleted = deleted + redis.call('DEL', key) end
end
return deleted
`
}

/**
 * Defines the scripts on a connection (ioredis `defineCommand`, EVALSHA with
 * an EVAL fallback), with the number of keys given per call.
 *
 * @example
 * ```ts
 * import * as HashScripts from "./HashScripts.ts" // internal to @dogpile-effect/hstore
 * import { RedisClient } from "@dogpile-effect/redis"
 * import { Effect } from "effect"
 * const program = Effect.map(RedisClient.RedisClient, (redis) => HashScripts.define(redis.client))
 * ```
 *
 * @category scripts
 * @since 0.1.0
 */
export const define = (client: RedisClient.RedisConnection): void => {
  const scripts: ReadonlyArray<Script<never>> = [setFields, deleteIfUnchanged, deletePlain]
  for (const script of scripts) {
    client.defineCommand(script.name, { lua: script.lua })
  }
}

/**
 * Calls a defined script on a client or pipeline. Throws (and so fails the
 * pipeline or the call) when the script was not defined on it: a missing
 * script never silently does nothing.
 *
 * @example
 * ```ts
 * import * as HashScripts from "./HashScripts.ts" // internal to @dogpile-effect/hstore
 * import { RedisClient } from "@dogpile-effect/redis"
 * import { Effect } from "effect"
 * const program = Effect.flatMap(RedisClient.RedisClient, (redis) =>
 *   redis.use("sweep", (c) =>
 *     Promise.resolve(HashScripts.invoke(c, HashScripts.deleteIfUnchanged, { bucket: "b", fields: [] }))))
 * ```
 *
 * @category scripts
 * @since 0.1.0
 */
export const invoke = <Input>(
  target: RedisClient.RedisConnection | ChainableCommander,
  script: Script<Input>,
  input: Input
): unknown => {
  const method: unknown = Reflect.get(target, script.name)
  if (typeof method !== "function") {
    throw new Error(`hstore: script ${script.name} is not defined on this connection`)
  }
  const { args, keys } = script.call(input)
  return Reflect.apply(method, target, [keys.length, ...keys, ...args])
}
