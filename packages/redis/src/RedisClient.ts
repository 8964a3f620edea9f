/**
 * The ioredis connection behind the Redis backend and lock, as an Effect
 * service whose lifetime is the Layer's scope.
 *
 * @since 0.1.0
 */
import { type BackendError, ConfigOptions, type InvalidOptionError, Options } from "@dogpile-effect/core"
import type { Cluster, Redis } from "ioredis"
import type { ConnectionOptions } from "node:tls"
import { Config, Context, type Duration, Effect, Layer, type Redacted, type Scope } from "effect"
import * as ClientService from "./ClientService.ts"
import * as ClientSettings from "./ClientSettings.ts"
import * as ConnectionHealth from "./ConnectionHealth.ts"
import type { SentinelOptions } from "./Sentinel.ts"

export type { SentinelOptions } from "./Sentinel.ts"
export { defaultConfig } from "./ClientSettings.ts"

/**
 * A connection: a standalone `Redis` or a `Cluster`.
 *
 * @since 0.1.0
 */
export type RedisConnection = Redis | Cluster

/**
 * A Redis Cluster startup node.
 *
 * @since 0.1.0
 */
export interface RedisNode {
  readonly host: string
  readonly port: number
}

/**
 * Options of {@link layer}. Everything is optional: the default is a
 * standalone server at `redis://127.0.0.1:6379`.
 *
 * @since 0.1.0
 */
export interface RedisClientOptions {
  /**
   * `redis://[user[:password]@]host[:port][/db]`, or `rediss://` for TLS. Pass
   * it as `Redacted` when it carries a password. With `cluster: true` the URL's
   * host is the startup node; several URLs may be given separated by commas.
   * A URL without a scheme, with another scheme, a query string or a path that
   * is not a database number is an `InvalidOptionError` (which never repeats
   * the URL). `redis+sentinel://[user[:password]@]host[:port][,host[:port]…]/name[/db]`
   * names Sentinels (port 26379 by default) and a master group instead (see
   * {@link SentinelOptions}).
   */
  readonly url?: string | Redacted.Redacted<string> | undefined
  /** Connect through Redis Sentinel (also implied by a `redis+sentinel://` URL; these options take precedence). */
  readonly sentinel?: SentinelOptions | undefined
  /** Connect to a Redis Cluster (also implied by `nodes`). */
  readonly cluster?: boolean | undefined
  /** Cluster startup nodes; overrides the URL's host. */
  readonly nodes?: ReadonlyArray<RedisNode> | undefined
  readonly username?: string | undefined
  /** Overrides the URL's password. Never logged. */
  readonly password?: Redacted.Redacted<string> | undefined
  /**
   * Database index (overrides the URL's `/db`). A Cluster has only database
   * 0: anything else is an `InvalidOptionError`. A database the server does
   * not have fails the Layer (or every call, if found at a reconnection).
   */
  readonly db?: number | undefined
  /** TLS: `true` (implied by `rediss://`) or Node TLS options. */
  readonly tls?: boolean | ConnectionOptions | undefined
  /**
   * Upper bound of one command, from the call to its answer (however long
   * ioredis keeps it queued): a silent server fails it with `BackendError`
   * after this long. Default 1 second.
   */
  readonly commandTimeout?: Duration.Input | undefined
  /** Bound on establishing a connection, and on waiting for it when the Layer is built. Default 1 second. */
  readonly connectTimeout?: Duration.Input | undefined
  /** Longest wait between reconnection attempts (they back off from 50 ms up to this). Default 1 second. */
  readonly maxReconnectDelay?: Duration.Input | undefined
  /** ioredis auto-pipelining (all commands of one tick in one write). Default `true`. */
  readonly autoPipelining?: boolean | undefined
  /** `CLIENT SETNAME` of the connection. */
  readonly connectionName?: string | undefined
}

/**
 * A Lua script registered with `defineCommand` (EVALSHA, falling back to EVAL
 * after NOSCRIPT). On a Cluster every key of one call must be in one slot.
 *
 * @since 0.1.0
 */
export interface RedisScript {
  readonly name: string
  /** Runs the script; string and integer replies. */
  run(
    keys: ReadonlyArray<string>,
    args: ReadonlyArray<string | number | Buffer>,
    options?: CallOptions
  ): Effect.Effect<unknown, BackendError>
  /** Runs the script; bulk-string replies as `Buffer`. */
  runBuffer(
    keys: ReadonlyArray<string>,
    args: ReadonlyArray<string | number | Buffer>,
    options?: CallOptions
  ): Effect.Effect<unknown, BackendError>
}

