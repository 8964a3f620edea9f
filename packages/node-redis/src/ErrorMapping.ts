/**
 * node-redis failures as the cache's typed `BackendError`: the operation and
 * the cause by name (`ErrorReply`, `ClientClosedError`, a timeout, ...), with
 * the client's password scrubbed from every message.
 *
 * @since 0.1.0
 */
import { BackendError } from "@dogpile-effect/core"
import type { NodeRedis } from "@effect/platform-node/NodeRedis"
import { Effect } from "effect"
import type * as Redis from "effect/persistence/Redis"

/**
 * The backend name in errors and in `Backend.name`.
 *
 * @example
 * ```ts
 * BACKEND // "node-redis"
 * ```
 *
 * @since 0.1.0
 */
export const BACKEND = "node-redis"

/**
 * How failures of one client are reported: its secrets, and the bound on a
 * command.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * const ping = (report: Reporter, client: { ping(): Promise<string> }) =>
 *   report.run("ping", () => client.ping(), 1000) // Effect<string, BackendError>
 * ```
 *
 * @category models
 * @since 0.1.0
 */
export interface Reporter {
  /** The `BackendError` for `cause` (any thrown value, or a `RedisError` wrapping one). */
  readonly toError: (operation: string, cause: unknown) => BackendError
  /** Runs `promise`, failing with a `BackendError` on rejection or after `timeoutMillis`. */
  readonly run: <A>(operation: string, promise: () => Promise<A>, timeoutMillis: number) => Effect.Effect<A, BackendError>
  /** Bounds an Effect's Redis command by `timeoutMillis`, mapping its `RedisError`. */
  readonly bound: <A>(operation: string, effect: Effect.Effect<A, Redis.RedisError>, timeoutMillis: number) => Effect.Effect<A, BackendError>
}

const decode = (text: string): string => {
  try {
    return decodeURIComponent(text)
  } catch {
    return text
  }
}

/** The password of the client's options and of its URL, when there is one. */
const secretsOf = (client: NodeRedis["Service"]["client"] | undefined): ReadonlyArray<string> => {
  const options = client?.options
  const secrets: Array<string> = []
  if (typeof options?.password === "string" && options.password.length > 0) secrets.push(options.password)
  if (typeof options?.url === "string") {
    try {
      const password = new URL(options.url).password
      if (password.length > 0) secrets.push(password, decode(password))
    } catch {
      // An unparsable URL never connected; nothing to scrub from it.
    }
  }
  return secrets
}

/**
 * `text` with every secret and any `user:password@` of a URL replaced.
 *
 * @example
 * ```ts
 * scrub("redis://:hunter2@db:6379 refused", ["hunter2"]) // "redis://***@db:6379 refused"
 * ```
 *
 * @since 0.1.0
 */
export const scrub = (text: string, secrets: ReadonlyArray<string>): string => {
  let out = text.replace(/(rediss?:\/\/)[^@/\s]*@/g, "$1***@")
  for (const secret of secrets) out = out.split(secret).join("***")
  return out
}

/** The cause of a failure: a `RedisError`'s own cause, or the thrown value. */
const unwrap = (cause: unknown): unknown =>
  typeof cause === "object" && cause !== null && (cause as { _tag?: unknown })._tag === "RedisError"
    ? (cause as { cause?: unknown }).cause
    : cause

/** `Name: message` of an error (the name omitted when it says nothing), or the value as text. */
const describe = (cause: unknown): string => {
  if (cause instanceof Error) {
    const message = cause.message.length > 0 ? cause.message : "no message"
    return cause.name === "Error" ? message : `${cause.name}: ${message}`
  }
  return String(cause)
}

/**
 * Fails with `onTimeout()` after `millis` of real time. A bound on I/O waits
 * for a socket, not for the program's clock: a `TestClock` moved while a
 * command is in flight must not fail it.
 */
const realTimeout = <E>(millis: number, onTimeout: () => E): Effect.Effect<never, E> =>
  Effect.callback<never, E>((resume) => {
    const timer = setTimeout(() => resume(Effect.fail(onTimeout())), millis)
    return Effect.sync(() => clearTimeout(timer))
  })

/**
 * The reporter of one node-redis client (`undefined` for a `Redis` service
 * that is not node-redis': nothing is known to scrub beyond URL credentials).
 *
 * @example
 * ```ts
 * import { NodeRedis } from "@effect/platform-node/NodeRedis"
 * import { Effect } from "effect"
 *
 * const ping = Effect.gen(function*() {
 *   const { client } = yield* NodeRedis
 *   const report = reporter(client)
 *   return yield* report.run("ping", () => client.ping(), 1000)
 * })
 * ```
 *
 * @category constructors
 * @since 0.1.0
 */
export const reporter = (client: NodeRedis["Service"]["client"] | undefined): Reporter => {
  const secrets = secretsOf(client)
  const toError = (operation: string, cause: unknown) => {
    const inner = unwrap(cause)
    return new BackendError({ backend: BACKEND, operation, reason: scrub(describe(inner), secrets) })
  }
  const timedOut = (operation: string, timeoutMillis: number) =>
    new BackendError({ backend: BACKEND, operation, reason: `no reply within ${timeoutMillis} ms` })
  const bounded = <A>(operation: string, effect: Effect.Effect<A, BackendError>, timeoutMillis: number) =>
    Effect.raceFirst(effect, realTimeout(Math.max(1, timeoutMillis), () => timedOut(operation, timeoutMillis)))
  // One callback for the promise and its timer (no racing fiber): the backend's every call goes through it.
  const run = <A>(operation: string, promise: () => Promise<A>, timeoutMillis: number) =>
    Effect.callback<A, BackendError>((resume) => {
      let done = false
      const settle = (outcome: Effect.Effect<A, BackendError>) => {
        if (done) return
        done = true
        clearTimeout(timer)
        resume(outcome)
      }
      const timer = setTimeout(() => settle(Effect.fail(timedOut(operation, timeoutMillis))), Math.max(1, timeoutMillis))
      try {
        promise().then((value) => settle(Effect.succeed(value)), (cause) => settle(Effect.fail(toError(operation, cause))))
      } catch (cause) {
        settle(Effect.fail(toError(operation, cause)))
      }
      return Effect.sync(() => clearTimeout(timer))
    })
  const bound = <A>(operation: string, effect: Effect.Effect<A, Redis.RedisError>, timeoutMillis: number) =>
    bounded(operation, Effect.mapError(effect, (error) => toError(operation, error)), timeoutMillis)
  return { toError, run, bound }
}
