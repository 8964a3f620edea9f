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
 * @since 0.1.0
 */
import type { BackendError, CacheKey } from "@dogpile-effect/core"
import { GetBatcher } from "@dogpile-effect/redis/toolkit"
import { Effect, type Option } from "effect"
import * as Slot from "./Slot.ts"

type Value = Option.Option<Uint8Array>
type Values = ReadonlyArray<Value>

/** What a caller asks: one key (`get`) or many (`getMany`); one key is answered with its value, many with theirs. */
type Request = CacheKey.CacheKey | ReadonlyArray<CacheKey.CacheKey>
type Answer = Value | Values

const isMany = (request: Request): request is ReadonlyArray<CacheKey.CacheKey> => Array.isArray(request)

/** The key a read is routed by: the bucket of a field, else the key itself. */
const routeOf = (key: CacheKey.CacheKey) => (typeof key === "string" ? key : key.hash)

/**
 * The requests of a batch as one read, and each request's answer cut back out of it. A batch of single
 * keys (the hit path) is read as it is, with no copy.
 */
const readAll = (read: (keys: ReadonlyArray<CacheKey.CacheKey>) => Effect.Effect<Values, BackendError>) =>
(requests: ReadonlyArray<Request>): Effect.Effect<ReadonlyArray<Answer>, BackendError> => {
  if (!requests.some(isMany)) return read(requests as ReadonlyArray<CacheKey.CacheKey>)
  if (requests.length === 1) return Effect.map(read(requests[0] as ReadonlyArray<CacheKey.CacheKey>), (values) => [values])
  const keys: Array<CacheKey.CacheKey> = []
  for (const request of requests) {
    if (isMany(request)) keys.push(...request)
    else keys.push(request)
  }
  return Effect.map(read(keys), (values) => {
    const out: Array<Answer> = []
    let at = 0
    for (const request of requests) {
      if (isMany(request)) {
        out.push(values.slice(at, at + request.length))
        at += request.length
      } else out.push(values[at++] as Value)
    }
    return out
  })
}

/** On a Cluster: single keys grouped by slot (a node that fails fails only its gets), each many-key request alone. */
const perSlot = (requests: ReadonlyArray<Request>): ReadonlyArray<ReadonlyArray<number>> => {
  const singles: Array<number> = []
  const groups: Array<ReadonlyArray<number>> = []
  requests.forEach((request, i) => {
    if (isMany(request)) groups.push([i])
    else singles.push(i)
  })
  return [...Slot.groupBy(singles, (i) => routeOf(requests[i] as CacheKey.CacheKey), true).values(), ...groups]
}

/**
 * The batched reads of a backend.
 *
 * @example
 * ```ts
 * import type * as ReadBatch from "./ReadBatch.ts" // internal to @dogpile-effect/hstore
 * const first = (reads: ReadBatch.ReadBatch) => reads.get("k")
 * ```
 *
 * @category models
 * @since 0.1.0
 */
export interface ReadBatch {
  readonly get: (key: CacheKey.CacheKey) => Effect.Effect<Value, BackendError>
  readonly getMany: (keys: ReadonlyArray<CacheKey.CacheKey>) => Effect.Effect<Values, BackendError>
}

/**
 * Batched `get` and `getMany` over `read` (one value per key, in order,
 * duplicates included): the calls of one tick share one read, and each is
 * answered with its own keys' values.
 *
 * @example
 * ```ts
 * import * as ReadBatch from "./ReadBatch.ts" // internal to @dogpile-effect/hstore
 * import { Effect, Option } from "effect"
 * const reads = ReadBatch.make((keys) => Effect.succeed(keys.map(() => Option.none())), false)
 * // reads.get("a") and reads.getMany(["b", "c"]) in one tick: one read of ["a", "b", "c"]
 * ```
 *
 * @category constructors
 * @since 0.1.0
 */
export const make = (
  read: (keys: ReadonlyArray<CacheKey.CacheKey>) => Effect.Effect<Values, BackendError>,
  cluster: boolean
): ReadBatch => {
  const batched = GetBatcher.make(readAll(read), cluster ? perSlot : undefined)
  return {
    // The answer to a single key is its value, to many keys their values (readAll): the casts restore that.
    get: (key) => batched(key) as Effect.Effect<Value, BackendError>,
    getMany: (keys) => (keys.length === 0 ? Effect.succeed([]) : batched(keys) as Effect.Effect<Values, BackendError>)
  }
}
