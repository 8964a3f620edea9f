/**
 * How the `dogpile` command ends: its exit codes, and the one-line message
 * that names the cause of a failure (with any password removed).
 *
 * @since 0.1.0
 */
import { Schema } from "effect"

/**
 * The exit codes of `dogpile`: `0` done, `1` the key (or entry) was not
 * found, `2` a usage or configuration error (a bad flag, URL, namespace or
 * key), `3` Redis failed (unreachable, refused, timed out).
 *
 * @example
 * ```ts
 * import { Failure } from "@dogpile-effect/cli"
 * Failure.ExitCode.notFound // 1
 * ```
 *
 * @category constants
 * @since 0.1.0
 */
export const ExitCode = { ok: 0, notFound: 1, usage: 2, redis: 3, internal: 70 } as const

/**
 * A failed command: its exit code and the line printed for it.
 *
 * @example
 * ```ts
 * import { Failure } from "@dogpile-effect/cli"
 * new Failure.CliFailure({ exitCode: 1, reason: "no entry users:1" }).message // "no entry users:1"
 * ```
 *
 * @category errors
 * @since 0.1.0
 */
export class CliFailure extends Schema.TaggedError<CliFailure>()("CliFailure", {
  exitCode: Schema.Number,
  reason: Schema.String
}) {
  override get message(): string {
    return this.reason
  }
}

/**
 * The failure of a key that has no entry (exit code 1).
 *
 * @example
 * ```ts
 * import { Failure } from "@dogpile-effect/cli"
 * Failure.notFound("users:1").exitCode // 1
 * ```
 *
 * @category constructors
 * @since 0.1.0
 */
export const notFound = (key: string): CliFailure =>
  new CliFailure({ exitCode: ExitCode.notFound, reason: `no entry for ${key}` })

/**
 * The failure of a key whose entry exists but which `get` cannot return
 * (exit code 1): hard-invalidated, or not decodable with the envelope and
 * codec given.
 *
 * @example
 * ```ts
 * import { Failure } from "@dogpile-effect/cli"
 * Failure.undecodable("user:1", "invalidated", "--envelope full --codec json").exitCode // 1
 * ```
 *
 * @category constructors
 * @since 0.1.0
 */
export const undecodable = (
  key: string,
  state: "fresh" | "stale" | "invalidated",
  layout: string
): CliFailure =>
  new CliFailure({
    exitCode: ExitCode.notFound,
    reason: state === "invalidated"
      ? `the entry for ${key} is invalidated (hard): it reads as a miss`
      : `the entry for ${key} does not decode with ${layout}`
  })

/**
 * A usage or configuration failure (exit code 2).
 *
 * @example
 * ```ts
 * import { Failure } from "@dogpile-effect/cli"
 * Failure.usage("--limit must be positive").exitCode // 2
 * ```
 *
 * @category constructors
 * @since 0.1.0
 */
export const usage = (reason: string): CliFailure => new CliFailure({ exitCode: ExitCode.usage, reason })

/** Errors of the library that come from what the operator typed, not from Redis. */
const USAGE_TAGS = new Set(["InvalidOptionError", "InvalidKeyError", "UnsupportedKeyError"])

const tagOf = (error: unknown): string | undefined =>
  typeof error === "object" && error !== null && "_tag" in error && typeof error._tag === "string"
    ? error._tag
    : undefined

const messageOf = (error: unknown): string => {
  if (error instanceof Error && error.message.length > 0) return error.message
  return tagOf(error) ?? String(error)
}

/** The password of any `scheme://user:password@` in a text. */
const URL_PASSWORD = /([A-Za-z][A-Za-z0-9+.-]*:\/\/[^:/@\s]*:)[^@\s]*@/g

/**
 * Removes every secret from a message (the given ones, and the password of
 * any URL in it), and folds it onto one line.
 *
 * @example
 * ```ts
 * import { Failure } from "@dogpile-effect/cli"
 * Failure.scrub("auth s3cret failed\nretrying", ["s3cret"]) // "auth *** failed retrying"
 * Failure.scrub("bad argument redis://:pw@host", []) // "bad argument redis://:***@host"
 * ```
 *
 * @category formatting
 * @since 0.1.0
 */
export const scrub = (message: string, secrets: ReadonlyArray<string>): string =>
  secrets.filter((secret) => secret.length > 0)
    .reduce((text, secret) => text.split(secret).join("***"), message)
    .replace(URL_PASSWORD, "$1***@")
    .replace(/\s*\n\s*/g, " ")
    .trim()

/**
 * A failure of the library as a {@link CliFailure}: option, key and URL
 * errors are usage errors (2); everything else (a `BackendError`, a lock
 * timeout) is a Redis error (3). The message keeps the error's own words,
 * without the secrets.
 *
 * @example
 * ```ts
 * import { Failure } from "@dogpile-effect/cli"
 * import { BackendError } from "@dogpile-effect/core"
 * const failure = Failure.fromError(new BackendError({ backend: "redis", operation: "get", reason: "not connected" }), [])
 * failure.exitCode // 3
 * ```
 *
 * @category constructors
 * @since 0.1.0
 */
export const fromError = (error: unknown, secrets: ReadonlyArray<string>): CliFailure => {
  if (error instanceof CliFailure) return new CliFailure({ exitCode: error.exitCode, reason: scrub(error.reason, secrets) })
  const tag = tagOf(error)
  const exitCode = tag !== undefined && USAGE_TAGS.has(tag) ? ExitCode.usage : ExitCode.redis
  return new CliFailure({ exitCode, reason: scrub(messageOf(error), secrets) })
}
