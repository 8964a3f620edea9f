/**
 * Batches of commands sent as pipelines, one per Cluster slot (one in all on a
 * standalone server), with per-command error handling: a command may absorb
 * its own error (a bucket of the wrong type reads as misses) so that it never
 * fails the other keys of the batch.
 *
 * @since 0.1.0
 */
import type { BackendError } from "@dogpile-effect/core"
import type { RedisClient } from "@dogpile-effect/redis"
import { Effect } from "effect"
import type { ChainableCommander } from "ioredis"
import * as Slot from "./Slot.ts"

/**
 * One command of a batch, routed by the slot of `route`.
 *
 * @example
 * ```ts
 * import type * as Pipeline from "./Pipeline.ts" // internal to @dogpile-effect/hstore
 * const command: Pipeline.Command = { route: "k", add: (p) => p.get("k"), onReply: () => {} }
 * ```
 *
 * @category models
 * @since 0.1.0
 */
export interface Command {
  readonly route: string
  readonly add: (pipeline: ChainableCommander) => void
  readonly onReply: (reply: unknown) => void
  /**
   * Called with the command's error; returns `undefined` when the error is
   * handled (the batch goes on), or the error to fail the batch with.
   */
  readonly onError?: (error: Error) => Error | undefined
}

/**
 * Whether an error is Redis' WRONGTYPE (a key holding another data type).
 *
 * @example
 * ```ts
 * import * as Pipeline from "./Pipeline.ts" // internal to @dogpile-effect/hstore
 * Pipeline.isWrongType(new Error("WRONGTYPE Operation against a key holding the wrong kind of value")) // true
 * ```
 *
 * @category predicates
 * @since 0.1.0
 */
export const isWrongType = (error: Error): boolean => error.message.startsWith("WRONGTYPE")

/**
 * Splits `items` into chunks of at most `size`.
 *
 * @example
 * ```ts
 * import * as Pipeline from "./Pipeline.ts" // internal to @dogpile-effect/hstore
 * Pipeline.chunks([1, 2, 3], 2) // [[1, 2], [3]]
 * ```
 *
 * @category constructors
 * @since 0.1.0
 */
export const chunks = <A>(items: ReadonlyArray<A>, size: number): Array<ReadonlyArray<A>> => {
  const out: Array<ReadonlyArray<A>> = []
  for (let start = 0; start < items.length; start += size) out.push(items.slice(start, start + size))
  return out
}

/**
 * Positions of each distinct key, in first-seen order (duplicates share one
 * entry).
 *
 * @example
 * ```ts
 * import * as Pipeline from "./Pipeline.ts" // internal to @dogpile-effect/hstore
 * Pipeline.positions(["a", "b", "a"], (k) => k) // Map { "a" => [0, 2], "b" => [1] }
 * ```
 *
 * @category constructors
 * @since 0.1.0
 */
export const positions = <A>(items: ReadonlyArray<A>, keyOf: (item: A) => string | undefined): Map<string, Array<number>> => {
  const out = new Map<string, Array<number>>()
  items.forEach((item, i) => {
    const key = keyOf(item)
    if (key === undefined) return
    const list = out.get(key)
    if (list === undefined) out.set(key, [i])
    else list.push(i)
  })
  return out
}

/** Runs one slot's commands as one pipeline. */
const runGroup = async (client: RedisClient.RedisConnection, group: ReadonlyArray<Command>): Promise<void> => {
  const pipeline = client.pipeline()
  for (const command of group) command.add(pipeline)
  const results = await pipeline.exec()
  if (results === null) throw new Error("pipeline aborted")
  // Each command has a result at its position; fail on the first unhandled error.
  results.forEach(([error], i) => {
    if (error === null) return
    const onError = (group[i] as Command).onError
    const failure = onError === undefined ? error : onError(error)
    if (failure !== undefined) throw failure
  })
  results.forEach(([error, reply], i) => {
    if (error === null) (group[i] as Command).onReply(reply)
  })
}

/**
 * Runs commands in pipelines, one per slot on a Cluster (one in all on a
 * standalone server), concurrently.
 *
 * @example
 * ```ts
 * import * as Pipeline from "./Pipeline.ts" // internal to @dogpile-effect/hstore
 * import { RedisClient } from "@dogpile-effect/redis"
 * import { Effect } from "effect"
 * const program = Effect.flatMap(RedisClient.RedisClient, (redis) =>
 *   Pipeline.run(redis, "ping", [{ route: "k", add: (p) => p.ping(), onReply: () => {} }]))
 * ```
 *
 * @category combinators
 * @since 0.1.0
 */
export const run = (
  redis: RedisClient.RedisClient["Service"],
  operation: string,
  commands: ReadonlyArray<Command>
): Effect.Effect<void, BackendError> =>
  commands.length === 0
    ? Effect.void
    // A standalone server takes them all in one pipeline, read by the caller's own fiber.
    : !redis.isCluster
    ? redis.use(operation, (client) => runGroup(client, commands))
    : Effect.forEach(
      Slot.groupBy(commands, (command) => command.route, true).values(),
      (group) => redis.use(operation, (client) => runGroup(client, group)),
      { concurrency: "unbounded", discard: true }
    )

/**
 * Commands over plain keys (MGET, DEL), in chunks of at most `batchSize` keys
 * that share a slot.
 *
 * @example
 * ```ts
 * import * as Pipeline from "./Pipeline.ts" // internal to @dogpile-effect/hstore
 * Pipeline.perKeys(["a", "b"], 500, false, (chunk) => ({ add: (p) => p.del(...chunk), onReply: () => {} }))
 * ```
 *
 * @category constructors
 * @since 0.1.0
 */
export const perKeys = (
  keys: ReadonlyArray<string>,
  batchSize: number,
  cluster: boolean,
  make: (chunk: ReadonlyArray<string>) => Omit<Command, "route">
): Array<Command> => {
  const out: Array<Command> = []
  for (const group of Slot.groupBy(keys, (key) => key, cluster).values()) {
    for (const chunk of chunks(group, batchSize)) out.push({ route: chunk[0] as string, ...make(chunk) })
  }
  return out
}
