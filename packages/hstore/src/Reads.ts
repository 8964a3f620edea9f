/**
 * The read path of the hash backend: one pipeline of HMGETs (one per bucket)
 * and MGETs (plain keys), then the overflow keys of fields holding the marker,
 * then per-entry expiry.
 *
 * @since 0.1.0
 */
import type { BackendError, CacheKey } from "@dogpile-effect/core"
import type { RedisClient } from "@dogpile-effect/redis"
import { Clock, Effect, Metric, Option } from "effect"
import * as EntryExpiry from "./EntryExpiry.ts"
import * as FieldAge from "./FieldAge.ts"
import * as HashMetrics from "./HashMetrics.ts"
import * as Overflow from "./Overflow.ts"
import * as Pipeline from "./Pipeline.ts"
import type * as Sweeper from "./Sweeper.ts"

/**
 * What the read path needs from its backend.
 *
 * @example
 * ```ts
 * import type * as Reads from "./Reads.ts" // internal to @dogpile-effect/hstore
 * type Needs = Reads.ReadContext["overflowAbove"] // number | undefined
 * ```
 *
 * @category models
 * @since 0.1.0
 */
export interface ReadContext {
  readonly redis: RedisClient.RedisClient["Service"]
  readonly batchSize: number
  readonly overflowAbove: number | undefined
  readonly expiry: EntryExpiry.EntryExpirySettings | undefined
  readonly sweeper: Sweeper.Sweeper
}

type Values = Array<Option.Option<Uint8Array>>

const asBytes = (reply: unknown): Option.Option<Uint8Array> =>
  reply instanceof Uint8Array ? Option.some(reply) : Option.none()

const bucketOf = (key: CacheKey.CacheKey) => (typeof key === "string" ? undefined : key.hash)
const plainOf = (key: CacheKey.CacheKey) => (typeof key === "string" ? key : undefined)

/**
 * Builds `getMany` over stored keys (bucketing already applied): results in
 * input order, duplicates included.
 *
 * @example
 * ```ts
 * import * as Reads from "./Reads.ts" // internal to @dogpile-effect/hstore
 * // const getMany = Reads.make({ redis, batchSize: 500, overflowAbove: 64, expiry: undefined, sweeper })
 * ```
 *
 * @category constructors
 * @since 0.1.0
 */
