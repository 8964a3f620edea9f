/**
 * The typed errors of the cache. Every failure the library reports is one of
 * these tagged errors, so callers can `Effect.catchTag` exactly what they handle.
 *
 * @since 0.1.0
 */
import { Schema } from "effect"

/**
 * A key was rejected before any I/O: empty, too long, or otherwise malformed.
 *
 * @since 0.1.0
 */
export class InvalidKeyError extends Schema.TaggedError<InvalidKeyError>()("InvalidKeyError", {
  key: Schema.String,
  reason: Schema.String
}) {
  override get message(): string {
    return `invalid cache key ${JSON.stringify(this.key)}: ${this.reason}`
  }
}

/**
 * A backend was given a key it cannot store, e.g. a hash-addressed key on a
 * backend without hash support.
 *
 * @since 0.1.0
 */
export class UnsupportedKeyError extends Schema.TaggedError<UnsupportedKeyError>()("UnsupportedKeyError", {
  key: Schema.String,
  backend: Schema.String,
  reason: Schema.String
}) {
  override get message(): string {
    return `backend ${this.backend} cannot store key ${JSON.stringify(this.key)}: ${this.reason}`
  }
}

/**
 * The store failed (connection refused, timeout, protocol error, ...).
 *
 * @since 0.1.0
 */
export class BackendError extends Schema.TaggedError<BackendError>()("BackendError", {
  backend: Schema.String,
  operation: Schema.String,
  reason: Schema.String,
  cause: Schema.optional(Schema.Defect())
}) {
  override get message(): string {
    return `${this.backend} ${this.operation} failed: ${this.reason}`
  }
}

/**
 * A value could not be encoded (functions, symbols, circular structures, values
 * the codec does not support). Nothing was written.
 *
 * @since 0.1.0
 */
export class EncodeError extends Schema.TaggedError<EncodeError>()("EncodeError", {
  codec: Schema.String,
  reason: Schema.String,
  key: Schema.optional(Schema.String)
}) {
  override get message(): string {
    const where = this.key === undefined ? "" : ` for key ${JSON.stringify(this.key)}`
    return `${this.codec} cannot encode value${where}: ${this.reason}`
  }
}

/**
 * Stored bytes could not be decoded, or decoded to a value of the wrong shape or
 * version. The region treats it as a miss and counts it; it is surfaced only by
 * the low-level codec and envelope APIs.
 *
 * @since 0.1.0
 */
export class DecodeError extends Schema.TaggedError<DecodeError>()("DecodeError", {
  codec: Schema.String,
  reason: Schema.String
}) {
  override get message(): string {
    return `${this.codec} cannot decode: ${this.reason}`
  }
}

/**
 * A blocking lock acquisition did not succeed within its timeout.
 *
 * @since 0.1.0
 */
export class LockTimeoutError extends Schema.TaggedError<LockTimeoutError>()("LockTimeoutError", {
  key: Schema.String,
  timeoutMillis: Schema.Number
}) {
  override get message(): string {
    return `lock on ${JSON.stringify(this.key)} not acquired within ${this.timeoutMillis} ms`
  }
}

/**
 * The lock backing a creation was lost while the creator ran (expired,
 * flushed, server restart), and the lock's policy is to fail. The value was
 * still stored.
 *
 * @since 0.1.0
 */
export class LockLostError extends Schema.TaggedError<LockLostError>()("LockLostError", {
  key: Schema.String
}) {
  override get message(): string {
    return `lock on ${JSON.stringify(this.key)} was lost while its creator ran`
  }
}

/**
 * A creator called `getOrCreate` for the very key it is creating. Waiting would
 * deadlock, so the inner call fails instead.
 *
 * @since 0.1.0
 */
export class ReentrantCreateError extends Schema.TaggedError<ReentrantCreateError>()("ReentrantCreateError", {
  key: Schema.String
}) {
  override get message(): string {
    return `getOrCreate(${JSON.stringify(this.key)}) was called from inside the creator of the same key`
  }
}

/**
 * Any error the cache itself can raise (creator errors are kept separate and
 * typed by the caller).
 *
 * @since 0.1.0
 */
export type CacheError =
  | InvalidKeyError
  | UnsupportedKeyError
  | BackendError
  | EncodeError
  | LockTimeoutError
  | LockLostError
  | ReentrantCreateError
  | RegionClosedError
  | InvalidOptionError
  | CreatorTimeoutError
  | CreatorResultError

/**
 * An option was given a value it cannot take (a negative or non-finite
 * duration, a size that is not a positive integer, an empty name, two options
 * that contradict each other). Raised when the region, Layer or component is
 * built, before any I/O: never a defect, never silently accepted.
 *
 * @example
 * ```ts
 * import { InvalidOptionError } from "@dogpile-effect/core"
 * const error = new InvalidOptionError({ component: "Region users", option: "expiration", reason: "must not be negative, got -1 ms" })
 * error.message // "Region users: option expiration must not be negative, got -1 ms"
 * ```
 *
 * @category errors
 * @since 0.1.0
 */
export class InvalidOptionError extends Schema.TaggedError<InvalidOptionError>()("InvalidOptionError", {
  component: Schema.String,
  option: Schema.String,
  reason: Schema.String
}) {
  override get message(): string {
    return `${this.component}: option ${this.option} ${this.reason}`
  }
}

/**
 * A region was used after the scope (or Layer) that built it had closed.
 *
 * @example
 * ```ts
 * import { RegionClosedError } from "@dogpile-effect/core"
 * new RegionClosedError({ region: "users" }).message
 * // "region users is closed: the scope or Layer that built it has been released"
 * ```
 *
 * @category errors
 * @since 0.1.0
 */
export class RegionClosedError extends Schema.TaggedError<RegionClosedError>()("RegionClosedError", {
  region: Schema.String
}) {
  override get message(): string {
    return `region ${this.region} is closed: the scope or Layer that built it has been released`
  }
}

/**
 * A creator ran longer than its hard timeout (`creatorTimeout`): it was
 * interrupted, nothing was stored and its lock was released.
 *
 * @example
 * ```ts
 * import { CreatorTimeoutError } from "@dogpile-effect/core"
 * new CreatorTimeoutError({ key: "report", timeoutMillis: 5000 }).message
 * ```
 *
 * @category errors
 * @since 0.1.0
 */
export class CreatorTimeoutError extends Schema.TaggedError<CreatorTimeoutError>()("CreatorTimeoutError", {
  key: Schema.String,
  timeoutMillis: Schema.Number
}) {
  override get message(): string {
    return `the creator of ${JSON.stringify(this.key)} did not finish within ${this.timeoutMillis} ms; nothing was stored`
  }
}

/**
 * A creator's result cannot be stored as asked: a multi-key creator returned
 * the wrong number of values, or a value carried an invalid expiration.
 *
 * @example
 * ```ts
 * import { CreatorResultError } from "@dogpile-effect/core"
 * new CreatorResultError({ key: "a", reason: "3 values for 2 keys" }).message
 * ```
 *
 * @category errors
 * @since 0.1.0
 */
export class CreatorResultError extends Schema.TaggedError<CreatorResultError>()("CreatorResultError", {
  key: Schema.String,
  reason: Schema.String
}) {
  override get message(): string {
    return `the creator of ${JSON.stringify(this.key)} returned a result that cannot be stored: ${this.reason}`
  }
}
