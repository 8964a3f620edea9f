/**
 * The ioredis connection behind the Redis backend and lock, as an Effect
 * service whose lifetime is the Layer's scope.
 *
 * @since 0.1.0
 */
import { BackendError } from "@dogpile-effect/core"
import { Cluster, Redis, type RedisOptions } from "ioredis"
import type { ConnectionOptions } from "node:tls"
import { Config, Context, Duration, Effect, Layer, Option, Predicate, Redacted, type Scope } from "effect"

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
   */
  readonly url?: string | Redacted.Redacted<string>
  /** Connect to a Redis Cluster (also implied by `nodes`). */
  readonly cluster?: boolean
  /** Cluster startup nodes; overrides the URL's host. */
  readonly nodes?: ReadonlyArray<RedisNode>
  readonly username?: string
  /** Overrides the URL's password. Never logged. */
  readonly password?: Redacted.Redacted<string>
  /** Database index (standalone only). */
  readonly db?: number
  /** TLS: `true` (implied by `rediss://`) or Node TLS options. */
  readonly tls?: boolean | ConnectionOptions
  /**
   * Upper bound of one command: a silent server fails it with `BackendError`
   * after this long. Default 1 second.
   */
  readonly commandTimeout?: Duration.Input
  /** Bound on establishing a connection, and on waiting for it when the Layer is built. Default 1 second. */
  readonly connectTimeout?: Duration.Input
  /** Longest wait between reconnection attempts (they back off from 50 ms up to this). Default 1 second. */
  readonly maxReconnectDelay?: Duration.Input
  /** ioredis auto-pipelining (all commands of one tick in one write). Default `true`. */
  readonly autoPipelining?: boolean
  /** `CLIENT SETNAME` of the connection. */
  readonly connectionName?: string
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
  run(keys: ReadonlyArray<string>, args: ReadonlyArray<string | number | Buffer>): Effect.Effect<unknown, BackendError>
  /** Runs the script; bulk-string replies as `Buffer`. */
  runBuffer(
    keys: ReadonlyArray<string>,
    args: ReadonlyArray<string | number | Buffer>
  ): Effect.Effect<unknown, BackendError>
}

/**
 * The RedisClient service: one ioredis client (standalone or Cluster) with
 * fail-fast settings — no offline queue, no retries of in-flight commands, a
 * command timeout — while it keeps reconnecting in the background, so calls
 * fail with a typed {@link BackendError} within a bounded time while Redis is
 * down and succeed again once it is back, without rebuilding the Layer.
 *
 * Building blocks for other Redis stores (such as `@dogpile-effect/hstore`):
 * - `use(operation, f)` runs raw ioredis calls; a rejection becomes a
 *   `BackendError` naming `operation`, with any password scrubbed.
 * - `script(name, lua, numberOfKeys)` registers a Lua script once.
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
  /** Whether the connection is ready right now. */
  readonly isReady: Effect.Effect<boolean>
  use<A>(operation: string, f: (client: RedisConnection) => Promise<A>): Effect.Effect<A, BackendError>
  /** The `BackendError` that `use` would report for `cause` (for callers that drive ioredis promises themselves). */
  toError(operation: string, cause: unknown): BackendError
  script(name: string, lua: string, numberOfKeys: number): RedisScript
  /** A second connection with the same settings (offline queue on, for subscribers), closed with the scope. */
  readonly duplicate: Effect.Effect<RedisConnection, never, Scope.Scope>
}>()("@dogpile-effect/redis/RedisClient") {}

const DEFAULT_URL = "redis://127.0.0.1:6379"

interface Endpoint {
  readonly host: string
  readonly port: number
  readonly tls: boolean
  readonly username: string | undefined
  readonly password: string | undefined
  readonly db: number | undefined
}

