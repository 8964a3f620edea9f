/**
 * Waiting for a Redis lock without polling. The client's shared release
 * subscriber (`ReleaseSubscriber.ts`, one connection for every lock over the
 * client) hears the keys released on the lock's channel and wakes every fiber waiting for them
 * at once; between wake-ups a waiter sends nothing. A holder that died is
 * found from its lease: a waiter knows how long the lock key has left (the
 * `PTTL` its failed attempt returned) and checks once when that runs out
 * (a renewing holder extends it: the check reports the new remainder and the
 * waiter sleeps again).
 *
 * Lost messages: while the subscriber connection is down (before its first
 * `SUBSCRIBE` is confirmed, or between a disconnect and the re-subscription)
 * waiters fall back to polling with a backoff from `pollMin` to `pollMax`; the
 * disconnect and the re-subscription each make every waiter check once. A
 * message lost without a disconnect seen here (a Cluster's subscriber moving
 * to another node) delays a waiter until the lease ends, never past its own
 * deadline.
 *
 * @since 0.1.0
 */
import { Clock, Deferred, Effect, Exit, Option, type Scope } from "effect"
import type { RedisClient } from "./RedisClient.ts"
import * as ReleaseSubscriber from "./ReleaseSubscriber.ts"

/**
 * Why a waiter woke: its key was announced released, or the subscription
 * was lost or renewed (messages may have been missed: check once).
 *
 * @category models
 * @since 0.1.0
 */
export type Wake = "released" | "recheck"

/**
 * What one check of a lock found: done (taken, or free), or held with
 * `leaseMs` left on its key (`undefined`: a key without a TTL, polled).
 *
 * @category models
 * @since 0.1.0
 */
export type Check =
  | { readonly _tag: "Done" }
  | { readonly _tag: "Held"; readonly leaseMs: number | undefined }

/**
 * A failed attempt's finding kept for the waiter that follows it (the same
 * process's `awaitRelease` after `tryAcquire`), so that waiter starts
 * without asking again. Created before the attempt is sent: a release heard
 * from then on marks it `released`.
 *
 * @category models
 * @since 0.1.0
 */
export interface Observation {
  /** When the holder's lease runs out (Clock epoch ms), once the attempt answered. */
  leaseEndsAt: number | undefined
  /** The lease's remainder was unknown (a key without a TTL). */
  unknownLease: boolean
  /** A release of the key was heard since the attempt was sent. */
  released: boolean
}

/**
 * Waiting for lock keys to be released.
 *
 * @category models
 * @since 0.1.0
 */
export interface Waiters {
  /**
   * Runs `attempt` until it answers `Done`, sleeping between attempts until
   * a release of `redisKey` is heard, the subscription changes, or the lease
   * `attempt` reported runs out (a backoff from `pollMin` to `pollMax` when
   * its lease is unknown or the subscriber is down). `attempt` gets the
   * milliseconds left before `deadline` (zero or less on a first attempt past
   * it) and why the waiter woke (`undefined` the first time and after a
   * lease ran out). When no time is left after an attempt, `onTimeout` fails
   * the loop. A pending {@link Observation} of `redisKey` answers the first
   * attempt without a command when `useObservation` is set.
   */
  poll<E, E2>(
    redisKey: string,
    deadline: number,
    attempt: (remainingMillis: number, wake: Wake | undefined) => Effect.Effect<Check, E>,
    onTimeout: () => E2,
    useObservation?: boolean
  ): Effect.Effect<void, E | E2>
  /** Starts observing `redisKey` before an attempt is sent (see {@link Observation}). */
  readonly observe: (redisKey: string) => Observation
  /** Records the attempt's answer: `Held` keeps the observation for the next waiter, `Done` drops it. */
  readonly record: (redisKey: string, observation: Observation, check: Check | undefined, now: number) => void
  /** Whether the subscriber is confirmed subscribed (releases are heard). */
  readonly subscribed: () => boolean
}

/** Slack after a lease's end before checking it, so the key has surely expired. */
const LEASE_SLACK_MS = 2
/** Observations kept before the expired ones are swept. */
const SWEEP_AT = 1_000

/**
 * Waiting built on the subscription to `channel` through the client's shared
 * release subscriber (`ReleaseSubscriber.ts`: one connection per client,
 * however many locks), registered for the life of the scope.
 *
 * @example
 * ```ts
 * import * as LockWaiters from "./LockWaiters.ts" // internal to @dogpile-effect/redis
 * const waiters = LockWaiters.make({ channel: "_lock:released", pollMinMs: 5, pollMaxMs: 50 })
 * ```
 *
 * @category constructors
 * @since 0.1.0
 */
export const make = (options: {
  readonly channel: string
  readonly pollMinMs: number
  readonly pollMaxMs: number
}): Effect.Effect<Waiters, never, RedisClient | Scope.Scope> =>
  Effect.gen(function*() {
    const state = makeState()
    const subscription = yield* ReleaseSubscriber.listen(options.channel, {
      released: (key) => released(state, key),
      changed: () => recheckAll(state)
    })
    state.subscribed = subscription.subscribed
    const poll: Waiters["poll"] = (redisKey, deadline, attempt, onTimeout, useObservation = false) =>
      pollLoop(state, options, redisKey, deadline, attempt, onTimeout, useObservation)
    return {
      poll,
      observe: (redisKey) => observe(state, redisKey),
      record: (redisKey, observation, check, now) => record(state, redisKey, observation, check, now),
      subscribed: () => state.subscribed()
    }
  })

