/**
 * The Backend over node-redis: plain string keys over GET / MGET / SET [PX] /
 * DEL, binary-safe, on the client of Effect's `NodeRedis` service; renewals in
 * place through the Redis backend's script (`RestampLua` of
 * `@dogpile-effect/redis/lock-kit`).
 *
 * @since 0.1.0
 */
import {
  Backend,
  type BackendEntry,
  type BackendError,
  type BackendRestamp,
  CacheKey,
  type InvalidOptionError,
  Options,
  UnsupportedKeyError
} from "@dogpile-effect/core"
import { RestampLua, StoreTtl } from "@dogpile-effect/redis/lock-kit"
import { createHash } from "node:crypto"
import { NodeRedis } from "@effect/platform-node/NodeRedis"
import { Config, Duration, Effect, Layer, Option } from "effect"
import { RESP_TYPES } from "redis"
import { BACKEND, reporter } from "./ErrorMapping.ts"

const COMPONENT = "NodeRedisBackend"

/**
 * Options of the node-redis backend. The store TTL (`SET … PX`) is not one of
 * them: it is the region's `storeTtl`, passed with every write.
 *
 * @example
 * ```ts
 * import type { NodeRedisBackend } from "@dogpile-effect/node-redis"
 * const options: NodeRedisBackend.NodeRedisBackendOptions = { batchSize: 200, commandTimeout: "2 seconds" }
 * ```
 *
 * @since 0.1.0
 */
export interface NodeRedisBackendOptions {
  /** The most keys in one MGET / DEL, or SETs sent together. Default 500. */
  readonly batchSize?: number | undefined
  /**
   * How long one call waits for Redis before it fails with a `BackendError`
   * (node-redis queues commands while it reconnects, so without a bound a call
   * would wait for the server to come back). Default 1 second.
   */
  readonly commandTimeout?: Duration.Input | undefined
}

/** Bulk-string replies as `Buffer`: the stored bytes, never decoded as UTF-8. */
const BYTES = { [RESP_TYPES.BLOB_STRING]: Buffer } as const

type Reply = Buffer | null | undefined

const bytesOf = (reply: Reply): Option.Option<Uint8Array> =>
  reply === null || reply === undefined ? Option.none() : Option.some(reply)

const toBuffer = (bytes: Uint8Array): Buffer =>
  Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)

/** The `SET` command of one entry. */
const setCommand = (key: string, value: Uint8Array, ttl: Duration.Duration | undefined): Array<string | Buffer> => {
  const px = StoreTtl.pxOf(ttl)
  return px === undefined ? ["SET", key, toBuffer(value)] : ["SET", key, toBuffer(value), "PX", String(px)]
}

/** The SHA1 of {@link RestampLua.RESTAMP}, for `EVALSHA`. */
const RESTAMP_SHA = createHash("sha1").update(RestampLua.RESTAMP).digest("hex")

/** Whether `error` is Redis's answer to an `EVALSHA` of a script it has not loaded. */
const noScript = (error: unknown) => error instanceof Error && error.message.startsWith("NOSCRIPT")

/** Positions `0..length-1` in runs of at most `size`. */
const chunks = (length: number, size: number): ReadonlyArray<ReadonlyArray<number>> => {
  const out: Array<Array<number>> = []
  for (let start = 0; start < length; start += size) {
    out.push(Array.from({ length: Math.min(size, length - start) }, (_, i) => start + i))
  }
  return out
}

const plain = (key: CacheKey.CacheKey): Effect.Effect<string, UnsupportedKeyError> =>
  typeof key === "string"
    ? Effect.succeed(key)
    : Effect.fail(
      new UnsupportedKeyError({
        key: CacheKey.display(key),
        backend: BACKEND,
        reason: "NodeRedisBackend stores plain string keys"
      })
    )

const plainAll = (keys: ReadonlyArray<CacheKey.CacheKey>) => Effect.forEach(keys, plain)

