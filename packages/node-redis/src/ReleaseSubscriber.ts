/**
 * One release subscriber per node-redis client: a single pub/sub connection
 * that hears the lock releases of every `NodeRedisLock` built over the same
 * `Redis` service, whatever its prefix, lock naming or channel (the way
 * `RedisLock` of `@dogpile-effect/redis` shares one per `RedisClient`). Locks
 * register a listener for their channel; the first lock opens the connection
 * (a `duplicate()` of the `NodeRedis` client), each channel is subscribed
 * once, messages go to the listeners of their channel, and the connection
 * closes with the last lock's scope. node-redis reconnects the connection and
 * re-subscribes its channels after a drop; releases announced meanwhile are
 * found by the waiters' backoff re-checks.
 *
 * With only Effect's `Redis` service in context (no `NodeRedis` client to
 * duplicate), `Redis.subscribe` opens one connection per channel, and locks
 * that share a channel share it.
 *
 * @since 0.1.0
 */
import { NodeRedis } from "@effect/platform-node/NodeRedis"
import { Cause, type Context, Effect, Exit, Option, Queue, Scope } from "effect"
import { Redis } from "effect/persistence/Redis"

/**
 * What a lock hears on its channel: the Redis key of each release announced.
 *
 * @category models
 * @since 0.1.0
 */
export type Listener = (key: string) => void

/** How a hub subscribes: one connection for all channels (node-redis), or one per channel (`Redis.subscribe`). */
interface Transport {
  /** Subscribes `channel`, delivering its messages; completes once `SUBSCRIBE` is answered (or failed: polling covers). */
  readonly subscribe: (channel: string, deliver: (message: string) => void) => Effect.Effect<void>
  readonly unsubscribe: (channel: string) => Effect.Effect<void>
  readonly close: Effect.Effect<void>
}

/** The shared subscriber of one `Redis` service. */
interface Hub {
  refs: number
  readonly channels: Map<string, { readonly listeners: Set<Listener>; readonly subscribed: Effect.Effect<void> }>
  readonly transport: Transport
}

type NodeRedisClient = NodeRedis["Service"]["client"]
type Warn = (message: string, cause: unknown) => void

const hubs = new WeakMap<Redis["Service"], Hub>()

/**
 * Registers `listener` on `channel` of the shared subscriber of the `Redis`
 * service in context, for the life of the scope; the first user opens the
 * subscriber. Completes once the channel's `SUBSCRIBE` has been answered.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import * as ReleaseSubscriber from "./ReleaseSubscriber.ts" // internal to @dogpile-effect/node-redis
 * const listening = ReleaseSubscriber.listen("_lock:released", (key) => console.log("released", key))
 * ```
 *
 * @category constructors
 * @since 0.1.0
 */
export const listen = (channel: string, listener: Listener): Effect.Effect<void, never, Redis | Scope.Scope> =>
  Effect.gen(function*() {
    const redis = yield* Redis
    const node = Option.getOrUndefined(yield* Effect.serviceOption(NodeRedis))
    const warn = warner(yield* Effect.context<never>())
    const subscribed = yield* Effect.acquireRelease(
      Effect.sync(() => join(redis, node?.client, warn, channel, listener)),
      () => leave(redis, channel, listener)
    )
    yield* subscribed
  })

/**
 * How many channels the shared subscriber of the `Redis` service in context
 * is registered for, and by how many listeners (`undefined`: none open). For
 * tests and diagnostics.
 *
 * @example
 * ```ts
 * import * as ReleaseSubscriber from "./ReleaseSubscriber.ts" // internal to @dogpile-effect/node-redis
 * const users = ReleaseSubscriber.usage // Effect of { channels, listeners } | undefined
 * ```
 *
 * @category diagnostics
 * @since 0.1.0
 */
export const usage: Effect.Effect<{ readonly channels: number; readonly listeners: number } | undefined, never, Redis> =
  Effect.map(Effect.service(Redis), (redis) => {
    const hub = hubs.get(redis)
    if (hub === undefined) return undefined
    let listeners = 0
    for (const channel of hub.channels.values()) listeners += channel.listeners.size
    return { channels: hub.channels.size, listeners }
  })

// ---- joining and leaving ----------------------------------------------------

const warner = (context: Context.Context<never>): Warn => {
  const run = Effect.runForkWith(context)
  return (message, cause) => {
    run(Effect.logWarning(message, cause))
  }
}

