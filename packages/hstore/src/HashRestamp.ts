/**
 * Renewals in place for the hash backend (core's `Backend.restampMany`): a
 * conditional refresh's "not modified" rewrites an entry's header on the
 * server, never sending its value. A field of a bucket: one script per
 * bucket ({@link RESTAMP_FIELDS}) compares each field's length and leading
 * bytes (in its overflow key when the value overflowed) and rewrites them
 * server-side, then applies the field's, the overflow key's and the bucket's
 * TTL the way a write of those fields does (`HashScripts.setFields`). A plain
 * key: the Redis backend's script (`RestampLua`). An entry that changed
 * answers "not renewed": the region then re-reads it and writes it whole.
 *
 * @since 0.1.0
 */
import { type BackendFailure, type BackendRestamp, type CacheKey, UnsupportedKeyError } from "@dogpile-effect/core"
import type { RedisClient } from "@dogpile-effect/redis"
import { RestampLua } from "@dogpile-effect/redis/lock-kit"
import { Effect } from "effect"
import * as HashScripts from "./HashScripts.ts"
import * as Slot from "./Slot.ts"

/**
 * Renews fields of `KEYS[1]` (a bucket) in place; `KEYS[1 + i]`, when
 * overflow is on, is field i's overflow key, where a field holding the marker
 * keeps its value (renewed there with `SETRANGE`). ARGV: the bucket TTL mode
 * (`e` entries, `c` on create, `w` every write, `n` never) and its ms (`-1`:
 * none; with `e`, the longest TTL of the renewed fields is used instead), the
 * overflow marker (`""`: off), `"1"` when `HPEXPIRE` exists, the reserved TTL
 * field (`""`: none); then per field: name, stored length, expected leading
 * bytes, new ones, store TTL ms (`-1`: none), overflow key TTL ms (`-1`:
 * none). Answers 1 per renewed field, 0 otherwise; the TTLs change only when a
 * field was renewed.
 *
 * @example
 * ```ts
 * import * as HashRestamp from "./HashRestamp.ts" // internal to @dogpile-effect/hstore
 * const script = { lua: HashRestamp.RESTAMP_FIELDS, numberOfKeys: 1 }
 * ```
 *
 * @category scripts
 * @since 0.1.0
 */
export const RESTAMP_FIELDS = `
local bucket = KEYS[1]
local mode = ARGV[1]
local ttl = tonumber(ARGV[2])
local marker = ARGV[3]
local n = (#ARGV - 5) / 6
local out = {}
for i = 1, n do out[i] = 0 end
if redis.call('TYPE', bucket).ok ~= 'hash' then return out end
local renewed = 0
local longest = 0
for i = 1, n do
  local at = 5 + (i - 1) * 6
  local field = ARGV[at + 1]
  local length = tonumber(ARGV[at + 2])
  local expected = ARGV[at + 3]
  local header = ARGV[at + 4]
  local px = tonumber(ARGV[at + 5])
  local done = false
  if #expected > 0 and #header == #expected then
    local value = redis.call('HGET', bucket, field)
    if value and marker ~= '' and value == marker and KEYS[1 + i] then
      local key = KEYS[1 + i]
      if redis.call('TYPE', key).ok == 'string' and redis.call('STRLEN', key) == length
        and redis.call('GETRANGE', key, 0, #expected - 1) == expected then
        redis.call('SETRANGE', key, 0, header)
        local keyPx = tonumber(ARGV[at + 6])
        if keyPx > 0 then redis.call('PEXPIRE', key, keyPx) else redis.call('PERSIST', key) end
        done = true
      end
    elseif value and #value == length and string.sub(value, 1, #expected) == expected then
      redis.call('HSET', bucket, field, header .. string.sub(value, #expected + 1))
      done = true
    end
  end
  if done then
    if ARGV[4] == '1' then
      if px > 0 then
        redis.call('HPEXPIRE', bucket, px, 'FIELDS', 1, field)
      else
        redis.call('HPERSIST', bucket, 'FIELDS', 1, field)
      end
    end
    if longest >= 0 then
      if px > 0 then longest = math.max(longest, px) else longest = -1 end
    end
    renewed = renewed + 1
    out[i] = 1
  end
end
if renewed == 0 then return out end
if ARGV[5] ~= '' then
  local kept = tonumber(redis.call('HGET', bucket, ARGV[5]) or '0') or 0
  if kept >= 0 and (longest < 0 or longest > kept) then redis.call('HSET', bucket, ARGV[5], longest) end
end
${HashScripts.applyBucketTtl("bucket", "longest")}
return out`

/**
 * What the renewals need from the backend they belong to.
 *
 * @category models
 * @since 0.1.0
 */
export interface Parts {
  readonly redis: RedisClient.RedisClient["Service"]
  /** A key as stored (through the backend's bucketing), or why it is refused. */
  readonly storedKey: (key: CacheKey.CacheKey) => CacheKey.CacheKey | UnsupportedKeyError
  readonly bucketTtl: HashScripts.BucketTtl
  /** The overflow marker when overflow is on (then `overflowKey` names each field's overflow key). */
  readonly marker: string | undefined
  readonly overflowKey: (hash: string, field: string) => string
  readonly fieldTtl: boolean
  /** The reserved field keeping the bucket's longest store TTL, when kept. */
  readonly ttlField: string | undefined
}

