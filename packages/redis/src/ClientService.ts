/**
 * The machinery behind the {@link RedisClient} service, whoever created the
 * connection: calls bounded in real time, errors typed and scrubbed, scripts,
 * and the connection's lifetime.
 *
 * @since 0.1.0
 */
import { BackendError } from "@dogpile-effect/core"
import type { Cluster } from "ioredis"
import { Effect, Exit, type Scope } from "effect"
import * as ClusterSilence from "./ClusterSilence.ts"
import * as ConnectionHealth from "./ConnectionHealth.ts"
import * as ServerSilence from "./ServerSilence.ts"
import type { CallOptions, RedisClient, RedisConnection, RedisScript } from "./RedisClient.ts"

/** Replaces every occurrence of a secret in a message. */
export const scrub = (message: string, secrets: ReadonlyArray<string>): string =>
  secrets.reduce((text, secret) => (secret.length === 0 ? text : text.split(secret).join("<redacted>")), message)

/**
 * Settles with the promise, or rejects after `ms` of real time: the bound
 * holds however long ioredis keeps the command queued (behind an
 * auto-pipeline still waiting for a silent server, a slot refresh, ...).
 * Real time, not the Effect Clock: it bounds real I/O.
 */
/** The error of a command that outlived its bound (its text also marks a possibly stale Cluster slot map). */
const timedOut = (ms: number): Error => new Error(`Command timed out after ${Math.round(ms)} ms`)

