/**
 * Server-assisted invalidation (`CLIENT TRACKING`) for one Redis connection:
 * the server remembers the keys this connection reads and tells a subscriber
 * connection when any client changes one of them.
 *
 * ioredis 6 speaks RESP3 by default and drops the `invalidate` push frames,
 * so the messages are redirected (`CLIENT TRACKING on REDIRECT <id>`) to a
 * second connection opened with `protocol: 2` and subscribed to
 * `__redis__:invalidate`. One such pair serves every near cache over the same
 * connection: a second `REDIRECT` would silently steal the first one's
 * messages, so the registration is shared and reference-counted.
 *
 * @since 0.1.0
 */
import type { Redis } from "ioredis"
import { Effect, type Scope } from "effect"

/** The channel Redis publishes invalidations on for RESP2 clients. */
const CHANNEL = "__redis__:invalidate"

/**
 * What a near cache hears: keys changed by any client, and "forget
 * everything" (FLUSHDB/FLUSHALL, a lost or re-established connection).
 *
 * @example
 * ```ts
 * import type { Tracking } from "@dogpile-effect/redis/toolkit"
 * const listener: Tracking.Listener = { invalidate: (keys) => console.log(keys), flush: (reason) => console.log(reason) }
 * ```
 *
 * @category models
 * @since 0.1.0
 */
export interface Listener {
  readonly invalidate: (keys: ReadonlyArray<string>) => void
  readonly flush: (reason: string) => void
}

/**
 * The shared tracking of one connection.
 *
 * @example
 * ```ts
 * import type { Tracking } from "@dogpile-effect/redis/toolkit"
 * const keep = (tracking: Tracking.Tracking) => tracking.isActive()
 * ```
 *
 * @category models
 * @since 0.1.0
 */
export interface Tracking {
  /**
   * Whether tracking is confirmed on the data connection, redirected to a
   * subscriber that is subscribed right now. A read sent while this is false
   * may be served but never kept.
   */
  readonly isActive: () => boolean
  /** The last reason tracking could not be turned on, if any. */
  readonly lastError: () => string | undefined
  /** Adds a listener; returns its removal. */
  readonly listen: (listener: Listener) => () => void
}

/**
 * A standalone ioredis connection, as `RedisClient.client` is when not on a Cluster.
 *
 * @example
 * ```ts
 * import type { Tracking } from "@dogpile-effect/redis/toolkit"
 * const isReady = (connection: Tracking.Connection) => connection.status === "ready"
 * ```
 *
 * @category models
 * @since 0.1.0
 */
export type Connection = Redis

interface Shared {
  readonly tracking: Tracking
  readonly settle: (timeoutMs: number) => Promise<void>
  readonly refused: () => unknown
  readonly stop: () => Promise<void>
  refs: number
}

const registry = new WeakMap<Redis, Shared>()

const messageOf = (cause: unknown): string => (cause instanceof Error ? cause.message : String(cause))

/** A reply error from the server (not a transport failure): tracking is refused, not merely unreachable. */
const isRefusal = (cause: unknown): boolean =>
  cause instanceof Error && cause.name === "ReplyError" && !/LOADING|BUSY|TRYAGAIN|MASTERDOWN/.test(cause.message)

