/**
 * The list backend: keys ending in a number are positions of Redis lists, so
 * an entry costs its value's listpack bytes and no field name. The densest
 * layout of the package, for keys numbered densely (ids, counters).
 *
 * @since 0.1.0
 */
import {
  Backend,
  type BackendEntry,
  CacheKey,
  InvalidOptionError,
  Options,
  UnsupportedKeyError
} from "@dogpile-effect/core"
import { RedisClient } from "@dogpile-effect/redis"
import { StoreTtl } from "@dogpile-effect/redis/lock-kit"
import { GetBatcher } from "@dogpile-effect/redis/toolkit"
import { Effect, Layer, Option } from "effect"
import * as HashExpiry from "./HashExpiry.ts"
import * as HashScripts from "./HashScripts.ts"
import * as ListLayout from "./ListLayout.ts"
import * as ListScripts from "./ListScripts.ts"
import * as Pipeline from "./Pipeline.ts"

const COMPONENT = "ListBackend"

/**
 * Options of {@link layer}; each is validated when the Layer is built (a bad
 * value fails it with `InvalidOptionError` naming the option).
 *
 * @example
 * ```ts
 * import { HashExpiry, ListBackend } from "@dogpile-effect/hstore"
 * const options: ListBackend.ListBackendOptions = { size: 1000, listExpiry: HashExpiry.onEveryWrite("2 hours") }
 * ```
 *
 * @category models
 * @since 0.1.0
 */
export interface ListBackendOptions {
  /** Positions per list: an integer in 2 … 4,096. Default `ListLayout.DEFAULT_SIZE` (1,000). */
  readonly size?: number | undefined
  /**
   * When lists get a Redis TTL, as the hash backend's `hashExpiry` (a
   * `HashExpiry` policy). Default `HashExpiry.entryTtl`: each write extends
   * its list's TTL to at least the longest store TTL of the entries it writes.
   */
  readonly listExpiry?: HashExpiry.HashExpiry | undefined
  /** Plain keys per MGET/DEL; default 500. */
  readonly batchSize?: number | undefined
}

interface Settings {
  readonly size: number
  readonly ttl: HashScripts.BucketTtl
  readonly batchSize: number
}

const resolve = (options: ListBackendOptions): Effect.Effect<Settings, InvalidOptionError> =>
  Effect.gen(function*() {
    const size = options.size ?? ListLayout.DEFAULT_SIZE
    if (!ListLayout.isValidSize(size)) {
      return yield* new InvalidOptionError({
        component: COMPONENT,
        option: "size",
        reason: `must be an integer in 2..${ListLayout.MAX_SIZE}, got ${String(size)}`
      })
    }
    const ttl = yield* HashExpiry.resolve(options.listExpiry).pipe(
      Effect.mapError((error) =>
        new InvalidOptionError({ component: COMPONENT, option: error.option.replace("hashExpiry", "listExpiry"), reason: error.reason })
      )
    )
    const batchSize = yield* Options.integer(COMPONENT, "batchSize", options.batchSize, 500, { min: 1 })
    return { size, ttl, batchSize }
  })

/** Where a cache key lives: a position, a plain string key, or nowhere (a hash key, refused). */
type Place = ListLayout.Position | string | UnsupportedKeyError

const toBuffer = (bytes: Uint8Array): Buffer =>
  Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)

const asBytes = (reply: unknown): Option.Option<Uint8Array> =>
  reply instanceof Uint8Array ? Option.some(reply) : Option.none()

const fromPosition = (reply: unknown): Option.Option<Uint8Array> =>
  Option.fromUndefinedOr(ListLayout.fromStored(reply instanceof Uint8Array ? reply : undefined))

/** Reads one whole span with LRANGE when it is at most this many times the positions asked. */
const SPAN_FACTOR = 4

/** Groups positions by list: list → [result slot, index] pairs. */
const byList = (places: ReadonlyArray<Place>) => {
  const out = new Map<string, Array<readonly [number, number]>>()
  places.forEach((place, slot) => {
    if (typeof place === "string" || place instanceof UnsupportedKeyError) return
    const group = out.get(place.list)
    if (group === undefined) out.set(place.list, [[slot, place.index]])
    else group.push([slot, place.index])
  })
  return out
}

