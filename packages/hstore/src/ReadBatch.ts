/**
 * The reads of one tick as one read: every `get` and `getMany` issued in the
 * same tick joins one batch (redis' `GetBatcher`, the plain-key path's
 * batching), read as one pipeline with one `HMGET` per bucket and one `MGET`
 * per chunk of plain keys, so a bucket is read once per tick however many
 * callers want its fields. A call alone in its tick is read by its own fiber.
 *
 * On a Cluster the single-key gets of a tick are read per slot (a node that
 * fails fails only the gets of its keys) and each `getMany` alone (its own
 * keys, one pipeline per slot), as before.
 *
 * @since 0.3.0
 */
import type { BackendError, CacheKey } from "@dogpile-effect/core"
import { GetBatcher } from "@dogpile-effect/redis/toolkit"
import { Effect, type Option } from "effect"
import * as Slot from "./Slot.ts"

type Values = ReadonlyArray<Option.Option<Uint8Array>>

/** The key a read is routed by: the bucket of a field, else the key itself. */
const routeOf = (key: CacheKey.CacheKey) => (typeof key === "string" ? key : key.hash)

/** The requests of a batch, flattened, and each request's values cut back out of the answer. */
const readAll = (read: (keys: ReadonlyArray<CacheKey.CacheKey>) => Effect.Effect<Values, BackendError>) =>
(requests: ReadonlyArray<ReadonlyArray<CacheKey.CacheKey>>): Effect.Effect<ReadonlyArray<Values>, BackendError> => {
  if (requests.length === 1) return Effect.map(read(requests[0] as ReadonlyArray<CacheKey.CacheKey>), (values) => [values])
  const keys: Array<CacheKey.CacheKey> = []
  for (const request of requests) for (const key of request) keys.push(key)
  return Effect.map(read(keys), (values) => {
    const out: Array<Values> = []
    let at = 0
    for (const request of requests) {
      out.push(values.slice(at, at + request.length))
      at += request.length
    }
    return out
  })
}

/** On a Cluster: single-key requests grouped by slot, each many-key request in a group of its own. */
const perSlot = (requests: ReadonlyArray<ReadonlyArray<CacheKey.CacheKey>>): ReadonlyArray<ReadonlyArray<number>> => {
  const singles: Array<number> = []
  const groups: Array<ReadonlyArray<number>> = []
  requests.forEach((request, i) => {
    if (request.length === 1) singles.push(i)
    else groups.push([i])
  })
  return [...Slot.groupBy(singles, (i) => routeOf(requests[i]![0]!), true).values(), ...groups]
}

/**
 * A batched many-key read over `read` (one value per key, in order,
 * duplicates included): each call is answered with its own keys' values.
 *
 * @example
 * ```ts
 * import * as ReadBatch from "./ReadBatch.ts" // internal to @dogpile-effect/hstore
 * import { Effect, Option } from "effect"
 * const readMany = ReadBatch.make((keys) => Effect.succeed(keys.map(() => Option.none())), false)
 * // readMany(["a"]) and readMany([CacheKey.hash("h", "f")]) in one tick: one read of both
 * ```
 *
 * @category constructors
 * @since 0.3.0
 */
export const make = (
  read: (keys: ReadonlyArray<CacheKey.CacheKey>) => Effect.Effect<Values, BackendError>,
  cluster: boolean
): (keys: ReadonlyArray<CacheKey.CacheKey>) => Effect.Effect<Values, BackendError> => {
  const batched = GetBatcher.make(readAll(read), cluster ? perSlot : undefined)
  return (keys) => (keys.length === 0 ? Effect.succeed([]) : batched(keys))
}
