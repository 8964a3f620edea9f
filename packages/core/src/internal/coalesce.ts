/**
 * In-process coalescing of missing keys: the callers of one process that ask
 * for a missing key queue behind one in-flight creation (its leader runs
 * `Missing.fillMissing`); the others get its value, or its lock timeout.
 *
 * @internal
 */
import { Cause, Deferred, Effect, Exit, Option } from "effect"
import { type CacheError, CreatorTimeoutError, LockTimeoutError } from "../CacheError.ts"
import * as Creator from "./creator.ts"
import type { Target } from "./keys.ts"
import { fillMissing, type MissingContext, timed } from "./missing.ts"
import * as Trace from "./trace.ts"

/**
 * Missing keys: join the in-process creations already running for some of
 * them, lead the others. A follower whose leader failed retries on its own
 * (it may become the creator), except after a lock timeout or a creator's
 * hard timeout, which the leader's followers share. Registers its creations when called: call it as the run
 * reaches it (inside a running effect), not ahead.
 */
export const coalesce = <A, E, R>(m: MissingContext<A, E, R>, targets: ReadonlyArray<Target>): Effect.Effect<void, E | CacheError, R> => {
  const { d } = m
  const leading: Array<Target> = []
  const following: Array<[Target, Deferred.Deferred<A, unknown>]> = []
  const mine = new Map<string, Deferred.Deferred<A, unknown>>()
  for (const target of targets) {
    const running = d.inflight.get(target.id)
    if (running !== undefined) following.push([target, running])
    else {
      const deferred = Deferred.makeUnsafe<A, unknown>()
      d.inflight.set(target.id, deferred)
      mine.set(target.id, deferred)
      leading.push(target)
    }
  }
  if (leading.length === 0) return followAll(m, following)
  const lead = Effect.onExit(fillMissing(m, leading), (exit) => {
    settleFollowers(m, leading, mine, exit)
    return Effect.void
  })
  return following.length === 0 ? lead : Effect.andThen(lead, followAll(m, following))
}

/** The callers of keys another caller of this process is creating: each waits for its leader. */
const followAll = <A, E, R>(
  m: MissingContext<A, E, R>,
  following: ReadonlyArray<readonly [Target, Deferred.Deferred<A, unknown>]>
): Effect.Effect<void, E | CacheError, R> =>
  Effect.asVoid(Creator.together(following, ([target, deferred]) => followOne(m, target, deferred)))

/** Hands the leader's outcome to the callers waiting on its keys. */
const settleFollowers = <A, E, R, E2>(
  m: MissingContext<A, E, R>,
  leading: ReadonlyArray<Target>,
  mine: ReadonlyMap<string, Deferred.Deferred<A, unknown>>,
  exit: Exit.Exit<void, E2>
): void => {
  for (const target of leading) {
    const deferred = mine.get(target.id) as Deferred.Deferred<A, unknown>
    if (m.d.inflight.get(target.id) === deferred) m.d.inflight.delete(target.id)
    const result: Exit.Exit<A, unknown> = Exit.isSuccess(exit) && m.out.has(target.id)
      ? Exit.succeed(m.out.get(target.id) as A)
      : Exit.isFailure(exit)
      ? Exit.failCause(exit.cause)
      : Exit.fail("no value")
    Deferred.doneUnsafe(deferred, result)
  }
}

/**
 * The leader's failures its followers share rather than retry: its lock timeout (they share its
 * deadline) and its creator's hard timeout (the creator they would run is the one that just took
 * too long; retrying it one follower after another ran it once per caller, each after the last).
 */
const isShared = (error: unknown): error is LockTimeoutError | CreatorTimeoutError =>
  error instanceof LockTimeoutError || error instanceof CreatorTimeoutError

/** A follower: the leader's value, or its shared failure; after any other failure, a try of its own. */
const followOne = <A, E, R>(
  m: MissingContext<A, E, R>,
  target: Target,
  deferred: Deferred.Deferred<A, unknown>
): Effect.Effect<void, E | CacheError, R> =>
  Effect.flatMap(timed(m.d, Effect.exit(Deferred.await(deferred))), (exit): Effect.Effect<void, E | CacheError, R> => {
    if (Exit.isSuccess(exit)) return Effect.andThen(Trace.marking("miss"), Effect.sync(() => void m.out.set(target.id, exit.value)))
    const shared = Cause.findErrorOption(exit.cause).pipe(Option.filter(isShared))
    if (Option.isSome(shared)) return Effect.fail(shared.value)
    // The leader's creator failed or was interrupted: read again, and create if we must.
    return Effect.flatMap(m.d.reread([target], m.call), ([found]) =>
      found === undefined || found._tag === "Missing"
        ? coalesce(m, [target])
        : Effect.andThen(Trace.marking("miss"), Effect.sync(() => void m.out.set(target.id, found.value))))
  })