/**
 * The RedisClient service: one ioredis client (standalone or Cluster) with
 * fail-fast settings — no offline queue, no retries of in-flight commands, a
 * command timeout — while it keeps reconnecting in the background, so calls
 * fail with a typed {@link BackendError} within a bounded time while Redis is
 * down and succeed again once it is back, without rebuilding the Layer.
 *
 * Every call answers within `commandTimeout` of real time (default 1 s),
 * however long ioredis keeps the command queued (behind a waiting
 * auto-pipeline, a reconnection, a slot refresh); `use` and scripts take a
 * tighter per-call bound (`timeoutMillis`) for callers with a deadline of
 * their own. Errors name their cause (`not connected: connection refused`,
 * `unknown host`, `TLS handshake failed`, `authentication failed`) and never
 * carry the password. Build it from options ({@link layer}, {@link layerConfig})
 * or over an ioredis client you own ({@link layerFrom}).
 *
 * Building blocks for other Redis stores (such as `@dogpile-effect/hstore`):
 * - `use(operation, f)` runs raw ioredis calls; a rejection becomes a
 *   `BackendError` naming `operation`, with any password scrubbed.
 * - `deadline(promise)` applies the same bound to an ioredis promise driven
 *   directly (with `toError` for its failure).
 * - `script(name, lua, numberOfKeys)` registers a Lua script once
 *   (`numberOfKeys` may be `"variable"`: each call passes its own keys).
 * - `isCluster` tells whether keys of one request must share a slot.
 * - `duplicate` opens a second connection (e.g. for SUBSCRIBE) in a scope.
 *
 * @example
 * ```ts
 * import { RedisClient } from "@dogpile-effect/redis"
 * import { Effect } from "effect"
 *
 * const program = Effect.gen(function*() {
 *   const redis = yield* RedisClient.RedisClient
 *   return yield* redis.use("ping", (client) => client.ping())
 * }).pipe(Effect.provide(RedisClient.layer({ url: "redis://127.0.0.1:6379" })))
 * ```
 *
 * @since 0.1.0
 */
export class RedisClient extends Context.Service<RedisClient, {
  /** The ioredis client. Prefer `use`, which types failures. */
  readonly client: RedisConnection
  readonly isCluster: boolean
  /** Where it connects, without credentials, e.g. `redis://127.0.0.1:6379`. */
  readonly label: string
  /** The bound of one call (`commandTimeout`), in milliseconds. */
  readonly commandTimeoutMillis: number
  /** Whether the connection is ready right now (and on the database asked for). */
  readonly isReady: Effect.Effect<boolean>
  /**
   * Runs raw ioredis calls. It answers within `commandTimeout` (or the
   * tighter `options.timeoutMillis`) of real time, whatever the server does.
   */
  use<A>(
    operation: string,
    f: (client: RedisConnection) => Promise<A>,
    options?: CallOptions
  ): Effect.Effect<A, BackendError>
  /** The `BackendError` that `use` would report for `cause` (for callers that drive ioredis promises themselves). */
  toError(operation: string, cause: unknown): BackendError
  /**
   * The bound `use` applies, for callers that drive ioredis promises
   * themselves: the promise, rejected after `commandTimeout` (or the tighter
   * `options.timeoutMillis`) of real time. On a Cluster, a MOVED or
   * connection error also schedules a refresh of the slot map.
   */
  deadline<A>(promise: Promise<A>, options?: CallOptions): Promise<A>
  /** `numberOfKeys`: the keys every call passes, or `"variable"` (each call's own). */
  script(name: string, lua: string, numberOfKeys: number | "variable"): RedisScript
  /** A second connection with the same settings (offline queue on, for subscribers), closed with the scope. */
  readonly duplicate: Effect.Effect<RedisConnection, never, Scope.Scope>
}>()("@dogpile-effect/redis/RedisClient") {}

/** Options of a single call of {@link RedisClient} `use` or a script's `run`. */
export interface CallOptions {
  /**
   * A tighter bound than the client's `commandTimeout` for this call, in
   * milliseconds (e.g. what is left of a caller's deadline). Never looser.
   */
  readonly timeoutMillis?: number | undefined
}

