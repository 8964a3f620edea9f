/**
 * Validation of `RedisClient` options into the ioredis settings of a
 * fail-fast connection. Every problem is an `InvalidOptionError`, raised when
 * the Layer is built, before any I/O. Also the configuration
 * `RedisClient.layerConfig` reads by default.
 *
 * @since 0.1.0
 */
import { InvalidOptionError, Options } from "@dogpile-effect/core"
import { Cluster, type ClusterOptions, Redis, type RedisOptions } from "ioredis"
import type { ConnectionOptions } from "node:tls"
import { Config, Effect, Predicate, Redacted } from "effect"
import { GuardedConnector } from "./ConnectionHealth.ts"
import type { RedisClientOptions, RedisConnection, RedisNode } from "./RedisClient.ts"
import * as RedisUrl from "./RedisUrl.ts"

/**
 * What `RedisClient.layerConfig` reads when given nothing, the environment names
 * of earlier releases: `REDIS_URL` (redacted), `REDIS_PASSWORD` (redacted;
 * overrides the URL's), `REDIS_CLUSTER` (boolean) and
 * `REDIS_COMMAND_TIMEOUT_MS` (integer milliseconds). Spread it to add options.
 *
 * @example
 * ```ts
 * import { RedisClient } from "@dogpile-effect/redis"
 * import { Config } from "effect"
 * const RedisLive = RedisClient.layerConfig({ ...RedisClient.defaultConfig, connectionName: Config.String("APP_NAME") })
 * ```
 *
 * @category config
 * @since 0.1.0
 */
export const defaultConfig = {
  url: Config.Redacted("REDIS_URL"),
  password: Config.Redacted("REDIS_PASSWORD"),
  cluster: Config.Boolean("REDIS_CLUSTER"),
  commandTimeout: Config.Int("REDIS_COMMAND_TIMEOUT_MS")
} satisfies Config.Wrap<RedisClientOptions>

const COMPONENT = "RedisClient"
const DEFAULT_URL = "redis://127.0.0.1:6379"

/**
 * Resolved connection settings. The secrets stay inside this value (for
 * scrubbing messages); nothing here is logged.
 *
 * @category models
 * @since 0.1.0
 */
export interface Settings {
  readonly isCluster: boolean
  /** Where it connects, without credentials. */
  readonly label: string
  /** Texts that must never appear in a message (password, raw URL). */
  readonly secrets: ReadonlyArray<string>
  /** A new connection; a subscriber keeps an offline queue and waits for reconnection instead of failing fast. */
  readonly create: (subscriber?: boolean) => RedisConnection
  readonly connectTimeoutMs: number
  readonly commandTimeoutMs: number
  /** The database index asked for (standalone), when one was. */
  readonly db: number | undefined
}

const invalid = (option: string, reason: string) =>
  Effect.fail(new InvalidOptionError({ component: COMPONENT, option, reason }))

const boolean = (option: string, input: unknown): Effect.Effect<boolean | undefined, InvalidOptionError> =>
  input === undefined || typeof input === "boolean"
    ? Effect.succeed(input)
    : invalid(option, `must be a boolean, got ${typeof input}`)

const rawUrlOf = (url: RedisClientOptions["url"]): Effect.Effect<string, InvalidOptionError> => {
  if (url === undefined) return Effect.succeed(DEFAULT_URL)
  const raw = Redacted.isRedacted(url) ? Redacted.value(url) : url
  return typeof raw === "string" ? Effect.succeed(raw) : invalid("url", `must be a string, got ${typeof raw}`)
}

const validNode = (option: string) => (node: RedisNode, i: number): Effect.Effect<RedisNode, InvalidOptionError> => {
  if (typeof node?.host !== "string" || node.host.length === 0) {
    return invalid(option, `entry ${i} needs a non-empty host`)
  }
  return Effect.as(Options.integer(COMPONENT, `${option}[${i}].port`, node.port, 0, { min: 1, max: 65535 }), node)
}

const nodesOf = (nodes: ReadonlyArray<RedisNode> | undefined, option = "nodes") =>
  nodes === undefined
    ? Effect.succeed(undefined)
    : !Array.isArray(nodes) || nodes.length === 0
    ? invalid(option, "must be a non-empty array of { host, port }")
    : Effect.forEach(nodes, validNode(option))

const tlsOf = (input: unknown, fromUrl: boolean): Effect.Effect<ConnectionOptions | undefined, InvalidOptionError> => {
  if (input === undefined) return Effect.succeed(fromUrl ? {} : undefined)
  if (input === true) return Effect.succeed({})
  if (input === false) return Effect.succeed(undefined)
  if (typeof input === "object" && input !== null) return Effect.succeed(input as ConnectionOptions)
  return invalid("tls", "must be a boolean or Node TLS connection options")
}

