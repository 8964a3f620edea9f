/**
 * A standalone server known to be silent: a command has waited a whole
 * `commandTimeout` and nothing has answered since it was sent. Commands
 * issued then fail at once instead of waiting a timeout of their own behind it
 * (one connection answers in order: they could not be answered before it).
 * That keeps a caller queued behind another (an in-process follower re-reading
 * after its leader failed, a lock release after a failed store) within its own
 * deadline rather than one timeout per step. One probe (`PING`) at a time
 * finds out when the server answers again; any reply ends the silence, and so
 * does a reconnection.
 *
 * @since 0.1.0
 */

/**
 * The silence tracker of one connection.
 *
 * @category models
 * @since 0.1.0
 */
export interface ServerSilence {
  /**
   * Called as a command is about to be sent at `now` (real time, ms): how long
   * the server has been silent when it is known silent (the command should
   * fail at once; a probe is sent if none is waiting), else `undefined` (the
   * command goes out and is counted as unanswered until a reply).
   */
  readonly beforeSend: (now: number) => number | undefined
  /** A reply arrived (a value or a Redis error reply): the server is answering. */
  readonly replied: () => void
  /** The connection is (again) ready: nothing sent on the old one counts. */
  readonly reset: () => void
}

/**
 * A tracker that never reports silence (a Cluster's client as a whole: its
 * commands go to several servers, one silent node says nothing about the
 * others; each node connection has a tracker of its own instead).
 *
 * @example
 * ```ts
 * import { ServerSilence } from "@dogpile-effect/redis"
 * ServerSilence.never.beforeSend(Date.now()) // undefined
 * ```
 *
 * @category constructors
 * @since 0.1.0
 */
export const never: ServerSilence = {
  beforeSend: () => undefined,
  replied: () => undefined,
  reset: () => undefined
}

/**
 * Whether a rejection is a reply of the server (an ioredis `ReplyError`:
 * `WRONGTYPE`, `OOM`, `NOSCRIPT` …) rather than a timeout or a closed
 * connection.
 *
 * @example
 * ```ts
 * import { ServerSilence } from "@dogpile-effect/redis"
 * ServerSilence.isReply(new Error("Command timed out")) // false
 * ```
 *
 * @category predicates
 * @since 0.1.0
 */
export const isReply = (cause: unknown): boolean =>
  typeof cause === "object" && cause !== null && (cause as { name?: unknown }).name === "ReplyError"

/**
 * Tracks one standalone connection: silent once a command sent `boundMs` ago
 * or more has had no reply, and nothing has answered since. That evidence is
 * fresh for another `boundMs`: a command then fails at once, and a probe
 * (`probe`, a bounded `PING`) is sent if none is waiting (a probe left
 * unanswered renews the evidence, its reply ends the silence). Older evidence
 * proves nothing about now: the next command goes out and is the new test (it
 * waits its own bound at most), so a connection used rarely never fails a call
 * on the strength of an old silence.
 *
 * @example
 * ```ts
 * import { ServerSilence } from "@dogpile-effect/redis"
 * const silence = ServerSilence.make(1000, () => Promise.resolve("PONG"))
 * silence.beforeSend(0) // undefined: sent, unanswered since 0
 * silence.beforeSend(1500) // 1500: a command sent 1.5 s ago is unanswered
 * silence.beforeSend(2500) // undefined: evidence older than 2 bounds, this one tests
 * ```
 *
 * @category constructors
 * @since 0.1.0
 */
export const make = (boundMs: number, probe: () => Promise<unknown>): ServerSilence => {
  /** When the oldest command sent since the last reply went out; `undefined` when everything sent was answered. */
  let unansweredSince: number | undefined
  let probing = false
  const replied = () => {
    unansweredSince = undefined
  }
  const sendProbe = (now: number) => {
    probing = true
    probe().then(replied, (cause: unknown) => {
      if (isReply(cause)) replied()
      // Unanswered within its bound: the server was still silent when it was sent.
      else if (unansweredSince !== undefined) unansweredSince = Math.max(unansweredSince, now)
    }).finally(() => {
      probing = false
    })
  }
  const beforeSend = (now: number): number | undefined => {
    if (unansweredSince === undefined) {
      unansweredSince = now
      return undefined
    }
    const silentFor = now - unansweredSince
    if (silentFor < boundMs) return undefined
    if (silentFor >= 2 * boundMs && !probing) {
      // Old evidence: this command tests the server again.
      unansweredSince = now
      return undefined
    }
    if (!probing) sendProbe(now)
    return silentFor
  }
  return { beforeSend, replied, reset: replied }
}