/** The read commands of one list: one LRANGE over a dense span, else one LINDEX per position. */
const listReads = (list: string, wanted: ReadonlyArray<readonly [number, number]>, values: Array<Option.Option<Uint8Array>>) => {
  const indexes = wanted.map(([, index]) => index)
  const low = Math.min(...indexes)
  const high = Math.max(...indexes)
  if (wanted.length > 1 && high - low + 1 <= SPAN_FACTOR * wanted.length) {
    const command: Pipeline.Command = {
      route: list,
      add: (p) => void p.lrangeBuffer(list, low, high),
      onReply: (reply) => {
        const span = Array.isArray(reply) ? reply : []
        for (const [slot, index] of wanted) values[slot] = fromPosition(span[index - low])
      }
    }
    return [command]
  }
  return wanted.map(([slot, index]): Pipeline.Command => ({
    route: list,
    add: (p) => void p.lindexBuffer(list, index),
    onReply: (reply) => {
      values[slot] = fromPosition(reply)
    }
  }))
}

/**
 * Builds the backend in a scope. Fails with `InvalidOptionError` when an
 * option is invalid.
 *
 * @example
 * ```ts
 * import { ListBackend } from "@dogpile-effect/hstore"
 * const backend = ListBackend.make({ size: 1000 }) // needs RedisClient
 * ```
 *
 * @category constructors
 * @since 0.1.0
 */
export const make = (options: ListBackendOptions = {}): Effect.Effect<Backend["Service"], InvalidOptionError, RedisClient.RedisClient> =>
  Effect.gen(function*() {
    const { batchSize, size, ttl } = yield* resolve(options)
    const redis = yield* RedisClient.RedisClient
    ListScripts.define(redis.client)
    const run = (operation: string, commands: ReadonlyArray<Pipeline.Command>) => Pipeline.run(redis, operation, commands)
    const perKeys = (keys: ReadonlyArray<string>, build: (chunk: ReadonlyArray<string>) => Omit<Pipeline.Command, "route">) =>
      Pipeline.perKeys(keys, batchSize, redis.isCluster, build)

    const placeOf = (key: CacheKey.CacheKey): Place =>
      typeof key === "string"
        ? ListLayout.locate(size, key) ?? key
        : new UnsupportedKeyError({
          key: CacheKey.display(key),
          backend: "redis-list",
          reason: "hash keys are not supported: give plain keys ending in a number, the backend places them in lists"
        })
    const places = (keys: ReadonlyArray<CacheKey.CacheKey>) => {
      const out: Array<Place> = []
      for (const key of keys) {
        const place = placeOf(key)
        if (place instanceof UnsupportedKeyError) return Effect.fail(place)
        out.push(place)
      }
      return Effect.succeed(out)
    }

    const getMany = (keys: ReadonlyArray<CacheKey.CacheKey>) =>
      Effect.gen(function*() {
        const found = yield* places(keys)
        const values: Array<Option.Option<Uint8Array>> = found.map(() => Option.none())
        const plain = Pipeline.positions(found, (place) => (typeof place === "string" ? place : undefined))
        const commands: Array<Pipeline.Command> = perKeys([...plain.keys()], (chunk) => ({
          add: (p) => void p.mgetBuffer(...chunk),
          onReply: (reply) => {
            const replies = Array.isArray(reply) ? reply : []
            chunk.forEach((key, i) => {
              for (const slot of plain.get(key) ?? []) values[slot] = asBytes(replies[i])
            })
          }
        }))
        for (const [list, wanted] of byList(found)) commands.push(...listReads(list, wanted, values))
        yield* run("getMany", commands)
        return values
      })

    const setMany = (entries: ReadonlyArray<BackendEntry>) =>
      Effect.gen(function*() {
        const found = yield* places(entries.map((entry) => entry.key))
        const commands: Array<Pipeline.Command> = []
        // Last write of a position wins, as it would with separate calls.
        const lists = new Map<string, Map<number, BackendEntry>>()
        for (const [i, entry] of entries.entries()) {
          const place = found[i] as ListLayout.Position | string
          if (typeof place === "string") {
            const px = StoreTtl.pxOf(entry.ttl)
            const value = toBuffer(entry.value)
            commands.push({
              route: place,
              add: (p) => void (px === undefined ? p.set(place, value) : p.set(place, value, "PX", px)),
              onReply: () => {}
            })
            continue
          }
          let positions = lists.get(place.list)
          if (positions === undefined) lists.set(place.list, positions = new Map())
          positions.set(place.index, entry)
        }
        for (const [list, positions] of lists) {
          const input = listWrite(list, positions, ttl)
          commands.push({
            route: list,
            add: (p) => void HashScripts.invoke(p, ListScripts.setPositions, input),
            onReply: () => {}
          })
        }
        yield* run("setMany", commands)
      })

    const deleteMany = (keys: ReadonlyArray<CacheKey.CacheKey>) =>
      Effect.gen(function*() {
        const found = yield* places(keys)
        const plain = [...new Set(found.filter((place): place is string => typeof place === "string"))]
        const commands = perKeys(plain, (chunk) => ({ add: (p) => void p.del(...chunk), onReply: () => {} }))
        for (const [list, wanted] of byList(found)) {
          const input = { list, indexes: [...new Set(wanted.map(([, index]) => index))] }
          commands.push({
            route: list,
            add: (p) => void HashScripts.invoke(p, ListScripts.clearPositions, input),
            onReply: () => {}
          })
        }
        yield* run("deleteMany", commands)
      })

    // Single gets and sets of one tick go out as one getMany / setMany.
    const batchedGet = GetBatcher.make(getMany)
    const batchedSet = GetBatcher.make((batch: ReadonlyArray<BackendEntry>) => Effect.as(setMany(batch), batch.map(() => undefined)))
    const checked = (key: CacheKey.CacheKey) => {
      const place = placeOf(key)
      return place instanceof UnsupportedKeyError ? Effect.fail(place) : Effect.void
    }

    return Backend.of({
      name: "redis-list",
      capabilities: { hashKeys: false, ttl: true },
      get: (key) => Effect.andThen(checked(key), batchedGet(key)),
      getMany,
      set: (key, value, ttlHint) => Effect.andThen(checked(key), batchedSet({ key, value, ttl: ttlHint })),
      setMany,
      delete: (key) => deleteMany([key]),
      deleteMany
    })
  })