// ---- state ------------------------------------------------------------------

interface State {
  readonly waiting: Map<string, Set<Deferred.Deferred<Wake>>>
  readonly observations: Map<string, Observation>
  /** Whether releases are heard (the shared subscriber's view of the channel). */
  subscribed: () => boolean
}

const makeState = (): State => ({ waiting: new Map(), observations: new Map(), subscribed: () => false })

const wakeKey = (state: State, key: string, wake: Wake) => {
  const set = state.waiting.get(key)
  if (set === undefined) return
  state.waiting.delete(key)
  for (const deferred of set) Deferred.doneUnsafe(deferred, Exit.succeed(wake))
}

const released = (state: State, key: string) => {
  const observation = state.observations.get(key)
  if (observation !== undefined) observation.released = true
  wakeKey(state, key, "released")
}

/** Every waiter checks once: messages may have been lost, or polling must start. */
const recheckAll = (state: State) => {
  for (const key of [...state.waiting.keys()]) wakeKey(state, key, "recheck")
}

// ---- observations -----------------------------------------------------------

const observe = (state: State, redisKey: string): Observation => {
  if (state.observations.size >= SWEEP_AT) sweep(state)
  const observation: Observation = { leaseEndsAt: undefined, unknownLease: false, released: false }
  state.observations.set(redisKey, observation)
  return observation
}

const record = (state: State, redisKey: string, observation: Observation, check: Check | undefined, now: number) => {
  if (check === undefined || check._tag === "Done") {
    if (state.observations.get(redisKey) === observation) state.observations.delete(redisKey)
    return
  }
  if (check.leaseMs === undefined) observation.unknownLease = true
  else observation.leaseEndsAt = now + check.leaseMs
}

/** Drops the observations nobody waited for (a stale value served instead) whose lease has run out. */
const sweep = (state: State) => {
  const now = Date.now()
  for (const [key, observation] of state.observations) {
    if (observation.leaseEndsAt === undefined || observation.leaseEndsAt < now) state.observations.delete(key)
  }
}

/** The pending observation of `redisKey` as a first check, taken (once) by the waiter registered for it. */
const takeObservation = (state: State, redisKey: string, now: number): Check | undefined => {
  const observation = state.observations.get(redisKey)
  if (observation === undefined) return undefined
  state.observations.delete(redisKey)
  if (observation.released) return { _tag: "Done" }
  if (observation.unknownLease) return undefined
  const ends = observation.leaseEndsAt
  return ends === undefined || ends <= now ? undefined : { _tag: "Held", leaseMs: ends - now }
}

// ---- waiting ----------------------------------------------------------------

const register = (state: State, key: string, deferred: Deferred.Deferred<Wake>) => {
  let set = state.waiting.get(key)
  if (set === undefined) {
    set = new Set()
    state.waiting.set(key, set)
  }
  set.add(deferred)
}

const unregister = (state: State, key: string, deferred: Deferred.Deferred<Wake>) =>
  Effect.sync(() => {
    const set = state.waiting.get(key)
    if (set === undefined) return
    set.delete(deferred)
    if (set.size === 0) state.waiting.delete(key)
  })

/** How long to sleep after `check`: to its lease's end while releases are heard, else the backoff `delay`. */
const sleepFor = (state: State, check: Check, delay: number): { readonly ms: number; readonly polled: boolean } =>
  check._tag === "Held" && check.leaseMs !== undefined && state.subscribed()
    ? { ms: check.leaseMs + LEASE_SLACK_MS, polled: false }
    : { ms: delay, polled: true }

const pollLoop = <E, E2>(
  state: State,
  options: { readonly pollMinMs: number; readonly pollMaxMs: number },
  redisKey: string,
  deadline: number,
  attempt: (remainingMillis: number, wake: Wake | undefined) => Effect.Effect<Check, E>,
  onTimeout: () => E2,
  useObservation: boolean
): Effect.Effect<void, E | E2> =>
  Effect.gen(function*() {
    let delay = options.pollMinMs
    let wake: Wake | undefined = undefined
    let first = useObservation
    while (true) {
      const signal = Deferred.makeUnsafe<Wake>()
      // Registered, and the observation taken, in one step: a release heard before is in the observation.
      const known = yield* Effect.clockWith((clock) =>
        Effect.sync(() => {
          register(state, redisKey, signal)
          return first ? takeObservation(state, redisKey, clock.currentTimeMillisUnsafe()) : undefined
        })
      )
      first = false
      const done = yield* Effect.gen(function*() {
        // Always one attempt, even past the deadline (a zero timeout means "try once").
        const check = known ?? (yield* attempt(deadline - (yield* Clock.currentTimeMillis), wake))
        if (check._tag === "Done") return true
        const left = deadline - (yield* Clock.currentTimeMillis)
        if (left <= 0) return yield* Effect.fail(onTimeout())
        const sleep = sleepFor(state, check, delay)
        if (sleep.polled) delay = Math.min(delay * 2, options.pollMaxMs)
        wake = Option.getOrUndefined(yield* Effect.timeoutOption(Deferred.await(signal), Math.min(sleep.ms, left)))
        return false
      }).pipe(Effect.ensuring(unregister(state, redisKey, signal)))
      if (done) return
    }
  })