/** Starts tracking on `data`, with its subscriber, heartbeat and reconnection handling. */
const start = (data: Redis, heartbeatMs: number): Shared => {
  const listeners = new Set<Listener>()
  const changes = new Set<() => void>()
  let active = false
  let activating = false
  let life = 0
  let subLife = 0
  let subId: number | undefined
  let lastError: string | undefined
  let refused: unknown
  let pingOutstanding = false
  const prefix = data.options.keyPrefix ?? ""

  const sub = data.duplicate({
    protocol: 2,
    autoResubscribe: false,
    enableOfflineQueue: true,
    enableAutoPipelining: false,
    maxRetriesPerRequest: null,
    // Cluster node connections are lazy and never retry (the Cluster reconnects them):
    // the subscriber must connect, and reconnect, all the same.
    lazyConnect: false,
    retryStrategy: data.options.retryStrategy ?? ((times: number) => Math.min(50 * 2 ** Math.min(times - 1, 10), 1_000))
  })
  const changed = () => changes.forEach((f) => f())

  /** Tracking is no longer trustworthy: everything kept so far is forgotten, and nothing is kept until it is back. */
  const lose = (reason: string) => {
    life++
    active = false
    listeners.forEach((l) => l.flush(reason))
    changed()
  }

  const activate = () => {
    if (active || activating || subId === undefined || data.status !== "ready") return
    activating = true
    const at = life
    const id = subId
    data.call("CLIENT", "TRACKING", "on", "REDIRECT", String(id)).then(() => {
      activating = false
      if (at === life && id === subId) {
        active = true
        lastError = undefined
        changed()
      } else activate()
    }, (cause: unknown) => {
      activating = false
      lastError = `CLIENT TRACKING failed: ${messageOf(cause)}`
      if (isRefusal(cause)) refused = cause
      changed()
    })
  }

  const onSubReady = () => {
    const at = subLife
    sub.client("ID").then((id) =>
      sub.subscribe(CHANNEL).then(() => {
        if (at !== subLife) return
        subId = Number(id)
        activate()
      })
    ).catch((cause: unknown) => {
      lastError = `subscriber: ${messageOf(cause)}`
      changed()
    })
  }

  const onSubClose = () => {
    subLife++
    subId = undefined
    pingOutstanding = false
    lose("the invalidation subscriber lost its connection")
  }
  const onDataClose = () => lose("the tracked connection was lost")
  const onMessage = (channel: Buffer, message: unknown) => {
    if (channel.toString() !== CHANNEL) return
    if (message === null) return listeners.forEach((l) => l.flush("the server was flushed (FLUSHDB/FLUSHALL)"))
    if (!Array.isArray(message)) return
    // Keys as the callers name them: without the client's `keyPrefix`, which ioredis adds to every command.
    const keys = message.map((key: Buffer) => {
      const name = key.toString("utf8")
      return prefix.length > 0 && name.startsWith(prefix) ? name.slice(prefix.length) : name
    })
    listeners.forEach((l) => l.invalidate(keys))
  }

  /** A silent subscriber (half-open socket, stopped server) cannot be trusted: forget and reconnect it. */
  const beat = () => {
    activate()
    if (sub.status !== "ready" || subId === undefined) return
    if (pingOutstanding) {
      // Decided after the poll phase: a reply already in the socket (after a long
      // synchronous stretch of this process) is read first, and is not a silence.
      const at = subLife
      setImmediate(() => {
        if (!pingOutstanding || at !== subLife) return
        lose("the invalidation subscriber stopped answering")
        sub.disconnect(true)
      })
      return
    }
    pingOutstanding = true
    const at = subLife
    sub.ping().then(() => {
      if (at === subLife) pingOutstanding = false
    }, () => {})
  }
  const timer = setInterval(beat, heartbeatMs)
  timer.unref()

  sub.on("ready", onSubReady)
  sub.on("close", onSubClose)
  sub.on("error", (cause: unknown) => {
    lastError = `subscriber: ${messageOf(cause)}`
  })
  sub.on("messageBuffer", onMessage)
  data.on("close", onDataClose)
  data.on("ready", activate)

  const settle = (timeoutMs: number) =>
    new Promise<void>((resolve) => {
      const check = () => {
        if (active || refused !== undefined) done()
      }
      const done = () => {
        clearTimeout(wait)
        changes.delete(check)
        resolve()
      }
      const wait = setTimeout(done, timeoutMs)
      changes.add(check)
      check()
    })

  const stop = async () => {
    clearInterval(timer)
    data.off("close", onDataClose)
    data.off("ready", activate)
    lose("closed")
    listeners.clear()
    if (data.status === "ready") {
      await Promise.race([data.call("CLIENT", "TRACKING", "off").catch(() => {}), new Promise((r) => setTimeout(r, 500))])
    }
    sub.disconnect(false)
  }

  const tracking: Tracking = {
    isActive: () => active && sub.status === "ready" && data.status === "ready",
    lastError: () => lastError,
    listen: (listener) => {
      listeners.add(listener)
      return () => void listeners.delete(listener)
    }
  }
  return { tracking, settle, refused: () => refused, stop, refs: 0 }
}

