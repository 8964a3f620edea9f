/**
 * Removal of expired bucket fields: a bounded queue fed by reads, a
 * compare-and-delete script, the optional background fiber, and a full scan
 * of one bucket.
 *
 * @since 0.1.0
 */
import type { BackendError } from "@dogpile-effect/core"
import type { RedisClient } from "@dogpile-effect/redis"
import { Clock, Effect, Metric, Queue, type Scope } from "effect"
import * as EntryExpiry from "./EntryExpiry.ts"
import * as HashMetrics from "./HashMetrics.ts"
import * as HashScripts from "./HashScripts.ts"
import * as Overflow from "./Overflow.ts"
import * as Pipeline from "./Pipeline.ts"

/**
 * A field found expired, with the value it had then (removed only if it still
 * has it).
 *
 * @example
 * ```ts
 * import type * as Sweeper from "./Sweeper.ts" // internal to @dogpile-effect/hstore
 * const item: Sweeper.Expired = { hash: "b", field: "f", value: new Uint8Array([1]) }
 * ```
 *
 * @category models
 * @since 0.1.0
 */
export interface Expired {
  readonly hash: string
  readonly field: string
  readonly value: Uint8Array
}

/**
 * The sweeper of one backend.
 *
 * @example
 * ```ts
 * import { HashBackend } from "@dogpile-effect/hstore"
 * import { Effect } from "effect"
 * const pending = Effect.flatMap(HashBackend.HashStore, (store) => store.sweepPending)
 * ```
 *
 * @category models
 * @since 0.1.0
 */
export interface Sweeper {
  /** Queues an expired field; `false` when the queue is full (the field stays). */
  readonly offer: (item: Expired) => boolean
  /** Removes the fields queued so far, in batches; returns how many were deleted. */
  readonly sweepPending: Effect.Effect<number, BackendError>
  /** Scans one bucket and removes its expired fields; 0 when per-entry expiry is off. */
  readonly sweepBucket: (hash: string) => Effect.Effect<number, BackendError>
}

const toBuffer = (bytes: Uint8Array): Buffer =>
  Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)

/**
 * Builds the sweeper in a scope; with `sweeper: "background"` a fiber of that
 * scope removes queued fields as they come.
 *
 * @example
 * ```ts
 * import { EntryExpiry } from "@dogpile-effect/hstore"
 * import * as Sweeper from "./Sweeper.ts" // internal to @dogpile-effect/hstore
 * import { RedisClient } from "@dogpile-effect/redis"
 * import { Effect } from "effect"
 * const program = Effect.gen(function*() {
 *   const redis = yield* RedisClient.RedisClient
 *   const settings = yield* EntryExpiry.resolve({ maxAge: "1 hour", sweeper: "manual" })
 *   const sweeper = yield* Sweeper.make(redis, settings)
 *   return yield* sweeper.sweepBucket("user:12345")
 * })
 * ```
 *
 * @category constructors
 * @since 0.1.0
 */
export const make = (
  redis: RedisClient.RedisClient["Service"],
  expiry: EntryExpiry.EntryExpirySettings | undefined
): Effect.Effect<Sweeper, never, Scope.Scope> =>
  Effect.gen(function*() {
    const queue = yield* Queue.dropping<Expired>(expiry?.queueCapacity ?? 1)
    const batch = expiry?.batchSize ?? 100

    /** Compare-and-deletes expired fields, one script call per bucket and batch. */
    const remove = (items: ReadonlyArray<Expired>): Effect.Effect<number, BackendError> =>
      Effect.gen(function*() {
        const perBucket = Pipeline.positions(items, (item) => item.hash)
        const counts = yield* Effect.forEach(
          perBucket,
          ([bucket, positions]) =>
            redis.use("sweep", async (c) => {
              const fields = positions.map((i) => items[i] as Expired).map((item) => ({
                field: item.field,
                value: toBuffer(item.value)
              }))
              return Number(await HashScripts.invoke(c, HashScripts.deleteIfUnchanged, { bucket, fields }))
            }),
          { concurrency: "unbounded" }
        )
        const removed = counts.reduce((a, b) => a + b, 0)
        if (removed > 0) yield* Metric.update(HashMetrics.expiredRemoved, removed)
        return removed
      })

    const sweepPending = Effect.gen(function*() {
      // At most queueCapacity items: the queue's bound is the sweep's bound.
      const items = yield* Queue.clear(queue)
      let removed = 0
      for (const chunk of Pipeline.chunks(items, batch)) removed += yield* remove(chunk)
      return removed
    })

    const scanStep = (hash: string, cursor: string) =>
      redis.use("sweepBucket", (c) => c.hscanBuffer(hash, cursor, "COUNT", batch) as Promise<[Buffer, Array<Buffer>]>)

    /** The bucket's age limit: the configured maxAge, else its longest store TTL. */
    const maxAgeOf = (hash: string) =>
      expiry?.maxAgeMs !== undefined
        ? Effect.succeed(expiry.maxAgeMs)
        : Effect.map(
          redis.use("sweepBucket", (c) => c.hgetBuffer(hash, EntryExpiry.TTL_FIELD)),
          (kept) => EntryExpiry.bucketMaxAge(kept ?? undefined)
        )

    const sweepBucket = (hash: string) =>
      Effect.gen(function*() {
        if (expiry === undefined) return 0
        const maxAge = yield* maxAgeOf(hash)
        if (maxAge === undefined) return 0
        let cursor = "0"
        let removed = 0
        do {
          const [next, flat] = yield* scanStep(hash, cursor)
          cursor = next.toString()
          const now = yield* Clock.currentTimeMillis
          const found: Array<Expired> = []
          for (let i = 0; i + 1 < flat.length; i += 2) {
            // i + 1 < flat.length, so both entries exist.
            const field = (flat[i] as Buffer).toString()
            const value = flat[i + 1] as Buffer
            if (field === EntryExpiry.TTL_FIELD || Overflow.isMarker(value)) continue
            if (yield* EntryExpiry.isExpired(expiry, value, now, maxAge)) {
              found.push({ hash, field, value })
            }
          }
          if (found.length > 0) removed += yield* remove(found)
        } while (cursor !== "0")
        return removed
      })

    if (expiry !== undefined && expiry.sweeper === "background") {
      yield* Effect.forkScoped(
        Effect.forever(
          Queue.takeBetween(queue, 1, batch).pipe(
            Effect.flatMap(remove),
            Effect.catch((error) => Effect.logDebug("dogpile: hstore sweep failed; will retry with later reads", error.reason))
          )
        )
      )
    }

    return { offer: (item) => Queue.offerUnsafe(queue, item), sweepPending, sweepBucket }
  })