const withDeadline = <A>(promise: Promise<A>, ms: number, signal?: AbortSignal): Promise<A> =>
  new Promise<A>((resolve, reject) => {
    const timer = setTimeout(() => reject(timedOut(ms)), ms)
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

/** The error of a command not sent because the server is known silent (see `ServerSilence`). */
const silentServer = (silentMs: number): Error =>
  new Error(
    `Command timed out: the server has answered nothing for ${Math.round(silentMs)} ms (failing at once until it answers a probe)`
  )

/**
 * The silence tracker of a connection: a standalone server's, probed with a bounded `PING`; none for a Cluster
 * here (a silent node says nothing about the others: {@link open} tracks each node of the Clusters it creates
 * with `ClusterSilence`).
 */
export const silenceOf = (client: RedisConnection, commandTimeoutMs: number): ServerSilence.ServerSilence =>
  client.isCluster ? ServerSilence.never : ServerSilence.make(commandTimeoutMs, () => withDeadline(client.ping(), commandTimeoutMs))

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
export const awaitReady = (client: RedisConnection, timeoutMs: number): Effect.Effect<boolean> =>
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
export const close = (client: RedisConnection): Effect.Effect<void> =>
  Effect.promise(() =>
    client.status === "ready"
      ? Promise.race([client.quit().then(() => undefined, () => undefined), new Promise<void>((r) => setTimeout(r, 500))])
      : Promise.resolve()
  ).pipe(Effect.ensuring(Effect.sync(() => client.disconnect(false))))

/** ioredis methods added by `defineCommand`, looked up by name. */
type ScriptMethod = (...args: ReadonlyArray<string | number | Buffer>) => Promise<unknown>

/** What {@link build} needs, whoever created the connection. */
export interface Parts {
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
export const build = (parts: Parts): RedisClient["Service"] => {
  const { client, label, secrets, health } = parts
  const toError = (operation: string, cause: unknown): BackendError => {
    const raw = cause instanceof Error ? cause.message : String(cause)
    const last = health.lastError()
    const moved = /^MOVED (\d+) (\S+)/.exec(raw)
    const explained = ConnectionHealth.isNotConnected(raw) && last !== undefined
      ? `not connected: ${last}`
      : /^OOM\b/.test(raw)
      ? `out of memory (OOM): the server is at maxmemory and its eviction policy frees nothing for writes; reads still work (${raw})`
      : moved !== null
      ? `${raw} (slot ${moved[1]} is served by ${moved[2]} and the command could not follow there${
        last === undefined ? "" : `: ${last}`
      }; the slot map is being re-read)`
      : raw
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
  const deadline = <A>(promise: Promise<A>, options?: CallOptions, signal?: AbortSignal): Promise<A> => {
    // Already sent: counted as unanswered until its reply, never refused.
    health.silence.beforeSend(Date.now())
    const answered = promise.then((value) => {
      health.silence.replied()
      return value
    }, (cause: unknown) => {
      if (ServerSilence.isReply(cause)) health.silence.replied()
      throw cause
    })
    return withDeadline(answered, boundOf(options), signal).catch((cause: unknown) => {
      refresh?.(cause)
      throw cause
    })
  }
  /**
   * One command, bounded by the command timeout. A callback with one timer and no promise or abort
   * signal of its own: this runs for every Redis command, and those cost more than the command's CPU.
   */
  const use = <A>(operation: string, f: (client: RedisConnection) => Promise<A>, options?: CallOptions) =>
    Effect.callback<A, BackendError>((resume) => {
      const refused = refusedDb(operation)
      if (refused !== undefined) return resume(Effect.fail(refused))
      if (health.silence.beforeSend(Date.now()) === undefined) return sendOne(operation, f, options, resume)
      return afterPollPhase(operation, f, options, resume)
    })

  /**
   * A command while the server is known silent, decided after this poll phase: a reply already read from
   * the socket in it (the server answering again, while this caller was woken by another connection: a
   * lock's release message) ends the silence first. Still silent: it fails at once, unsent.
   */
  const afterPollPhase = <A>(
    operation: string,
    f: (client: RedisConnection) => Promise<A>,
    options: CallOptions | undefined,
    resume: (effect: Effect.Effect<A, BackendError>) => void
  ): Effect.Effect<void> => {
    let cancelled = false
    let cancel: Effect.Effect<void> | undefined
    const later = setImmediate(() => {
      if (cancelled) return
      const silentMs = health.silence.beforeSend(Date.now())
      if (silentMs !== undefined) return resume(Effect.fail(toError(operation, silentServer(silentMs))))
      cancel = sendOne(operation, f, options, resume) ?? Effect.void
    })
    return Effect.suspend(() => {
      cancelled = true
      clearImmediate(later)
      return cancel ?? Effect.void
    })
  }

  /** Sends one command now, bounded by its timeout; returns its cancellation. */
  const sendOne = <A>(
    operation: string,
    f: (client: RedisConnection) => Promise<A>,
    options: CallOptions | undefined,
    resume: (effect: Effect.Effect<A, BackendError>) => void
  ): Effect.Effect<void> | undefined => {
    const ms = boundOf(options)
    let settled = false
    const fail = (cause: unknown) => {
      refresh?.(cause)
      resume(Effect.fail(toError(operation, cause)))
    }
    const timer = setTimeout(() => {
      if (settled) return
      settled = true
      fail(timedOut(ms))
    }, ms)
    let reply: Promise<A>
    try {
      reply = f(client)
    } catch (cause) {
      settled = true
      clearTimeout(timer)
      fail(cause)
      return undefined
    }
    reply.then(
      (value) => {
        // A late reply still tells that the server answers.
        health.silence.replied()
        if (settled) return
        settled = true
        clearTimeout(timer)
        resume(Exit.succeed(value))
      },
      (cause: unknown) => {
        if (ServerSilence.isReply(cause)) health.silence.replied()
        if (settled) return
        settled = true
        clearTimeout(timer)
        fail(cause)
      }
    )
    return Effect.sync(() => {
      settled = true
      clearTimeout(timer)
    })
  }

  const defined = new Set<string>()
  /** The ioredis command of `name` for calls of `numberOfKeys` keys, defined on first use. */
  const define = (name: string, lua: string, numberOfKeys: number): string => {
    if (!defined.has(name)) {
      client.defineCommand(name, { lua, numberOfKeys })
      defined.add(name)
    }
    return name
  }
  const script = (name: string, lua: string, numberOfKeys: number | "variable"): RedisScript => {
    // A script of any number of keys is one ioredis command per count: ioredis routes an auto-pipelined
    // Cluster command by its first argument, which must then be a key, not the count of keys.
    const commandOf = numberOfKeys === "variable"
      ? (keys: ReadonlyArray<string>) => define(`${name}${keys.length}`, lua, keys.length)
      : (() => {
        const command = define(name, lua, numberOfKeys)
        return () => command
      })()
    const call = (
      buffers: boolean,
      keys: ReadonlyArray<string>,
      args: ReadonlyArray<string | number | Buffer>,
      options?: CallOptions
    ) =>
      use(name, (c) => {
        // `defineCommand` added the method to the client at runtime.
        const method = `${commandOf(keys)}${buffers ? "Buffer" : ""}`
        const fn = (c as unknown as Record<string, ScriptMethod>)[method] as ScriptMethod
        return fn.call(c, ...keys, ...args)
      }, options)
    return {
      name,
      run: (keys, args, options) => call(false, keys, args, options),
      runBuffer: (keys, args, options) => call(true, keys, args, options)
    }
  }

  const service: RedisClient["Service"] = {
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
  }
  return service
}

/**
 * Opens a connection in the scope, with its health watched and its socket errors handled; with
 * `commandTimeoutMs`, a standalone server's silence is tracked too (commands then fail at once), and
 * on a Cluster each node's (commands routed to a silent node fail at once, the others go out).
 */
export const open = (create: () => RedisConnection, commandTimeoutMs?: number) =>
  Effect.acquireRelease(
    Effect.sync(() => {
      const client = create()
      const silence = commandTimeoutMs === undefined ? ServerSilence.never : silenceOf(client, commandTimeoutMs)
      const unwatchNodes = commandTimeoutMs !== undefined && client.isCluster
        ? ClusterSilence.watch(client as Cluster, commandTimeoutMs)
        : undefined
      return { client, health: ConnectionHealth.watch(client, silence), unwatchNodes }
    }),
    ({ client, unwatchNodes }) => Effect.ensuring(close(client), Effect.sync(() => unwatchNodes?.()))
  )