/**
 * A share of the tracking of `data` (started by the first share, stopped
 * when the last is released). The building block of {@link acquire} and of
 * per-node tracking on a Cluster.
 *
 * @example
 * ```ts
 * import { Tracking } from "@dogpile-effect/redis/toolkit"
 * import { Redis } from "ioredis"
 * const share = Tracking.share(new Redis(), { heartbeatMs: 1000 })
 * share.tracking.isActive()
 * void share.release()
 * ```
 *
 * @category models
 * @since 0.1.0
 */
export interface Share {
  readonly tracking: Tracking
  /** Waits up to `timeoutMs` for tracking to be confirmed or refused; returns the refusal, if any. */
  readonly settle: (timeoutMs: number) => Promise<unknown>
  readonly release: () => Promise<void>
}

/**
 * Takes a share of the tracking of `data`; see {@link Share}.
 *
 * @example
 * ```ts
 * import { Tracking } from "@dogpile-effect/redis/toolkit"
 * import { Redis } from "ioredis"
 * const share = Tracking.share(new Redis(), { heartbeatMs: 1000 })
 * ```
 *
 * @category constructors
 * @since 0.1.0
 */
export const share = (data: Redis, options: { readonly heartbeatMs: number }): Share => {
  let entry = registry.get(data)
  if (entry === undefined) {
    entry = start(data, options.heartbeatMs)
    registry.set(data, entry)
  }
  entry.refs++
  const shared = entry
  let released = false
  return {
    tracking: shared.tracking,
    settle: (timeoutMs) => shared.settle(timeoutMs).then(() => shared.refused()),
    release: async () => {
      if (released) return
      released = true
      shared.refs--
      if (shared.refs > 0) return
      registry.delete(data)
      await shared.stop()
    }
  }
}

/**
 * The tracking of `data` for the scope's lifetime: shared with every other
 * user of the same connection, turned off (and its subscriber closed) when the
 * last one's scope closes. Waits up to `settleMs` for tracking to be
 * confirmed; fails with the server's reply if it refuses `CLIENT TRACKING`
 * (Redis before 6, or a proxy that does not support it).
 *
 * @example
 * ```ts
 * import { RedisClient, Tracking } from "@dogpile-effect/redis"
 * import { Effect } from "effect"
 * import type { Redis } from "ioredis"
 *
 * const program = Effect.gen(function*() {
 *   const redis = yield* RedisClient.RedisClient
 *   const tracking = yield* Tracking.acquire(redis.client as Redis, { settleMs: 1000, heartbeatMs: 1000 })
 *   tracking.listen({ invalidate: (keys) => console.log("changed", keys), flush: (why) => console.log(why) })
 * })
 * ```
 *
 * @category constructors
 * @since 0.1.0
 */
export const acquire = (
  data: Redis,
  options: { readonly settleMs: number; readonly heartbeatMs: number }
): Effect.Effect<Tracking, unknown, Scope.Scope> =>
  Effect.gen(function*() {
    const mine = yield* Effect.acquireRelease(
      Effect.sync(() => share(data, options)),
      (taken) => Effect.promise(taken.release)
    )
    const refused = yield* Effect.promise(() => mine.settle(options.settleMs))
    if (refused !== undefined) return yield* Effect.fail(refused)
    return mine.tracking
  })