const parseEndpoint = (raw: string): Endpoint => {
  const url = new URL(raw.trim())
  if (url.protocol !== "redis:" && url.protocol !== "rediss:") {
    throw new TypeError(`RedisClient: unsupported URL scheme ${JSON.stringify(url.protocol)} (use redis:// or rediss://)`)
  }
  const path = url.pathname.replace(/^\//, "")
  const db = path.length === 0 ? undefined : Number(path)
  if (db !== undefined && !Number.isInteger(db)) throw new TypeError("RedisClient: the URL path must be a database number")
  return {
    host: url.hostname.length === 0 ? "127.0.0.1" : url.hostname.replace(/^\[|\]$/g, ""),
    port: url.port.length === 0 ? 6379 : Number(url.port),
    tls: url.protocol === "rediss:",
    username: url.username.length === 0 ? undefined : decodeURIComponent(url.username),
    password: url.password.length === 0 ? undefined : decodeURIComponent(url.password),
    db
  }
}

const millis = (input: Duration.Input | undefined, fallback: number): number =>
  input === undefined ? fallback : Duration.toMillis(Duration.fromInputUnsafe(input))

/** Replaces every occurrence of the secret in a message. */
const scrub = (message: string, secrets: ReadonlyArray<string>): string =>
  secrets.reduce((text, secret) => (secret.length === 0 ? text : text.split(secret).join("<redacted>")), message)

/** Resolved connection settings (the password stays inside the closure of `make`). */
interface Settings {
  readonly isCluster: boolean
  readonly endpoints: ReadonlyArray<Endpoint>
  readonly label: string
  readonly secrets: ReadonlyArray<string>
  /** A new connection; a subscriber keeps an offline queue and waits for reconnection instead of failing fast. */
  readonly create: (subscriber?: boolean) => RedisConnection
  readonly connectTimeoutMs: number
}

const resolve = (options: RedisClientOptions): Settings => {
  const rawUrl = options.url === undefined
    ? DEFAULT_URL
    : Redacted.isRedacted(options.url)
    ? Redacted.value(options.url)
    : options.url
  const endpoints = rawUrl.split(",").map(parseEndpoint)
  // The list is non-empty: split always returns at least one element.
  const first = endpoints[0] as Endpoint
  const isCluster = options.cluster === true || options.nodes !== undefined
  const nodes: ReadonlyArray<RedisNode> = options.nodes ?? endpoints.map(({ host, port }) => ({ host, port }))
  const password = options.password === undefined ? first.password : Redacted.value(options.password)
  const username = options.username ?? first.username
  const useTls = options.tls ?? first.tls
  const tls: ConnectionOptions | undefined = useTls === false ? undefined : useTls === true ? {} : useTls
  const commandTimeout = millis(options.commandTimeout, 1_000)
  const connectTimeout = millis(options.connectTimeout, 1_000)
  const maxDelay = millis(options.maxReconnectDelay, 1_000)
  const retryStrategy = (times: number) => Math.min(50 * 2 ** Math.min(times - 1, 10), maxDelay)
  const scheme = tls === undefined ? "redis" : "rediss"
  const label = `${scheme}://${nodes.map((node) => `${node.host}:${node.port}`).join(",")}${isCluster ? " (cluster)" : ""}`

  const common = {
    commandTimeout,
    connectTimeout,
    maxRetriesPerRequest: 0,
    // A cache never waits for a missing server: a command fails at once when
    // the connection is down, while reconnection goes on in the background.
    autoResendUnfulfilledCommands: false,
    ...(username === undefined ? {} : { username }),
    ...(password === undefined ? {} : { password }),
    ...(tls === undefined ? {} : { tls }),
    ...(options.connectionName === undefined ? {} : { connectionName: options.connectionName })
  } satisfies RedisOptions

  const db = options.db ?? first.db
  const create = (subscriber = false): RedisConnection => {
    const perCommand = subscriber ? { ...common, maxRetriesPerRequest: null } : common
    if (isCluster) {
      return new Cluster(nodes.map(({ host, port }) => ({ host, port })), {
        enableOfflineQueue: subscriber,
        enableAutoPipelining: options.autoPipelining ?? true,
        clusterRetryStrategy: retryStrategy,
        redisOptions: perCommand
      })
    }
    return new Redis({
      ...perCommand,
      host: first.host,
      port: first.port,
      ...(db === undefined ? {} : { db }),
      enableOfflineQueue: subscriber,
      enableAutoPipelining: options.autoPipelining ?? true,
      retryStrategy
    })
  }

  return {
    isCluster,
    endpoints,
    label,
    secrets: [password, rawUrl].filter(Predicate.isString),
    create,
    connectTimeoutMs: connectTimeout
  }
}

/** Resolves when the connection is ready, or after `timeoutMs` (false). Live time: this bounds real I/O. */
const awaitReady = (client: RedisConnection, timeoutMs: number): Effect.Effect<boolean> =>
  Effect.callback<boolean>((resume) => {
    if (client.status === "ready") return resume(Effect.succeed(true))
    const onReady = () => finish(true)
    const timer = setTimeout(() => finish(false), timeoutMs)
    function finish(ready: boolean) {
      clearTimeout(timer)
      client.off("ready", onReady)
      resume(Effect.succeed(ready))
    }
    client.on("ready", onReady)
    return Effect.sync(() => {
      clearTimeout(timer)
      client.off("ready", onReady)
    })
  })

/** Closes a connection: QUIT when connected (bounded), otherwise disconnect. */
const close = (client: RedisConnection): Effect.Effect<void> =>
  Effect.promise(() =>
    client.status === "ready"
      ? Promise.race([client.quit().then(() => undefined, () => undefined), new Promise<void>((r) => setTimeout(r, 500))])
      : Promise.resolve()
  ).pipe(Effect.ensuring(Effect.sync(() => client.disconnect(false))))

/** ioredis methods added by `defineCommand`, looked up by name. */
type ScriptMethod = (...args: ReadonlyArray<string | number | Buffer>) => Promise<unknown>

/**
 * Builds the service in a scope: connects (waiting up to `connectTimeout` for
 * the first connection; if Redis is not reachable yet, it logs a warning and
 * keeps connecting in the background) and disconnects when the scope closes.
 *
 * @since 0.1.0
 */
export const make = (options: RedisClientOptions = {}): Effect.Effect<RedisClient["Service"], never, Scope.Scope> =>
  Effect.gen(function*() {
    const settings = resolve(options)
    const { label, secrets } = settings
    const toError = (operation: string, cause: unknown): BackendError => {
      const raw = cause instanceof Error ? cause.message : String(cause)
      const reason = scrub(raw, secrets)
      return new BackendError({
        backend: "redis",
        operation,
        reason: `${reason} [${label}]`,
        // The original error is kept only when it cannot carry a secret.
        ...(reason === raw && cause instanceof Error ? { cause } : {})
      })
    }
    const open = Effect.acquireRelease(
      Effect.sync(() => {
        const client = settings.create()
        // Without a listener ioredis prints connection errors (with their
        // address) to the console; failures surface as BackendError instead.
        client.on("error", () => {})
        return client
      }),
      close
    )
    const client = yield* open
    const ready = yield* awaitReady(client, settings.connectTimeoutMs)
    if (!ready) {
      yield* Effect.logWarning(`dogpile: Redis at ${label} is not reachable yet; calls fail until it is`)
    }

    const use = <A>(operation: string, f: (client: RedisConnection) => Promise<A>): Effect.Effect<A, BackendError> =>
      Effect.tryPromise({ try: () => f(client), catch: (cause) => toError(operation, cause) })

    const defined = new Set<string>()
    const script = (name: string, lua: string, numberOfKeys: number): RedisScript => {
      if (!defined.has(name)) {
        client.defineCommand(name, { lua, numberOfKeys })
        defined.add(name)
      }
      const call = (method: string, keys: ReadonlyArray<string>, args: ReadonlyArray<string | number | Buffer>) =>
        use(name, (c) => {
          // `defineCommand` added `method` to the client at runtime.
          const fn = (c as unknown as Record<string, ScriptMethod>)[method] as ScriptMethod
          return fn.call(c, ...keys, ...args)
        })
      return {
        name,
        run: (keys, args) => call(name, keys, args),
        runBuffer: (keys, args) => call(`${name}Buffer`, keys, args)
      }
    }

    const duplicate = Effect.acquireRelease(
      Effect.sync(() => {
        const copy = settings.create(true)
        copy.on("error", () => {})
        return copy
      }),
      close
    )

    return RedisClient.of({
      client,
      isCluster: settings.isCluster,
      label,
      isReady: Effect.sync(() => client.status === "ready"),
      use,
      toError,
      script,
      duplicate
    })
  })

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
export const layer = (options: RedisClientOptions = {}): Layer.Layer<RedisClient> => Layer.effect(RedisClient, make(options))

/**
 * The RedisClient from configuration:
 * - `REDIS_URL` (redacted; default `redis://127.0.0.1:6379`; `rediss://` for TLS),
 * - `REDIS_PASSWORD` (redacted, optional; overrides the URL's),
 * - `REDIS_CLUSTER` (boolean, default false),
 * - `REDIS_COMMAND_TIMEOUT_MS` (integer, default 1000).
 * Explicit `options` fill in the rest.
 *
 * @example
 * ```ts
 * import { RedisClient } from "@dogpile-effect/redis"
 * const RedisLive = RedisClient.layerConfig()
 * ```
 *
 * @since 0.1.0
 */
export const layerConfig = (options: RedisClientOptions = {}) =>
  Layer.unwrap(
    Effect.gen(function*() {
      const url = yield* Config.Redacted("REDIS_URL").pipe(Config.withDefault(Redacted.make(DEFAULT_URL)))
      const password = yield* Config.option(Config.Redacted("REDIS_PASSWORD"))
      const cluster = yield* Config.Boolean("REDIS_CLUSTER").pipe(Config.withDefault(false))
      const timeout = yield* Config.option(Config.Int("REDIS_COMMAND_TIMEOUT_MS"))
      return layer({
        ...options,
        url,
        cluster: options.cluster ?? cluster,
        ...(Option.isSome(password) ? { password: password.value } : {}),
        ...(Option.isSome(timeout) ? { commandTimeout: Duration.millis(timeout.value) } : {})
      })
    })
  )