/**
 * Builds the backend over the `NodeRedis` client in context. Reads and
 * writes go through node-redis directly (not `Redis.send`, whose arguments
 * and replies are strings) so that values stay bytes both ways.
 *
 * @example
 * ```ts
 * import { NodeRedisBackend } from "@dogpile-effect/node-redis"
 * import { NodeRedis } from "@effect/platform-node"
 * import { Effect } from "effect"
 *
 * const program = Effect.gen(function*() {
 *   const backend = yield* NodeRedisBackend.make()
 *   yield* backend.set("greeting", new Uint8Array([104, 105]))
 *   return yield* backend.get("greeting")
 * }).pipe(Effect.provide(NodeRedis.layer({ url: "redis://127.0.0.1:6379" })))
 * ```
 *
 * @since 0.1.0
 */
export const make = (
  options: NodeRedisBackendOptions = {}
): Effect.Effect<Backend["Service"], InvalidOptionError, NodeRedis> =>
  Effect.gen(function*() {
    const { client } = yield* NodeRedis
    const batchSize = yield* Options.integer(COMPONENT, "batchSize", options.batchSize, 500, { min: 1 })
    const timeoutMs = yield* Options.millisOr(COMPONENT, "commandTimeout", options.commandTimeout, "1 second")
    const report = reporter(client)

    /** One command with bulk replies as bytes, bounded by `commandTimeout`. */
    const send = <A>(operation: string, command: ReadonlyArray<string | Buffer>): Effect.Effect<A, BackendError> =>
      report.run(operation, () => client.sendCommand<A>(command, { typeMapping: BYTES }), timeoutMs)

    /** Several commands at once (node-redis writes the commands of one tick together). */
    const sendAll = (operation: string, commands: ReadonlyArray<ReadonlyArray<string | Buffer>>) =>
      report.run(
        operation,
        () => Promise.all(commands.map((command) => client.sendCommand(command))).then(() => undefined),
        timeoutMs
      )

    const get = (key: CacheKey.CacheKey) =>
      Effect.flatMap(plain(key), (k) => Effect.map(send<Reply>("get", ["GET", k]), bytesOf))

    const getMany = (keys: ReadonlyArray<CacheKey.CacheKey>) =>
      Effect.gen(function*() {
        const all = yield* plainAll(keys)
        const out = new Array<Option.Option<Uint8Array>>(all.length)
        yield* Effect.forEach(
          chunks(all.length, batchSize),
          (batch) =>
            Effect.map(send<ReadonlyArray<Reply>>("mget", ["MGET", ...batch.map((i) => all[i] as string)]), (replies) =>
              batch.forEach((position, j) => {
                out[position] = bytesOf(replies[j])
              })),
          { concurrency: "unbounded", discard: true }
        )
        return out
      })

    const set = (key: CacheKey.CacheKey, value: Uint8Array, ttl?: Duration.Duration) =>
      Effect.flatMap(plain(key), (k) => Effect.asVoid(send("set", setCommand(k, value, ttl))))

    const setMany = (entries: ReadonlyArray<BackendEntry>) =>
      Effect.gen(function*() {
        const all = yield* plainAll(entries.map((entry) => entry.key))
        yield* Effect.forEach(
          chunks(all.length, batchSize),
          (batch) =>
            sendAll("setMany", batch.map((i) => setCommand(all[i] as string, (entries[i] as BackendEntry).value, (entries[i] as BackendEntry).ttl))),
          { concurrency: "unbounded", discard: true }
        )
      })

    /** The renewal script over `keys` and `args`: `EVALSHA`, loading it with `EVAL` on a server that lacks it. */
    const restampRun = (keys: ReadonlyArray<string>, args: ReadonlyArray<string | number | Buffer>) => {
      const rest = [String(keys.length), ...keys, ...args.map((arg) => (typeof arg === "number" ? String(arg) : arg))]
      return report.run(
        "restampMany",
        () =>
          client.sendCommand<unknown>(["EVALSHA", RESTAMP_SHA, ...rest], { typeMapping: BYTES }).catch((error: unknown) =>
            noScript(error) ? client.sendCommand<unknown>(["EVAL", RestampLua.RESTAMP, ...rest], { typeMapping: BYTES }) : Promise.reject(error)
          ),
        timeoutMs
      )
    }

    /** Renewals in place: one script per batch, carrying headers only. */
    const restampMany = (entries: ReadonlyArray<BackendRestamp>) =>
      Effect.gen(function*() {
        const all = yield* plainAll(entries.map((entry) => entry.key))
        const applied = new Array<boolean>(all.length).fill(false)
        yield* Effect.forEach(
          chunks(all.length, batchSize),
          (batch) =>
            Effect.map(
              restampRun(batch.map((i) => all[i] as string), RestampLua.argsOf(entries, batch)),
              (reply) => RestampLua.appliedOf(reply, batch.length).forEach((done, j) => (applied[batch[j]!] = done))
            ),
          { concurrency: "unbounded", discard: true }
        )
        return applied
      })

    const deleteOne = (key: CacheKey.CacheKey) => Effect.flatMap(plain(key), (k) => Effect.asVoid(send("del", ["DEL", k])))

    const deleteMany = (keys: ReadonlyArray<CacheKey.CacheKey>) =>
      Effect.gen(function*() {
        const all = yield* plainAll(keys)
        yield* Effect.forEach(
          chunks(all.length, batchSize),
          (batch) => send("del", ["DEL", ...batch.map((i) => all[i] as string)]),
          { concurrency: "unbounded", discard: true }
        )
      })

    return Backend.of({
      name: BACKEND,
      capabilities: { hashKeys: false, ttl: true },
      get,
      getMany,
      set,
      setMany,
      restampMany,
      delete: deleteOne,
      deleteMany
    })
  })