const passwordOf = (input: unknown, fromUrl: Redacted.Redacted<string> | undefined, option = "password") => {
  if (input === undefined) return Effect.succeed(fromUrl === undefined ? undefined : Redacted.value(fromUrl))
  if (Redacted.isRedacted(input) && typeof Redacted.value(input) === "string") {
    return Effect.succeed(Redacted.value(input) as string)
  }
  return invalid(option, "must be a Redacted string (Redacted.make(...))")
}

const connectionNameOf = (input: unknown) =>
  input === undefined
    ? Effect.succeed(undefined)
    : typeof input !== "string" || input.length === 0 || /\s/.test(input)
    ? invalid("connectionName", "must be a non-empty string without spaces or newlines (CLIENT SETNAME rules)")
    : Effect.succeed(input)

const usernameOf = (input: unknown, fromUrl: string | undefined, option = "username") =>
  input === undefined
    ? Effect.succeed(fromUrl)
    : typeof input !== "string" || input.length === 0
    ? invalid(option, "must be a non-empty string")
    : Effect.succeed(input)

const dbOf = (input: number | undefined, fromUrl: number | undefined, isCluster: boolean) =>
  Effect.gen(function*() {
    const db = input === undefined
      ? fromUrl
      : yield* Options.integer(COMPONENT, "db", input, 0, { min: 0, max: 2 ** 31 - 1 })
    if (isCluster && db !== undefined && db !== 0) {
      return yield* invalid("db", `must be 0 on a Redis Cluster (it has one database), got ${db}`)
    }
    return db
  })

/**
 * Validates the options and prepares the ioredis constructors.
 *
 * @example
 * ```ts
 * import { ClientSettings } from "@dogpile-effect/redis"
 * import { Effect } from "effect"
 * const settings = Effect.runSync(ClientSettings.resolve({ url: "redis://127.0.0.1:6379/2" }))
 * settings.db // 2
 * ```
 *
 * @category constructors
 * @since 0.1.0
 */
/** A Sentinel deployment to connect through: validated, its password in clear for ioredis only. */
interface Sentinel {
  readonly name: string
  readonly nodes: ReadonlyArray<RedisNode>
  readonly username: string | undefined
  readonly password: string | undefined
}

/** The Sentinel settings from the `sentinel` option and/or a `redis+sentinel://` URL (the option wins), if any. */
const sentinelOf = (
  input: RedisClientOptions["sentinel"],
  fromUrl: RedisUrl.SentinelEndpoint | undefined
): Effect.Effect<Sentinel | undefined, InvalidOptionError> =>
  Effect.gen(function*() {
    if (input === undefined && fromUrl === undefined) return undefined
    if (input !== undefined && (typeof input !== "object" || input === null)) {
      return yield* invalid("sentinel", "must be { name, nodes, username?, password? }")
    }
    const name = input?.name ?? fromUrl?.name
    if (typeof name !== "string" || name.length === 0 || /\s/.test(name)) {
      return yield* invalid("sentinel.name", "must be the master group's name: a non-empty string without spaces")
    }
    const nodes = input?.nodes === undefined ? fromUrl?.sentinels : yield* nodesOf(input.nodes, "sentinel.nodes")
    if (nodes === undefined) return yield* invalid("sentinel.nodes", "must list at least one Sentinel { host, port }")
    const username = yield* usernameOf(input?.username, undefined, "sentinel.username")
    const password = input?.password === undefined ? undefined : yield* passwordOf(input.password, undefined, "sentinel.password")
    return { name, nodes, username, password }
  })

/** The data nodes' credentials, TLS and database of a `redis+sentinel://` URL, as an endpoint. */
const sentinelEndpoint = (url: RedisUrl.SentinelEndpoint): RedisUrl.Endpoint => ({
  host: "",
  port: 0,
  tls: url.tls,
  username: url.username,
  password: url.password,
  db: url.db
})