/** Adds the listener synchronously (concurrent first users find one hub); returns the wait for its channel's `SUBSCRIBE`. */
const join = (
  redis: Redis["Service"],
  client: NodeRedisClient | undefined,
  warn: Warn,
  channel: string,
  listener: Listener
): Effect.Effect<void> => {
  let hub = hubs.get(redis)
  if (hub === undefined) {
    const transport = client === undefined ? perChannel(redis, warn) : shared(client, warn)
    hub = { refs: 0, channels: new Map(), transport }
    hubs.set(redis, hub)
  }
  hub.refs++
  const known = hub.channels.get(channel)
  if (known !== undefined) {
    known.listeners.add(listener)
    return known.subscribed
  }
  const listeners = new Set([listener])
  const deliver = (message: string) => {
    for (const each of [...listeners]) each(message)
  }
  const subscribed = Effect.runPromise(hub.transport.subscribe(channel, deliver))
  hub.channels.set(channel, { listeners, subscribed: Effect.promise(() => subscribed) })
  return Effect.promise(() => subscribed)
}

const leave = (redis: Redis["Service"], channel: string, listener: Listener): Effect.Effect<void> =>
  Effect.suspend(() => {
    const hub = hubs.get(redis)
    if (hub === undefined) return Effect.void
    const known = hub.channels.get(channel)
    let unsubscribe: Effect.Effect<void> = Effect.void
    if (known !== undefined) {
      known.listeners.delete(listener)
      if (known.listeners.size === 0) {
        hub.channels.delete(channel)
        unsubscribe = hub.transport.unsubscribe(channel)
      }
    }
    hub.refs--
    if (hub.refs > 0) return unsubscribe
    hubs.delete(redis)
    return hub.transport.close
  })

// ---- one connection for every channel (node-redis) ---------------------------

/**
 * The client's reconnect strategy for the subscriber, except before its first `ready`: then a
 * connection error fails the connect (the lock falls back to polling) instead of retrying forever.
 */
const strategyOf = (client: NodeRedisClient, isReady: () => boolean) => {
  const inherited = client.options?.socket?.reconnectStrategy
  return (retries: number, cause: Error): number | false | Error => {
    if (!isReady()) return cause
    if (typeof inherited === "function") return inherited(retries, cause)
    if (inherited !== undefined) return inherited
    return Math.min(2 ** retries * 50, 2000)
  }
}

const shared = (client: NodeRedisClient, warn: Warn): Transport => {
  let ready = false
  const connection = client.duplicate({
    socket: { ...client.options?.socket, reconnectStrategy: strategyOf(client, () => ready) }
  })
  connection.once("ready", () => {
    ready = true
  })
  connection.on("error", (cause) => warn("dogpile: the locks' release subscriber: connection error", cause))
  const connected = connection.connect().then(() => true, (cause: unknown) => {
    warn("dogpile: the locks' release subscriber could not connect; waiters re-check on their backoff", cause)
    return false
  })
  const afterConnect = (run: () => Promise<unknown>, failure: string) =>
    Effect.promise(() =>
      connected.then((up) => (up && connection.isOpen ? run() : undefined)).then(() => undefined, (cause: unknown) => {
        // A command cut short by the last lock closing the connection is no failure.
        if (connection.isOpen) warn(failure, cause)
      })
    )
  return {
    subscribe: (channel, deliver) =>
      afterConnect(() => connection.subscribe(channel, deliver), "dogpile: SUBSCRIBE to the lock's release channel failed"),
    unsubscribe: (channel) => afterConnect(() => connection.unsubscribe(channel), "dogpile: UNSUBSCRIBE failed"),
    close: Effect.sync(() => {
      if (connection.isOpen) connection.destroy()
    })
  }
}

// ---- one connection per channel (Effect's Redis service alone) ---------------

const perChannel = (redis: Redis["Service"], warn: Warn): Transport => {
  const scopes = new Map<string, Scope.Closeable>()
  const closeOne = (channel: string) =>
    Effect.suspend(() => {
      const scope = scopes.get(channel)
      scopes.delete(channel)
      return scope === undefined ? Effect.void : Scope.close(scope, Exit.void)
    })
  return {
    subscribe: (channel, deliver) =>
      Effect.gen(function*() {
        const scope = yield* Scope.make()
        scopes.set(channel, scope)
        const queue = yield* Scope.provide(redis.subscribe(channel), scope)
        yield* Effect.forkIn(
          Effect.forever(Effect.map(Queue.take(queue), (received) => deliver(received.message))).pipe(
            Effect.catchCause((cause) =>
              Effect.sync(() => {
                if (!Cause.hasInterruptsOnly(cause)) {
                  warn("dogpile: the lock's release subscription ended; waiters re-check on their backoff", cause)
                }
              })
            )
          ),
          scope
        )
      }),
    unsubscribe: closeOne,
    close: Effect.suspend(() => Effect.forEach([...scopes.keys()], closeOne, { discard: true }))
  }
}