/** The script input writing one list's positions, with the TTL its entries ask for. */
const listWrite = (
  list: string,
  positions: ReadonlyMap<number, BackendEntry>,
  ttl: HashScripts.BucketTtl
): ListScripts.SetPositionsInput => {
  let longest = 0
  let endless = false
  const out: Array<{ index: number; value: Buffer }> = []
  for (const [index, entry] of positions) {
    const px = StoreTtl.pxOf(entry.ttl)
    if (px === undefined) endless = true
    else longest = Math.max(longest, px)
    out.push({ index, value: toBuffer(ListLayout.toStored(entry.value)) })
  }
  return {
    list,
    ttl: ttl.mode === "entries" ? { mode: "entries", ms: endless ? undefined : longest } : ttl,
    positions: out
  }
}

/**
 * The list backend as a Layer over a `RedisClient`: provides core's `Backend`
 * (`name: "redis-list"`, `capabilities.hashKeys = false`).
 *
 * - A plain key ending in a number `n` (`users:1234567`) is position
 *   `n mod size` of the Redis list `prefix#⌊n / size⌋` (`users:#1234`,
 *   position 567): `LINDEX`/`LRANGE` to read, a script (`LSET`, or `RPUSH`
 *   with empty positions before it) to write, a script setting the position
 *   to the empty string to delete. Other plain keys are Redis strings
 *   (`MGET`/`SET [PX]`/`DEL`); `CacheKey.hash` keys are refused
 *   (`UnsupportedKeyError`).
 * - An entry costs its value's listpack bytes (a 5-byte listpack integer for
 *   `"9999990"`) and no field name: half a hash field's cost for small
 *   integers. A position never written costs 2 bytes while a later one is
 *   used, so the layout suits keys numbered densely.
 * - Lists get a Redis TTL by `listExpiry` (a `HashExpiry` policy, default at
 *   least the longest store TTL of the entries written). Per-entry expiry
 *   comes from the region's envelope (`Envelope.packed()`, `compact()`,
 *   `full()`), which the region checks on every read.
 * - Gets and sets of one tick are one pipeline; a `getMany` reads each list
 *   with one `LRANGE` when the positions asked are dense, else one `LINDEX`
 *   per position.
 *
 * @example
 * ```ts
 * import { Codec, Envelope, Lock, Region } from "@dogpile-effect/core"
 * import { HashExpiry, ListBackend } from "@dogpile-effect/hstore"
 * import { RedisClient } from "@dogpile-effect/redis"
 * import { Effect, Layer } from "effect"
 *
 * const Live = Layer.mergeAll(
 *   ListBackend.layer({ size: 1000, listExpiry: HashExpiry.onEveryWrite("2 hours") }),
 *   Codec.layerJson,
 *   Lock.layerLocal
 * ).pipe(Layer.provide(RedisClient.layer({ url: "redis://127.0.0.1:6379" })))
 *
 * const program = Effect.gen(function*() {
 *   const scores = yield* Region.make<number>({ name: "scores", expiration: "1 hour", envelope: Envelope.packed() })
 *   yield* scores.set("user:1234567", 42) // position 567 of the list "scores:user:#1234"
 * }).pipe(Effect.scoped, Effect.provide(Live))
 * ```
 *
 * @category layers
 * @since 0.1.0
 */
export const layer = (options: ListBackendOptions = {}): Layer.Layer<Backend, InvalidOptionError, RedisClient.RedisClient> =>
  Layer.effect(Backend, make(options))