export const resolve = (options: RedisClientOptions): Effect.Effect<Settings, InvalidOptionError> =>
  Effect.gen(function*() {
    const rawUrl = yield* rawUrlOf(options.url)
    const sentinelUrl = RedisUrl.isSentinel(rawUrl) ? yield* RedisUrl.parseSentinel(rawUrl) : undefined
    const sentinel = yield* sentinelOf(options.sentinel, sentinelUrl)
    const endpoints = sentinelUrl === undefined ? yield* RedisUrl.parseList(rawUrl) : [sentinelEndpoint(sentinelUrl)]
    const first = endpoints[0] as RedisUrl.Endpoint
    const cluster = yield* boolean("cluster", options.cluster)
    const nodesOption = yield* nodesOf(options.nodes)
    if (cluster === false && nodesOption !== undefined) {
      return yield* invalid("nodes", "are Cluster startup nodes: they contradict cluster: false")
    }
    const isCluster = cluster === true || nodesOption !== undefined
    if (sentinel !== undefined && isCluster) {
      return yield* invalid("sentinel", "a Sentinel deployment is not a Cluster: drop cluster / nodes")
    }
    if (!isCluster && endpoints.length > 1) {
      return yield* invalid("url", `lists ${endpoints.length} servers: that needs cluster: true`)
    }
    const nodes = nodesOption ?? endpoints.map(({ host, port }) => ({ host, port }))
    const password = yield* passwordOf(options.password, first.password)
    const username = yield* usernameOf(options.username, first.username)
    const tls = yield* tlsOf(options.tls, first.tls)
    const db = yield* dbOf(options.db, first.db, isCluster)
    const commandTimeoutMs = yield* Options.millisOr(COMPONENT, "commandTimeout", options.commandTimeout, 1_000)
    const connectTimeoutMs = yield* Options.millisOr(COMPONENT, "connectTimeout", options.connectTimeout, 1_000)
    const maxDelayMs = yield* Options.millisOr(COMPONENT, "maxReconnectDelay", options.maxReconnectDelay, 1_000)
    const autoPipelining = (yield* boolean("autoPipelining", options.autoPipelining)) ?? true
    const connectionName = yield* connectionNameOf(options.connectionName)

    const retryStrategy = (times: number) => Math.min(50 * 2 ** Math.min(times - 1, 10), maxDelayMs)
    const scheme = tls === undefined ? "redis" : "rediss"
    const where = nodes.map((node) => `${node.host}:${node.port}`).join(",")
    const dbPath = !isCluster && db !== undefined && db !== 0 ? `/${db}` : ""
    const label = sentinel !== undefined
      ? `${scheme}+sentinel://${sentinel.nodes.map((node) => `${node.host}:${node.port}`).join(",")}/${sentinel.name}${dbPath}`
      : `${scheme}://${where}${dbPath}${isCluster ? " (cluster)" : ""}`
    const common = {
      commandTimeout: Math.ceil(commandTimeoutMs),
      connectTimeout: Math.ceil(connectTimeoutMs),
      maxRetriesPerRequest: 0,
      // A cache never waits for a missing server: a command fails at once when
      // the connection is down, while reconnection goes on in the background.
      autoResendUnfulfilledCommands: false,
      Connector: GuardedConnector,
      ...(username === undefined ? {} : { username }),
      ...(password === undefined ? {} : { password }),
      ...(tls === undefined ? {} : { tls }),
      ...(connectionName === undefined ? {} : { connectionName })
    } satisfies RedisOptions

    /**
     * A client of the primary the Sentinels name: ioredis' Sentinel connector (not the guarded one), which asks
     * them again at each reconnection and, with `failoverDetector`, drops the connection at `+switch-master`.
     */
    const sentinelClient = (sentinel: Sentinel, subscriber: boolean): RedisConnection => {
      const { Connector: _connector, commandTimeout, ...rest } = common
      return new Redis({
        ...rest,
        ...(subscriber ? { commandTimeout, maxRetriesPerRequest: null } : {}),
        sentinels: sentinel.nodes.map(({ host, port }) => ({ host, port })),
        name: sentinel.name,
        role: "master",
        failoverDetector: true,
        sentinelCommandTimeout: Math.ceil(commandTimeoutMs),
        sentinelRetryStrategy: retryStrategy,
        ...(sentinel.username === undefined ? {} : { sentinelUsername: sentinel.username }),
        ...(sentinel.password === undefined ? {} : { sentinelPassword: sentinel.password }),
        ...(db === undefined ? {} : { db }),
        enableOfflineQueue: subscriber,
        enableAutoPipelining: autoPipelining,
        retryStrategy
      })
    }

    const create = (subscriber = false): RedisConnection => {
      const perCommand = subscriber ? { ...common, maxRetriesPerRequest: null } : common
      if (isCluster) {
        const clusterOptions = {
          enableOfflineQueue: subscriber,
          enableAutoPipelining: autoPipelining,
          clusterRetryStrategy: retryStrategy,
          // Re-read the slot map every 5 s (ioredis never does by default), so a
          // stale map heals even where ioredis does not follow MOVED (write pipelines).
          slotsRefreshInterval: 5_000,
          slotsRefreshTimeout: Math.max(100, Math.ceil(Math.min(commandTimeoutMs, connectTimeoutMs))),
          redisOptions: perCommand
        } satisfies ClusterOptions
        return new Cluster(nodes.map(({ host, port }) => ({ host, port })), clusterOptions)
      }
      if (sentinel !== undefined) return sentinelClient(sentinel, subscriber)
      // The service bounds every call itself: without ioredis' own timeout a late reply still settles its
      // command, which tells the silence tracker (ServerSilence) that the server answers again.
      const { commandTimeout: _bound, ...unbounded } = perCommand
      return new Redis({
        ...(subscriber ? perCommand : unbounded),
        host: first.host,
        port: first.port,
        ...(db === undefined ? {} : { db }),
        enableOfflineQueue: subscriber,
        enableAutoPipelining: autoPipelining,
        retryStrategy
      })
    }

    return {
      isCluster,
      label,
      secrets: [password, sentinel?.password, rawUrl].filter(Predicate.isString),
      create,
      connectTimeoutMs,
      commandTimeoutMs,
      db
    }
  })
