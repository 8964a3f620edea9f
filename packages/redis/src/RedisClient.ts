/**
 * The ioredis connection behind the Redis backend and lock, as an Effect
 * service whose lifetime is the Layer's scope.
 *
 * @since 0.1.0
 */
import { BackendError, type InvalidOptionError } from "@dogpile-effect/core"
import type { Cluster, Redis } from "ioredis"
import type { ConnectionOptions } from "node:tls"
import { Config, Context, Duration, Effect, Layer, Option, Redacted, type Scope } from "effect"
import * as ClientSettings from "./ClientSettings.ts"
import * as ConnectionHealth from "./ConnectionHealth.ts"

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
   * the URL).
   */
  readonly url?: string | Redacted.Redacted<string>
  /** Connect to a Redis Cluster (also implied by `nodes`). */
  readonly cluster?: boolean
  /** Cluster startup nodes; overrides the URL's host. */
  readonly nodes?: ReadonlyArray<RedisNode>
  readonly username?: string
  /** Overrides the URL's password. Never logged. */
  readonly password?: Redacted.Redacted<string>
  /**
   * Database index (overrides the URL's `/db`). A Cluster has only database
   * 0: anything else is an `InvalidOptionError`. A database the server does
   * not have fails the Layer (or every call, if found at a reconnection).
   */
  readonly db?: number
  /** TLS: `true` (implied by `rediss://`) or Node TLS options. */
  readonly tls?: boolean | ConnectionOptions
  /**
   * Upper bound of one command, from the call to its answer (however long
   * ioredis keeps it queued): a silent server fails it with `BackendError`
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
  script(name: string, lua: string, numberOfKeys: number): RedisScript
  /** A second connection with the same settings (offline queue on, for subscribers), closed with the scope. */
  readonly duplicate: Effect.Effect<RedisConnection, never, Scope.Scope>
}>()("@dogpile-effect/redis/RedisClient") {}

/** Options of a single call of {@link RedisClient} `use` or a script's `run`. */
export interface CallOptions {
  /**
   * A tighter bound than the client's `commandTimeout` for this call, in
   * milliseconds (e.g. what is left of a caller's deadline). Never looser.
   */
  readonly timeoutMillis?: number
}

/** Replaces every occurrence of a secret in a message. */
const scrub = (message: string, secrets: ReadonlyArray<string>): string =>
  secrets.reduce((text, secret) => (secret.length === 0 ? text : text.split(secret).join("<redacted>")), message)

/**
 * Settles with the promise, or rejects after `ms` of real time: the bound
 * holds however long ioredis keeps the command queued (behind an
 * auto-pipeline still waiting for a silent server, a slot refresh, ...).
 * Real time, not the Effect Clock: it bounds real I/O.
 */
const withDeadline = <A>(promise: Promise<A>, ms: number, signal?: AbortSignal): Promise<A> =>
  new Promise<A>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`Command timed out after ${Math.round(ms)} ms`)), ms)
    const done = () => clearTimeout(timer)
    signal?.addEventListener("abort", done, { once: true })
    promise.then((value) => {
      done()
      resolve(value)
    }, (error: unknown) => {
      done()
      reject(error)
    })
  })

/** Replies after which a Cluster's slot map may be stale: ask ioredis to re-read it (coalesced by ioredis). */
const STALE_MAP = /^(MOVED|ASK|CLUSTERDOWN|TRYAGAIN)\b|Connection is closed|Stream isn't writeable|Command timed out/

/** At most one slot-map refresh per this many milliseconds, however many calls fail. */
const REFRESH_EVERY_MS = 250