const ms = (px: number | undefined) => (px === undefined ? "-1" : String(px))

/** The ARGV of {@link RESTAMP_FIELDS} for the fields at `positions`. */
const fieldArgs = (
  parts: Parts,
  entries: ReadonlyArray<BackendRestamp>,
  keys: ReadonlyArray<CacheKey.CacheKey>,
  positions: ReadonlyArray<number>,
  overflowOn: boolean
) => {
  const args: Array<string | number | Buffer> = [
    { entries: "e", onCreate: "c", onEveryWrite: "w", never: "n" }[parts.bucketTtl.mode],
    ms(parts.bucketTtl.ms),
    overflowOn ? parts.marker ?? "" : "",
    parts.fieldTtl ? "1" : "0",
    parts.ttlField ?? ""
  ]
  // An overflow key's TTL: the entry's own, else a fixed bucket policy's (as a write sets it).
  const fixed = parts.bucketTtl.mode === "onCreate" || parts.bucketTtl.mode === "onEveryWrite" ? parts.bucketTtl.ms : undefined
  for (const i of positions) {
    // RestampLua lays out one entry as length, expected, header, TTL: the field's name goes in front.
    const [length, expected, header, px] = RestampLua.argsOf(entries, [i]) as [number, Buffer, Buffer, number | ""]
    args.push((keys[i] as CacheKey.HashKey).field, length, expected, header, ms(px === "" ? undefined : px), ms(px === "" ? fixed : px))
  }
  return args
}

/**
 * The backend's `restampMany`: per entry, whether it was renewed in place.
 *
 * @example
 * ```ts
 * // In HashBackend.make: `restampMany: HashRestamp.make({ redis, storedKey, bucketTtl, marker, fieldTtl, ttlField })`.
 * ```
 *
 * @category constructors
 * @since 0.1.0
 */
export const make = (parts: Parts) => {
  const { redis } = parts
  const fields = redis.script("hstoreRestampFields", RESTAMP_FIELDS, "variable")
  const plain = redis.script("dogpileRestamp", RestampLua.RESTAMP, "variable")
  const runGroup = (
    entries: ReadonlyArray<BackendRestamp>,
    keys: ReadonlyArray<CacheKey.CacheKey>,
    applied: Array<boolean>,
    positions: ReadonlyArray<number>
  ) => {
    const first = keys[positions[0]!]!
    if (typeof first === "string") {
      return Effect.map(plain.run(positions.map((i) => keys[i] as string), RestampLua.argsOf(entries, positions)), (reply) =>
        RestampLua.appliedOf(reply, positions.length).forEach((done, j) => (applied[positions[j]!] = done)))
    }
    // Overflow keys only where a write would use them (on a Cluster, a bucket whose slot the client computes).
    const overflowOn = parts.marker !== undefined && (!redis.isCluster || Slot.clientAgrees(first.hash))
    const overflowKeys = overflowOn ? positions.map((i) => parts.overflowKey(first.hash, (keys[i] as CacheKey.HashKey).field)) : []
    const call = fields.run([first.hash, ...overflowKeys], fieldArgs(parts, entries, keys, positions, overflowOn))
    return Effect.map(call, (reply) => RestampLua.appliedOf(reply, positions.length).forEach((done, j) => (applied[positions[j]!] = done)))
  }
  return (entries: ReadonlyArray<BackendRestamp>): Effect.Effect<ReadonlyArray<boolean>, BackendFailure> =>
    Effect.suspend((): Effect.Effect<ReadonlyArray<boolean>, BackendFailure> => {
      const keys: Array<CacheKey.CacheKey> = []
      for (const entry of entries) {
        const key = parts.storedKey(entry.key)
        if (key instanceof UnsupportedKeyError) return Effect.fail(key)
        keys.push(key)
      }
      const applied = new Array<boolean>(entries.length).fill(false)
      return Effect.as(
        Effect.forEach(groupsOf(keys, redis.isCluster), (positions) => runGroup(entries, keys, applied, positions), {
          concurrency: "unbounded",
          discard: true
        }),
        applied
      )
    })
}

/** The positions of `keys` by script call: the plain keys of one slot together, the fields of one bucket together. */
const groupsOf = (keys: ReadonlyArray<CacheKey.CacheKey>, cluster: boolean): ReadonlyArray<ReadonlyArray<number>> => {
  const plain: Array<number> = []
  const buckets = new Map<string, Array<number>>()
  keys.forEach((key, i) => {
    if (typeof key === "string") return void plain.push(i)
    const group = buckets.get(key.hash)
    if (group === undefined) buckets.set(key.hash, [i])
    else group.push(i)
  })
  const plainGroups = plain.length === 0 ? [] : [...Slot.groupBy(plain, (i) => keys[i] as string, cluster).values()]
  return [...plainGroups, ...buckets.values()]
}
