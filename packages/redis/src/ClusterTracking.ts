/**
 * Server-assisted invalidation on a Redis Cluster: tracking per node. Every
 * node connection of the ioredis `Cluster` gets its own {@link Tracking}
 * (its own RESP2 subscriber on that node, `REDIRECT` to it), and their
 * messages are merged. Reads are kept only while every master's tracking is
 * confirmed; any change of the nodes or of the slot map empties the near
 * cache (a key cached from one node may now be written on another, which
 * never saw this process read it).
 *
 * @since 0.1.0
 */
import type { Cluster, Redis } from "ioredis"
import { Effect, type Scope } from "effect"
import * as Tracking from "./Tracking.ts"

/** A cheap fingerprint of which node serves each slot. */
const slotMapOf = (cluster: Cluster): string => {
  const slots = (cluster as unknown as { readonly slots?: ReadonlyArray<ReadonlyArray<string> | undefined> }).slots ?? []
  let text = ""
  let previous: string | undefined
  for (let slot = 0; slot < slots.length; slot++) {
    const master = slots[slot]?.[0]
    if (master !== previous) text += `${slot}=${master ?? "-"};`
    previous = master
  }
  return text
}

/**
 * Tracking on every node of `cluster`, for the scope's lifetime. Waits up to
 * `settleMs` for the nodes known now to confirm tracking (their lazy
 * connections are opened); fails with a node's reply if it refuses
 * `CLIENT TRACKING`.
 *
 * @example
 * ```ts
 * import { RedisClient } from "@dogpile-effect/redis"
 * import * as ClusterTracking from "./ClusterTracking.ts" // internal to @dogpile-effect/redis
 * import { Effect } from "effect"
 * import type { Cluster } from "ioredis"
 *
 * const program = Effect.gen(function*() {
 *   const redis = yield* RedisClient.RedisClient
 *   const tracking = yield* ClusterTracking.acquire(redis.client as Cluster, { settleMs: 1000, heartbeatMs: 1000 })
 *   return tracking.isActive()
 * })
 * ```
 *
 * @category constructors
 * @since 0.1.0
 */
export const acquire = (
  cluster: Cluster,
  options: { readonly settleMs: number; readonly heartbeatMs: number }
): Effect.Effect<Tracking.Tracking, unknown, Scope.Scope> =>
  Effect.gen(function*() {
    const listeners = new Set<Tracking.Listener>()
    const nodes = new Map<Redis, { readonly share: Tracking.Share; readonly unlisten: () => void }>()
    const forward: Tracking.Listener = {
      invalidate: (keys) => listeners.forEach((l) => l.invalidate(keys)),
      flush: (reason) => listeners.forEach((l) => l.flush(reason))
    }
    let slotMap = slotMapOf(cluster)

    const add = (node: Redis) => {
      if (nodes.has(node)) return
      const share = Tracking.share(node, options)
      nodes.set(node, { share, unlisten: share.tracking.listen(forward) })
      // Node connections are lazy; tracking needs them connected before the first read counts.
      if (node.status === "wait") node.connect().catch(() => {})
    }
    const remove = (node: Redis) => {
      const entry = nodes.get(node)
      if (entry === undefined) return
      nodes.delete(node)
      entry.unlisten()
      forward.flush("a Cluster node left")
      void entry.share.release()
    }
    const onAdd = (node: Redis) => {
      add(node)
      forward.flush("a Cluster node joined")
    }
    const onRefresh = () => {
      const now = slotMapOf(cluster)
      if (now === slotMap) return
      slotMap = now
      forward.flush("the Cluster slot map changed")
    }

    yield* Effect.acquireRelease(
      Effect.sync(() => {
        cluster.nodes("all").forEach(add)
        cluster.on("+node", onAdd)
        cluster.on("-node", remove)
        cluster.on("refresh", onRefresh)
      }),
      () =>
        Effect.promise(async () => {
          cluster.off("+node", onAdd)
          cluster.off("-node", remove)
          cluster.off("refresh", onRefresh)
          const all = [...nodes.values()]
          nodes.clear()
          all.forEach((entry) => entry.unlisten())
          await Promise.all(all.map((entry) => entry.share.release()))
        })
    )
    const refusals = yield* Effect.promise(() => Promise.all([...nodes.values()].map((entry) => entry.share.settle(options.settleMs))))
    const refused = refusals.find((refusal) => refusal !== undefined)
    if (refused !== undefined) return yield* Effect.fail(refused)

    const tracking: Tracking.Tracking = {
      isActive: () => {
        const masters = cluster.nodes("master")
        return masters.length > 0 && masters.every((node) => nodes.get(node)?.share.tracking.isActive() === true)
      },
      lastError: () => {
        for (const entry of nodes.values()) {
          const error = entry.share.tracking.lastError()
          if (error !== undefined) return error
        }
        return undefined
      },
      listen: (listener) => {
        listeners.add(listener)
        return () => void listeners.delete(listener)
      }
    }
    return tracking
  })
