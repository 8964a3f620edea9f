/**
 * The Lua scripts of `ListBackend`, as typed descriptors (see
 * `HashScripts.Script`): writing positions of one list (padding the positions
 * before them with empty ones) with its TTL, and clearing positions. Each
 * touches only the list passed in KEYS.
 *
 * @since 0.1.0
 */
import type { RedisClient } from "@dogpile-effect/redis"
import { applyBucketTtl, type BucketTtl, type Script } from "./HashScripts.ts"

/**
 * The input of {@link setPositions}: one list, its TTL change, and the
 * positions to write (any order; written in ascending order).
 *
 * @example
 * ```ts
 * import type * as ListScripts from "./ListScripts.ts" // internal to @dogpile-effect/hstore
 * const input: ListScripts.SetPositionsInput = {
 *   list: "users:#1", ttl: { mode: "onEveryWrite", ms: 60_000 }, positions: [{ index: 3, value: Buffer.from("42") }]
 * }
 * ```
 *
 * @category models
 * @since 0.1.0
 */
export interface SetPositionsInput {
  readonly list: string
  /** As in `HashScripts.BucketTtl`; `entries` with `ms` undefined removes the list's TTL. */
  readonly ttl: BucketTtl
  readonly positions: ReadonlyArray<{ readonly index: number; readonly value: Buffer }>
}

const MODES = { entries: "e", onCreate: "c", onEveryWrite: "w", never: "n" } as const

/** Empty positions pushed per RPUSH when padding (the Lua stack holds ~8,000 values). */
const PAD_CHUNK = 512

/**
 * Writes positions of one list: `LSET` inside the list, `RPUSH` past its end
 * (positions between the end and the written one get the empty string), then
 * changes the list's TTL as the mode says (like the hash backend's buckets).
 *
 * KEYS[1] list. ARGV[1] mode (`e` entries, `c` on create, `w` on every
 * write, `n` never), ARGV[2] TTL in ms (`-1`: none), then pairs of index and
 * stored value in ascending index order. Returns the list's length.
 *
 * @example
 * ```ts
 * import * as ListScripts from "./ListScripts.ts" // internal to @dogpile-effect/hstore
 * ListScripts.setPositions.call({ list: "l#0", ttl: { mode: "never", ms: undefined }, positions: [] }).keys // ["l#0"]
 * ```
 *
 * @category scripts
 * @since 0.1.0
 */
export const setPositions: Script<SetPositionsInput> = {
  name: "hstoreListSet",
  call: (input) => ({
    keys: [input.list],
    args: [
      MODES[input.ttl.mode],
      input.ttl.ms === undefined ? "-1" : String(input.ttl.ms),
      ...[...input.positions].sort((a, b) => a.index - b.index).flatMap((p) => [String(p.index), p.value])
    ]
  }),
  lua: `
local list = KEYS[1]
local mode = ARGV[1]
local ttl = tonumber(ARGV[2])
local len = redis.call('LLEN', list)
for i = 3, #ARGV, 2 do
  local index = tonumber(ARGV[i])
  if index < len then
    redis.call('LSET', list, index, ARGV[i + 1])
  else
    while len < index do
      local upto = math.min(index, len + ${PAD_CHUNK})
      local pad = {}
      for _ = len + 1, upto do pad[#pad + 1] = '' end
      redis.call('RPUSH', list, unpack(pad))
      len = upto
    end
    redis.call('RPUSH', list, ARGV[i + 1])
    len = len + 1
  end
end
${applyBucketTtl("list", "ttl")}
return len
`
}

/**
 * The input of {@link clearPositions}: one list and the positions to empty.
 *
 * @example
 * ```ts
 * import type * as ListScripts from "./ListScripts.ts" // internal to @dogpile-effect/hstore
 * const input: ListScripts.ClearPositionsInput = { list: "users:#1", indexes: [3, 4] }
 * ```
 *
 * @category models
 * @since 0.1.0
 */
export interface ClearPositionsInput {
  readonly list: string
  readonly indexes: ReadonlyArray<number>
}

/**
 * Empties positions of one list (sets them to the empty string), then pops
 * the empty positions at its end, so a list whose positions are all cleared
 * is gone. KEYS[1] list, ARGV the indexes. Returns the list's length.
 *
 * @example
 * ```ts
 * import * as ListScripts from "./ListScripts.ts" // internal to @dogpile-effect/hstore
 * ListScripts.clearPositions.call({ list: "l#0", indexes: [1] }).args // ["1"]
 * ```
 *
 * @category scripts
 * @since 0.1.0
 */
export const clearPositions: Script<ClearPositionsInput> = {
  name: "hstoreListClear",
  call: (input) => ({ keys: [input.list], args: input.indexes.map(String) }),
  lua: `
local list = KEYS[1]
local len = redis.call('LLEN', list)
for i = 1, #ARGV do
  local index = tonumber(ARGV[i])
  if index < len then redis.call('LSET', list, index, '') end
end
while len > 0 and redis.call('LINDEX', list, -1) == '' do
  redis.call('RPOP', list)
  len = len - 1
end
return len
`
}

/**
 * Defines the list scripts on a connection (ioredis `defineCommand`), to be
 * called with `HashScripts.invoke`.
 *
 * @example
 * ```ts
 * import * as ListScripts from "./ListScripts.ts" // internal to @dogpile-effect/hstore
 * import { RedisClient } from "@dogpile-effect/redis"
 * import { Effect } from "effect"
 * const program = Effect.map(RedisClient.RedisClient, (redis) => ListScripts.define(redis.client))
 * ```
 *
 * @category scripts
 * @since 0.1.0
 */
export const define = (client: RedisClient.RedisConnection): void => {
  for (const script of [setPositions, clearPositions] as ReadonlyArray<Script<never>>) {
    client.defineCommand(script.name, { lua: script.lua })
  }
}