const slotRefresher = (cluster: Cluster) => {
  let last = 0
  return (cause: unknown): void => {
    const message = cause instanceof Error ? cause.message : String(cause)
    const now = Date.now()
    if (!STALE_MAP.test(message) || now - last < REFRESH_EVERY_MS) return
    last = now
    cluster.refreshSlotsCache()
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

/** What {@link build} needs, whoever created the connection. */
interface Parts {
  readonly client: RedisConnection
  readonly isCluster: boolean
  readonly label: string
  readonly secrets: ReadonlyArray<string>
  readonly commandTimeoutMs: number
  readonly health: ConnectionHealth.Health
  readonly db: number | undefined
  readonly duplicate: Effect.Effect<RedisConnection, never, Scope.Scope>
}

/** The service over a connection, with typed, scrubbed, deadline-bounded calls. */
const build = (parts: Parts): RedisClient["Service"] => {
  const { client, label, secrets, health } = parts
  const toError = (operation: string, cause: unknown): BackendError => {
    const raw = cause instanceof Error ? cause.message : String(cause)
    const last = health.lastError()
    const explained = ConnectionHealth.isNotConnected(raw) && last !== undefined ? `not connected: ${last}` : raw
    const reason = scrub(explained, secrets)
    // A fresh Error: ioredis errors may carry the command's arguments (AUTH) and URL errors their input.
    const code = typeof cause === "object" && cause !== null && "code" in cause ? String(cause.code) : undefined
    const safe = Object.assign(new Error(reason), code === undefined ? {} : { code })
    return new BackendError({ backend: "redis", operation, reason: `${reason} [${label}]`, cause: safe })
  }
  const refusedDb = (operation: string): BackendError | undefined => {
    const refused = health.dbRefused()
    if (refused === undefined) return undefined
    return toError(operation, `database ${parts.db ?? 0} refused by the server (${refused}); nothing is read or written elsewhere`)
  }
  const boundOf = (options?: CallOptions) =>
    Math.max(1, Math.min(parts.commandTimeoutMs, options?.timeoutMillis ?? Number.POSITIVE_INFINITY))
  const refresh = parts.isCluster ? slotRefresher(client as Cluster) : undefined
  const deadline = <A>(promise: Promise<A>, options?: CallOptions, signal?: AbortSignal): Promise<A> =>
    withDeadline(promise, boundOf(options), signal).catch((cause: unknown) => {
      refresh?.(cause)
      throw cause
    })
  const use = <A>(operation: string, f: (client: RedisConnection) => Promise<A>, options?: CallOptions) =>
    Effect.suspend(() => {
      const refused = refusedDb(operation)
      if (refused !== undefined) return Effect.fail(refused)
      return Effect.tryPromise({
        try: (signal) => deadline(f(client), options, signal),
        catch: (cause) => toError(operation, cause)
      })
    })

  const defined = new Set<string>()
  const script = (name: string, lua: string, numberOfKeys: number): RedisScript => {
    if (!defined.has(name)) {
      client.defineCommand(name, { lua, numberOfKeys })
      defined.add(name)
    }
    const call = (
      method: string,
      keys: ReadonlyArray<string>,
      args: ReadonlyArray<string | number | Buffer>,
      options?: CallOptions
    ) =>
      use(name, (c) => {
        // `defineCommand` added `method` to the client at runtime.
        const fn = (c as unknown as Record<string, ScriptMethod>)[method] as ScriptMethod
        return fn.call(c, ...keys, ...args)
      }, options)
    return {
      name,
      run: (keys, args, options) => call(name, keys, args, options),
      runBuffer: (keys, args, options) => call(`${name}Buffer`, keys, args, options)
    }
  }

  return RedisClient.of({
    client,
    isCluster: parts.isCluster,
    label,
    commandTimeoutMillis: parts.commandTimeoutMs,
    isReady: Effect.sync(() => client.status === "ready" && health.dbRefused() === undefined),
    use,
    toError,
    deadline: (promise, options) => deadline(promise, options),
    script,
    duplicate: parts.duplicate
  })
}

/** Opens a connection in the scope, with its health watched and its socket errors handled. */
const open = (create: () => RedisConnection) =>
  Effect.acquireRelease(
    Effect.sync(() => {
      const client = create()
      return { client, health: ConnectionHealth.watch(client) }
    }),
    ({ client }) => close(client)
  )

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
    const { client, health } = yield* open(() => settings.create())
    const service = build({
      client,
      health,
      isCluster: settings.isCluster,
      label: settings.label,
      secrets: settings.secrets,
      commandTimeoutMs: settings.commandTimeoutMs,
      db: settings.db,
      duplicate: Effect.map(open(() => settings.create(true)), ({ client }) => client)
    })
    const ready = yield* awaitReady(client, settings.connectTimeoutMs)
    if (!ready) {
      const cause = health.lastError() ?? "no answer yet"
      yield* Effect.logWarning(
        `dogpile: Redis at ${settings.label} is not reachable yet (${scrub(cause, settings.secrets)}); calls fail until it is`
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
      const url = yield* Config.Redacted("REDIS_URL").pipe(Config.withDefault(Redacted.make("redis://127.0.0.1:6379")))
      const password = yield* Config.option(Config.Redacted("REDIS_PASSWORD"))
      const cluster = yield* Config.Boolean("REDIS_CLUSTER").pipe(Config.withDefault(false))
      const timeout = yield* Config.option(Config.Int("REDIS_COMMAND_TIMEOUT_MS"))
      return layer({
        ...options,
        url,
        cluster: options.cluster ?? cluster,
        ...(Option.isSome(password) ? { password: password.value } : {}),
        ...(Option.isSome(timeout) ? { commandTimeout: timeout.value } : {})
      })
    })
  )
