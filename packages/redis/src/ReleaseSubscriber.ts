/**
 * One release subscriber per {@link RedisClient}: a single pub/sub connection
 * that hears the lock releases of every `RedisLock` built over that client,
 * whatever its key prefix, lock naming or channel. Locks register a listener
 * for their channel; the connection is opened by the first lock, subscribes
 * each channel once, dispatches each message to the listeners of its channel,
 * and closes with the last lock's scope. So N regions that each build their
 * own lock (a Python preset's, or several `RedisLock.layer`s) still hold one
 * subscriber connection between them.
 *
 * A listener learns of its channel's subscription state through `changed`:
 * once when `SUBSCRIBE` is confirmed (fresh, or renewed after a reconnect)
 * and once when the connection closes (messages may have been missed).
 *
 * @since 0.1.0
 */
import { Effect, Exit, Scope } from "effect"
import { RedisClient, type RedisConnection } from "./RedisClient.ts"

/**
 * What a lock hears on its channel.
 *
 * @category models
 * @since 0.1.0
 */
export interface Listener {
  /** A release of `key` was announced on the channel. */
  readonly released: (key: string) => void
  /** The channel's subscription was confirmed, or lost: every waiter should check once. */
  readonly changed: () => void
}

/**
 * A listener's view of its channel.
 *
 * @category models
 * @since 0.1.0
 */
export interface Subscription {
  /** Whether the channel's `SUBSCRIBE` is confirmed on a live connection (releases are heard). */
  readonly subscribed: () => boolean
}

/** The shared subscriber of one client. */
interface Hub {
  refs: number
  readonly channels: Map<string, Set<Listener>>
  readonly confirmed: Set<string>
  connection: RedisConnection | undefined
  scope: Scope.Closeable | undefined
}

const hubs = new WeakMap<RedisClient["Service"], Hub>()

/**
 * Registers `listener` on `channel` of the client's shared subscriber for
 * the life of the scope, opening the subscriber if this is its first user.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import * as ReleaseSubscriber from "./ReleaseSubscriber.ts" // internal to @dogpile-effect/redis
 * const listening = Effect.scoped(Effect.gen(function*() {
 *   const sub = yield* ReleaseSubscriber.listen("_lock:released", {
 *     released: (key) => console.log("released", key),
 *     changed: () => {}
 *   })
 *   return sub.subscribed()
 * }))
 * ```
 *
 * @category constructors
 * @since 0.1.0
 */
export const listen = (
  channel: string,
  listener: Listener
): Effect.Effect<Subscription, never, RedisClient | Scope.Scope> =>
  Effect.flatMap(Effect.service(RedisClient), (redis) =>
    Effect.map(
      Effect.acquireRelease(join(redis, channel, listener), (hub) => leave(redis, hub, channel, listener)),
      (hub): Subscription => ({ subscribed: () => hub.confirmed.has(channel) && hub.channels.has(channel) })
    ))

/**
 * How many channels the client's shared subscriber is registered for, and by how many listeners
 * (`undefined`: no subscriber open). For tests and diagnostics.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import * as ReleaseSubscriber from "./ReleaseSubscriber.ts" // internal to @dogpile-effect/redis
 * const users = ReleaseSubscriber.usage // Effect of { channels, listeners } | undefined
 * ```
 *
 * @category diagnostics
 * @since 0.1.0
 */
export const usage: Effect.Effect<{ readonly channels: number; readonly listeners: number } | undefined, never, RedisClient> =
  Effect.map(Effect.service(RedisClient), (redis) => {
    const hub = hubs.get(redis)
    if (hub === undefined) return undefined
    let listeners = 0
    for (const set of hub.channels.values()) listeners += set.size
    return { channels: hub.channels.size, listeners }
  })

// ---- joining and leaving ----------------------------------------------------

/**
 * Adds the listener (synchronously, so concurrent first users find one hub), then opens the
 * connection if nobody has: it subscribes every channel registered by then.
 */
const join = (redis: RedisClient["Service"], channel: string, listener: Listener): Effect.Effect<Hub> =>
  Effect.suspend(() => {
    let hub = hubs.get(redis)
    const first = hub === undefined
    if (hub === undefined) {
      hub = { refs: 0, channels: new Map(), confirmed: new Set(), connection: undefined, scope: undefined }
      hubs.set(redis, hub)
    }
    hub.refs++
    const known = hub.channels.get(channel)
    if (known === undefined) hub.channels.set(channel, new Set([listener]))
    else known.add(listener)
    if (!first) {
      if (known === undefined && hub.connection !== undefined) subscribe(hub, hub.connection, channel)
      return Effect.succeed(hub)
    }
    return Effect.as(open(redis, hub), hub)
  })

const open = (redis: RedisClient["Service"], hub: Hub): Effect.Effect<void> =>
  Effect.gen(function*() {
    const scope = yield* Scope.make()
    hub.scope = scope
    const connection = yield* Scope.provide(scope)(redis.duplicate)
    hub.connection = connection
    wire(hub, connection)
  })

const leave = (redis: RedisClient["Service"], hub: Hub, channel: string, listener: Listener): Effect.Effect<void> =>
  Effect.suspend(() => {
    const set = hub.channels.get(channel)
    if (set !== undefined) {
      set.delete(listener)
      if (set.size === 0) {
        hub.channels.delete(channel)
        hub.confirmed.delete(channel)
        hub.connection?.unsubscribe(channel).catch(() => {})
      }
    }
    hub.refs--
    if (hub.refs > 0) return Effect.void
    if (hubs.get(redis) === hub) hubs.delete(redis)
    const scope = hub.scope
    hub.connection = undefined
    hub.scope = undefined
    return scope === undefined ? Effect.void : Scope.close(scope, Exit.void)
  })

// ---- the connection ---------------------------------------------------------

const notify = (hub: Hub, channel: string) => {
  const set = hub.channels.get(channel)
  if (set !== undefined) for (const listener of [...set]) listener.changed()
}

/**
 * `SUBSCRIBE` is queued until the connection is up and sent again after every reconnect (ioredis
 * also re-subscribes; a second `SUBSCRIBE` to a channel is a no-op); its answer confirms it.
 */
const subscribe = (hub: Hub, connection: RedisConnection, channel: string) => {
  connection.subscribe(channel).then(() => {
    if (hub.connection !== connection || !hub.channels.has(channel) || hub.confirmed.has(channel)) return
    hub.confirmed.add(channel)
    notify(hub, channel)
  }, () => {})
}

/** Dispatches messages by channel; tracks the subscriptions across disconnects. */
const wire = (hub: Hub, connection: RedisConnection) => {
  connection.on("message", (from: string, message: string) => {
    const set = hub.channels.get(from)
    if (set !== undefined) for (const listener of set) listener.released(message)
  })
  connection.on("close", () => {
    if (hub.confirmed.size === 0) return
    const lost = [...hub.confirmed]
    hub.confirmed.clear()
    for (const channel of lost) notify(hub, channel)
  })
  const subscribeAll = () => {
    for (const channel of hub.channels.keys()) subscribe(hub, connection, channel)
  }
  connection.on("ready", subscribeAll)
  subscribeAll()
}