/**
 * The node-redis backend as a Layer over Effect's `NodeRedis` service;
 * its options are validated when the Layer is built.
 *
 * @example
 * ```ts
 * import { NodeRedisBackend } from "@dogpile-effect/node-redis"
 * import { NodeRedis } from "@effect/platform-node"
 * import { Layer } from "effect"
 *
 * const BackendLive = NodeRedisBackend.layer({ batchSize: 500 }).pipe(
 *   Layer.provide(NodeRedis.layer({ url: "redis://127.0.0.1:6379" }))
 * )
 * ```
 *
 * @since 0.1.0
 */
export const layer = (options: NodeRedisBackendOptions = {}): Layer.Layer<Backend, InvalidOptionError, NodeRedis> =>
  Layer.effect(Backend, make(options))

/**
 * The backend as a Layer whose options come from `Config`, in the style of
 * `NodeRedis.layerConfig`: each option a `Config` (or all of them one
 * `Config`), read and validated when the Layer is built.
 *
 * @example
 * ```ts
 * import { NodeRedisBackend } from "@dogpile-effect/node-redis"
 * import { NodeRedis } from "@effect/platform-node"
 * import { Config, Layer } from "effect"
 *
 * const BackendLive = NodeRedisBackend.layerConfig({
 *   batchSize: Config.Int("CACHE_BATCH_SIZE").pipe(Config.withDefault(500)),
 *   commandTimeout: Config.Duration("CACHE_COMMAND_TIMEOUT").pipe(Config.withDefault("1 second"))
 * }).pipe(Layer.provide(NodeRedis.layerConfig({ url: Config.String("REDIS_URL") })))
 * ```
 *
 * @since 0.1.0
 */
export const layerConfig = (
  options: Config.Wrap<NodeRedisBackendOptions>
): Layer.Layer<Backend, InvalidOptionError | Config.ConfigError, NodeRedis> =>
  Layer.effect(Backend, Effect.flatMap(Config.unwrap(options), make))