/**
 * Builds the service in a scope: validates the options (failing with
 * `InvalidOptionError`), connects, waiting up to `connectTimeout` for the
 * first connection, and disconnects when the scope closes. If Redis is not
 * reachable yet, it logs a warning naming the cause (unknown host, refused,
 * TLS handshake, authentication) and keeps connecting in the background;
 * calls fail with a `BackendError` naming that cause meanwhile. A database
 * index the server refuses (`redis://host/99` on a server with 16) fails the
 * build, or every call if found later: nothing goes to database 0 instead.
 *
 * @example
 * ```ts
 * import { RedisClient } from "@dogpile-effect/redis"
 * import { Effect } from "effect"
 * const program = Effect.scoped(Effect.gen(function*() {
 *   const redis = yield* RedisClient.make({ url: "redis://127.0.0.1:6379/2" })
 *   return yield* redis.use("ping", (client) => client.ping())
 * }))
 * ```
 *
 * @since 0.1.0
 */
export const make = (
  options: RedisClientOptions = {}
): Effect.Effect<RedisClient["Service"], InvalidOptionError | BackendError, Scope.Scope> =>
  Effect.gen(function*() {
    const settings = yield* ClientSettings.resolve(options)
    const { client, health } = yield* ClientService.open(() => settings.create(), settings.commandTimeoutMs)
    const service = ClientService.build({
      client,
      health,
      isCluster: settings.isCluster,
      label: settings.label,
      secrets: settings.secrets,
      commandTimeoutMs: settings.commandTimeoutMs,
      db: settings.db,
      duplicate: Effect.map(ClientService.open(() => settings.create(true)), ({ client }) => client)
    })
    const ready = yield* ClientService.awaitReady(client, settings.connectTimeoutMs)
    if (!ready) {
      const cause = health.lastError() ?? "no answer yet"
      yield* Effect.logWarning(
        `dogpile: Redis at ${settings.label} is not reachable yet (${ClientService.scrub(cause, settings.secrets)}); calls fail until it is`
      )
    }
    const refused = health.dbRefused()
    if (refused !== undefined) {
      return yield* service.toError(
        "select",
        `database ${settings.db ?? 0} refused by the server (${refused}); the URL's path or the db option names a database it does not have`
      )
    }
    return service
  })

/**
 * Options of {@link fromClient} and {@link layerFrom}.
 *
 * @category models
 * @since 0.1.0
 */
export interface FromClientOptions {
  /**
   * The bound of one call, from the call to its answer. Default the client's
   * own `commandTimeout`, or 1 second if it has none.
   */
  readonly commandTimeout?: Duration.Input | undefined
}

const isClusterClient = (client: RedisConnection): client is Cluster => client.isCluster

/** Where a user's client connects, without credentials. */
const labelOf = (client: RedisConnection): string => {
  if (isClusterClient(client)) return "redis cluster (caller's ioredis Cluster)"
  const { host, port, tls, db } = client.options
  return `${tls === undefined ? "redis" : "rediss"}://${host ?? "127.0.0.1"}:${port ?? 6379}${
    db === undefined || db === 0 ? "" : `/${db}`
  } (caller's ioredis client)`
}

const secretsOf = (client: RedisConnection): ReadonlyArray<string> => {
  const password = isClusterClient(client) ? client.options.redisOptions?.password : client.options.password
  return typeof password === "string" && password.length > 0 ? [password] : []
}

/** A second connection like the caller's, with an offline queue (for subscribers); ours to close. */
const duplicateOf = (client: RedisConnection): RedisConnection =>
  isClusterClient(client)
    ? client.duplicate(undefined, { enableOfflineQueue: true })
    : client.duplicate({ enableOfflineQueue: true, maxRetriesPerRequest: null, lazyConnect: false })

/**
 * The service over an ioredis `Redis` or `Cluster` the caller created and
 * configured. The caller owns it: closing the scope neither quits nor
 * disconnects it (only the subscriber connection that `duplicate` opens is
 * closed). Calls are bounded by `commandTimeout` and fail with typed,
 * password-scrubbed `BackendError`s, as with {@link make}; the client's own
 * retry and offline-queue settings apply underneath.
 *
 * @example
 * ```ts
 * import { RedisClient } from "@dogpile-effect/redis"
 * import { Effect } from "effect"
 * import { Redis } from "ioredis"
 *
 * const mine = new Redis({ port: 6379, enableOfflineQueue: false })
 * const program = Effect.scoped(Effect.gen(function*() {
 *   const redis = yield* RedisClient.fromClient(mine)
 *   return yield* redis.use("ping", (client) => client.ping())
 * }))
 * ```
 *
 * @category constructors
 * @since 0.1.0
 */
