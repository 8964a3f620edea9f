/**
 * Lock tokens: what a lock key holds while one attempt owns it, so that only
 * that attempt's release, renewal or store deletes or extends it. A token is
 * this process's random prefix (96 bits, drawn once) followed by a counter:
 * unique across processes and attempts without drawing random bytes for each
 * lock (which cost a few percent of a locked miss's CPU). A token is not a
 * secret: anyone who can write to Redis can delete a lock key anyway.
 *
 * @since 0.1.0
 */
import { randomBytes } from "node:crypto"

const prefix = randomBytes(12).toString("base64url")
let counter = 0

/**
 * A token no other attempt, in this process or another, has used.
 *
 * @example
 * ```ts
 * // In LockAttempt.staged and the fused locked miss: one token per attempt.
 * // next() !== next()
 * ```
 *
 * @category constructors
 * @since 0.1.0
 */
export const next = (): string => prefix + (counter++).toString(36)
