/**
 * Replaying the `Recovery` queue into the store: batches of marks first, then
 * the other operations in the order their keys were first queued, each batch
 * settled only once the store has taken it. A queued mark never moves a
 * newer mark in the store backwards.
 *
 * @internal
 * @since 0.1.0
 */
import { Clock, Duration, Effect, Option } from "effect"
import type { Backend, BackendEntry, BackendFailure } from "./Backend.ts"
import type * as RecoveryQueue from "./RecoveryQueue.ts"

/** What one replay did: operations written to the store, and operations dropped (the store refuses their key). */
export interface Replayed {
  readonly replayed: number
  readonly dropped: number
}

const textDecoder = new TextDecoder()

/** The epoch ms a mark holds, or 0. */
const markTime = (bytes: Option.Option<Uint8Array> | Uint8Array | undefined): number => {
  const raw = bytes === undefined ? undefined : bytes instanceof Uint8Array ? bytes : Option.getOrUndefined(bytes)
  if (raw === undefined) return 0
  const n = Number(textDecoder.decode(raw))
  return Number.isFinite(n) && n > 0 ? n : 0
}

const entryOf = (item: RecoveryQueue.Batch["items"][number]): BackendEntry => ({
  key: item.op.key,
  value: item.op.value!,
  ttl: item.ttlMs === undefined ? undefined : Duration.millis(Math.max(1, item.ttlMs))
})

/**
 * The marks of `batch` that are newer than what the store holds (another
 * process may have invalidated later, after the store came back).
 */
const newerMarks = (inner: Backend["Service"], batch: RecoveryQueue.Batch) => {
  const keys = batch.items.map((item) => item.op.key)
  // Past any tier in this process (a near cache): the marks as the store holds them now.
  const stored = inner.getManyFromStore === undefined ? inner.getMany(keys) : inner.getManyFromStore(keys)
  return Effect.map(stored, (found) => batch.items.filter((item, i) => markTime(item.op.value) > markTime(found[i])))
}

/** Sends one batch to the store. */
const send = (inner: Backend["Service"], batch: RecoveryQueue.Batch): Effect.Effect<void, BackendFailure> => {
  if (batch.kind === "delete") return inner.deleteMany(batch.items.map((item) => item.op.key))
  if (!batch.marks) return inner.setMany(batch.items.map(entryOf))
  return Effect.flatMap(newerMarks(inner, batch), (newer) => newer.length === 0 ? Effect.void : inner.setMany(newer.map(entryOf)))
}

/**
 * Replays one batch of at most `batchSize` operations; `undefined` when the
 * queue is empty. A batch the store refuses for its keys
 * (`UnsupportedKeyError`) is dropped, so it cannot hold the queue forever.
 */
export const replayOne = (
  inner: Backend["Service"],
  queue: RecoveryQueue.RecoveryQueue,
  batchSize: number
): Effect.Effect<Replayed | undefined, BackendFailure> =>
  Effect.flatMap(Clock.currentTimeMillis, (now) => {
    const batch = queue.next(batchSize, now)
    if (batch === undefined) return Effect.succeed(undefined)
    return send(inner, batch).pipe(
      Effect.map((): Replayed => ({ replayed: queue.settle(batch), dropped: 0 })),
      Effect.catchTag("UnsupportedKeyError", () => Effect.sync((): Replayed => ({ replayed: 0, dropped: queue.settle(batch) })))
    )
  })

/**
 * Replays the whole queue, batch after batch, calling `progress` after each;
 * fails with the store's error at the first batch it does not take (that
 * batch stays queued).
 */
export const drain = (
  inner: Backend["Service"],
  queue: RecoveryQueue.RecoveryQueue,
  batchSize: number,
  progress: (replayed: Replayed) => Effect.Effect<void>
): Effect.Effect<void, BackendFailure> =>
  Effect.flatMap(replayOne(inner, queue, batchSize), (done) =>
    done === undefined ? Effect.void : Effect.andThen(progress(done), drain(inner, queue, batchSize, progress)))