export const fromClient = (
  client: RedisConnection,
  options: FromClientOptions = {}
): Effect.Effect<RedisClient["Service"], InvalidOptionError, Scope.Scope> =>
  Effect.gen(function*() {
    const own = isClusterClient(client) ? client.options.redisOptions?.commandTimeout : client.options.commandTimeout
    const commandTimeoutMs = yield* Options.millisOr("RedisClient", "commandTimeout", options.commandTimeout, own ?? 1_000)
    const health = yield* Effect.acquireRelease(
      Effect.sync(() => ConnectionHealth.watch(client, ClientService.silenceOf(client, commandTimeoutMs))),
      (watched) => Effect.sync(watched.unwatch)
    )
    return ClientService.build({
      client,
      health,
      isCluster: client.isCluster,
      label: labelOf(client),
      secrets: secretsOf(client),
      commandTimeoutMs,
      db: isClusterClient(client) ? undefined : client.options.db,
      duplicate: Effect.map(ClientService.open(() => duplicateOf(client)), (opened) => opened.client)
    })
  })

/**
 * {@link fromClient} as a Layer: a RedisClient over the caller's own ioredis
 * `Redis` or `Cluster`, which the Layer never closes.
 *
 * @example
 * ```ts
 * import { Codec } from "@dogpile-effect/core"
 * import { RedisBackend, RedisClient, RedisLock } from "@dogpile-effect/redis"
 * import { Layer } from "effect"
 * import { Cluster } from "ioredis"
 *
 * const cluster = new Cluster([{ host: "10.0.0.1", port: 7000 }])
 * const CacheLive = Layer.mergeAll(RedisBackend.layer(), RedisLock.layer(), Codec.layerJson).pipe(
 *   Layer.provide(RedisClient.layerFrom(cluster))
 * )
 * ```
 *
 * @category layers
 * @since 0.1.0
 */
export const layerFrom = (
  client: RedisConnection,
  options: FromClientOptions = {}
): Layer.Layer<RedisClient, InvalidOptionError> => Layer.effect(RedisClient, fromClient(client, options))

/**
 * The RedisClient as a Layer: the connection lives as long as the Layer.
 *
 * @example
 * ```ts
 * import { RedisClient } from "@dogpile-effect/redis"
 * import { Redacted } from "effect"
 *
 * const RedisLive = RedisClient.layer({
 *   url: Redacted.make("rediss://cache:secret@redis.internal:6380/0"),
 *   commandTimeout: "500 millis"
 * })
 * ```
 *
 * @since 0.1.0
 */
export const layer = (options: RedisClientOptions = {}): Layer.Layer<RedisClient, InvalidOptionError | BackendError> =>
  Layer.effect(RedisClient, make(options))

/**
 * The RedisClient from `Config`, as Effect's own services take it
 * (`NodeRedis.layerConfig`): a `Config` per option (nested for `sentinel`),
 * or one `Config` of them all; without an argument, `defaultConfig`.
 * A missing variable leaves its option at the default (`REDIS_URL` unset:
 * `redis://127.0.0.1:6379`); one that does not parse fails with a
 * `ConfigError` naming it; a value the client rejects fails with the
 * `InvalidOptionError` {@link layer} gives, naming the variable and never
 * repeating a URL or password. Read URLs and passwords with `Config.Redacted`.
 *
 * @example
 * ```ts
 * import { RedisClient } from "@dogpile-effect/redis"
 * import { Config } from "effect"
 *
 * const RedisLive = RedisClient.layerConfig({
 *   url: Config.Redacted("CACHE_REDIS_URL"),
 *   commandTimeout: Config.Duration("CACHE_REDIS_TIMEOUT"),
 *   tls: Config.Boolean("CACHE_REDIS_TLS")
 * })
 * const Legacy = RedisClient.layerConfig() // REDIS_URL, REDIS_PASSWORD, REDIS_CLUSTER, REDIS_COMMAND_TIMEOUT_MS
 * ```
 *
 * @category layers
 * @since 0.1.0
 */
export const layerConfig = (
  config: Config.Wrap<RedisClientOptions> = ClientSettings.defaultConfig
): Layer.Layer<RedisClient, InvalidOptionError | BackendError | Config.ConfigError> =>
  Layer.effect(RedisClient, ConfigOptions.build(config, make))
