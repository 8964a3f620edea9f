/**
 * {@link ServerSilence} per master of a Cluster: each node connection of the
 * Cluster has its own tracker, consulted as ioredis hands that node a command.
 * A command routed to a node known silent fails at once (instead of waiting a
 * timeout of its own behind the ones already unanswered there); commands
 * routed to the other nodes go out as usual. A silent master therefore neither
 * delays callers of keys on other masters nor makes a caller queued behind it
 * wait one timeout per step.
 *
 * The trackers sit where ioredis sends a command to one node (the node
 * connection's `sendCommand`), the only place that knows the destination
 * whatever the call: a single command, an auto-pipeline, a script, a
 * MULTI. A pipeline is one decision: all its commands go out, or all fail.
 *
 * @since 0.1.0
 */
import { Command, type Cluster, type Redis } from "ioredis"
import * as ServerSilence from "./ServerSilence.ts"

/** What a node connection's `sendCommand` receives as its second argument: a pipeline's writer, or nothing. */
type Stream = Parameters<Redis["sendCommand"]>[1]
type Send = (command: Command, stream?: Stream) => unknown

/** The error of a command not sent because its node is known silent. */
const silentNode = (silentMs: number, node: string): Error =>
  new Error(
    `Command timed out: cluster node ${node} has answered nothing for ${Math.round(silentMs)} ms (failing at once until it answers a probe)`
  )

/** Rejects after `ms` of real time unless the promise settles first. */
const bounded = (promise: Promise<unknown>, ms: number): Promise<unknown> =>
  new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("probe timed out")), ms)
    promise.then((value) => {
      clearTimeout(timer)
      resolve(value)
    }, (cause: unknown) => {
      clearTimeout(timer)
      reject(cause)
    })
  })

/** `host:port` of a node connection. */
const nameOf = (node: Redis): string => `${node.options.host ?? "127.0.0.1"}:${node.options.port ?? 6379}`

/**
 * The decision for one send: `undefined` to send, else the silence (ms). A pipeline's commands share the
 * decision of its first one, so a pipeline is never half written.
 */
const decider = (silence: ServerSilence.ServerSilence) => {
  const decided = new WeakMap<object, number | undefined>()
  return (stream: Stream): number | undefined => {
    if (stream === undefined || stream === null || typeof stream !== "object") return silence.beforeSend(Date.now())
    if (decided.has(stream)) return decided.get(stream)
    const verdict = silence.beforeSend(Date.now())
    decided.set(stream, verdict)
    return verdict
  }
}

/** Replaces one node connection's `sendCommand` by one that consults its tracker; returns the undo. */
const instrument = (node: Redis, boundMs: number): () => void => {
  const original = node.sendCommand as Send
  const send: Send = (command, stream) => original.call(node, command, stream)
  const probe = () => {
    const ping = new Command("ping")
    send(ping)
    return bounded(ping.promise, boundMs)
  }
  const silence = ServerSilence.make(boundMs, probe)
  const decide = decider(silence)
  const name = nameOf(node)
  const replied = () => silence.replied()
  const failed = (cause: unknown) => {
    if (ServerSilence.isReply(cause)) silence.replied()
  }
  const patched: Send = (command, stream) => {
    const silentMs = decide(stream)
    if (silentMs !== undefined) {
      command.reject(silentNode(silentMs, name))
      return command.promise
    }
    const sent = send(command, stream)
    command.promise.then(replied, failed)
    return sent
  }
  const onReady = () => silence.reset()
  node.sendCommand = patched as Redis["sendCommand"]
  node.on("ready", onReady)
  return () => {
    node.off("ready", onReady)
    if (node.sendCommand === (patched as Redis["sendCommand"])) node.sendCommand = original as Redis["sendCommand"]
  }
}

/**
 * Tracks the silence of every node connection of `cluster`, present and future, with a bound of `boundMs`
 * (the command timeout). Returns the undo (for a Cluster whose owner keeps using it).
 */
export const watch = (cluster: Cluster, boundMs: number): () => void => {
  const undo = new Map<Redis, () => void>()
  const add = (node: Redis) => {
    if (!undo.has(node)) undo.set(node, instrument(node, boundMs))
  }
  const remove = (node: Redis) => {
    undo.get(node)?.()
    undo.delete(node)
  }
  for (const node of cluster.nodes("all")) add(node)
  cluster.on("+node", add)
  cluster.on("-node", remove)
  return () => {
    cluster.off("+node", add)
    cluster.off("-node", remove)
    for (const node of [...undo.keys()]) remove(node)
  }
}