export const make = (context: ReadContext) => {
  const { expiry, overflowAbove, redis } = context
  /** The bucket field keeping the longest store TTL, read along with the entries. */
  const ttlField = expiry !== undefined && expiry.maxAgeMs === undefined ? EntryExpiry.TTL_FIELD : undefined

  /** MGETs `wanted` keys and stores each value at its positions in `out`. */
  const mget = (wanted: Map<string, Array<number>>, out: Values) =>
    Pipeline.perKeys([...wanted.keys()], context.batchSize, redis.isCluster, (chunk) => ({
      add: (p) => p.mgetBuffer(...chunk),
      onReply: (reply) => {
        const values = reply as ReadonlyArray<unknown>
        chunk.forEach((key, j) => {
          for (const i of wanted.get(key) ?? []) out[i] = asBytes(values[j])
        })
      }
    }))

  /** Reads buckets and plain keys; returns each bucket's positions and age limit. */
  const readBuckets = (keys: ReadonlyArray<CacheKey.CacheKey>, out: Values) =>
    Effect.gen(function*() {
      const buckets = Pipeline.positions(keys, bucketOf)
      const maxAges = new Map<string, number | undefined>()
      const wrongType: Array<string> = []
      const commands = mget(Pipeline.positions(keys, plainOf), out)
      for (const [hash, positions] of buckets) {
        const fields = positions.map((i) => (keys[i] as CacheKey.HashKey).field)
        commands.push({
          route: hash,
          add: (p) => p.hmgetBuffer(hash, ...fields, ...(ttlField === undefined ? [] : [ttlField])),
          onReply: (reply) => {
            const values = reply as ReadonlyArray<unknown>
            positions.forEach((i, j) => (out[i] = asBytes(values[j])))
            const kept = asBytes(values[positions.length])
            maxAges.set(hash, expiry?.maxAgeMs ?? EntryExpiry.bucketMaxAge(Option.getOrUndefined(kept)))
          },
          // A bucket name holding another Redis type fails only its own keys (they read as misses).
          onError: (error) => Pipeline.isWrongType(error) ? void wrongType.push(hash) : error
        })
      }
      yield* Pipeline.run(redis, "getMany", commands)
      if (wrongType.length > 0) {
        const misses = wrongType.reduce((n, hash) => n + (buckets.get(hash)?.length ?? 0), 0)
        yield* Metric.update(HashMetrics.wrongTypeReads, misses)
        yield* Effect.logWarning(
          `dogpile: hstore buckets hold another Redis type; their keys read as misses: ${wrongType.join(", ")}`
        )
      }
      return { buckets, maxAges }
    })

  /** Fields holding the overflow marker: reads their overflow keys; returns their positions. */
  const readOverflow = (keys: ReadonlyArray<CacheKey.CacheKey>, out: Values) =>
    Effect.gen(function*() {
      const overflowed = new Set<number>()
      if (overflowAbove === undefined) return overflowed
      const wanted = new Map<string, Array<number>>()
      keys.forEach((key, i) => {
        const value = out[i] as Option.Option<Uint8Array>
        if (typeof key === "string" || Option.isNone(value) || !Overflow.isMarker(value.value)) return
        overflowed.add(i)
        out[i] = Option.none()
        const k = Overflow.key(key.hash, key.field)
        const list = wanted.get(k)
        if (list === undefined) wanted.set(k, [i])
        else list.push(i)
      })
      yield* Pipeline.run(redis, "getMany", mget(wanted, out))
      return overflowed
    })

  /** Whether the field at `i` has expired, as a boolean, or the effect deciding it for a field read lazily. */
  const expiredAt = (
    settings: EntryExpiry.EntryExpirySettings,
    bytes: Uint8Array,
    now: number,
    maxAge: number | undefined
  ) => FieldAge.isExpired(settings.envelope, bytes, now, maxAge)

  /**
   * Per-entry expiry: fields past their bucket's age limit read as misses; inline ones are queued for removal.
   * One clock read per batch; each field is checked synchronously unless its envelope decodes lazily.
   */
  const applyExpiry = (
    settings: EntryExpiry.EntryExpirySettings,
    keys: ReadonlyArray<CacheKey.CacheKey>,
    read: { readonly buckets: Map<string, Array<number>>; readonly maxAges: Map<string, number | undefined> },
    overflowed: Set<number>,
    out: Values
  ) =>
    Effect.gen(function*() {
      const now = yield* Clock.currentTimeMillis
      let expired = 0
      let dropped = 0
      for (const [hash, positions] of read.buckets) {
        const maxAge = read.maxAges.get(hash)
        if (maxAge === undefined) continue
        for (const i of positions) {
          const value = out[i] as Option.Option<Uint8Array>
          if (Option.isNone(value)) continue
          const decided = expiredAt(settings, value.value, now, maxAge)
          if (!(typeof decided === "boolean" ? decided : yield* decided)) continue
          out[i] = Option.none()
          expired++
          // Overflowed entries expire with their key's TTL; only inline fields are swept.
          if (overflowed.has(i)) continue
          const key = keys[i] as CacheKey.HashKey
          if (!context.sweeper.offer({ hash: key.hash, field: key.field, value: value.value })) dropped++
        }
      }
      if (expired > 0) yield* Metric.update(HashMetrics.expiredReads, expired)
      if (dropped > 0) yield* Metric.update(HashMetrics.sweepDropped, dropped)
    })

  return (keys: ReadonlyArray<CacheKey.CacheKey>): Effect.Effect<Values, BackendError> =>
    Effect.gen(function*() {
      const out: Values = new Array<Option.Option<Uint8Array>>(keys.length).fill(Option.none())
      const read = yield* readBuckets(keys, out)
      const overflowed = yield* readOverflow(keys, out)
      if (expiry !== undefined && read.buckets.size > 0) yield* applyExpiry(expiry, keys, read, overflowed, out)
      return out
    })
}
