/**
 * When this process last read its sockets. An invalidation is heard only when
 * the event loop reads the subscriber's socket; while the loop is blocked
 * (a long synchronous stretch, a garbage-collection pause), another client's
 * write and its invalidation wait unread in the kernel's buffers, and a local
 * copy would be served however long ago Redis announced its change. The near
 * cache asks {@link behind} before serving a copy: when the loop has not
 * finished a turn (read its sockets) within the allowed lag, the read waits
 * for the next turn ({@link nextTurn}), by which time every invalidation that
 * had arrived is applied, and only then looks at the local copy.
 *
 * How a turn is seen: Node runs `setImmediate` callbacks right after the poll
 * phase that reads sockets, and an immediate queued by one runs only after the
 * next poll phase; so two chained immediates prove that everything that had
 * arrived by the first one has been read. Reads ask for that when the record
 * is past half its allowance, so a loop that keeps reading keeps it fresh; no
 * timer (a 1 ms timer alone costs about 5% of a core on a small VM). A gap
 * without reads is told from a stall by Node's idle-time metric: a loop that
 * was waiting for I/O read every socket as soon as data arrived. Plain
 * `setImmediate` on purpose: a fiber resumed by the Effect scheduler does not
 * run at a known phase of the loop.
 *
 * @since 0.1.0
 */
import { Effect } from "effect"

// The host's own timer and clock, as they were when this module loaded: a test that fakes timers later
// (`vi.useFakeTimers()`) must not make a read wait for an immediate that only a faked clock would run.
const wallClock = Date.now.bind(Date)
const immediately = globalThis.setImmediate.bind(globalThis)
const cancelImmediate = globalThis.clearImmediate.bind(globalThis)

/** Socket data that had arrived by this time has been read. */
let lastTurn = wallClock()
/** The loop's idle time (waiting for I/O) at {@link lastTurn}. */
let idleAtTurn = 0
let pending = false

// Node's cumulative time spent waiting for I/O (libuv's idle-time metric, in ms); 0 where absent.
const timing = (globalThis.performance as { readonly nodeTiming?: { readonly idleTime?: number } } | undefined)?.nodeTiming
const idleTime = (): number => timing?.idleTime ?? 0

const recorded = (readBy: number, idle: number): void => {
  if (readBy <= lastTurn) return
  lastTurn = readBy
  idleAtTurn = idle
}

/**
 * Calls `after(readBy)` once a whole poll phase that began after this call has
 * run: `readBy` is a time before that phase began, so everything that had
 * arrived on any socket by then has been read. Two chained immediates: the
 * first runs at the end of the current turn (whose poll may have begun before
 * this call: data that arrived during it waits for the next one), the second
 * at the end of the next. Returns a cancel function.
 */
const afterFullTurn = (after: (readBy: number, idle: number) => void, unref: boolean): () => void => {
  let handle = immediately(() => {
    const readBy = wallClock()
    const idle = idleTime()
    handle = immediately(() => after(readBy, idle))
    if (unref) handle.unref()
  })
  if (unref) handle.unref()
  return () => cancelImmediate(handle)
}

/** Asks for the next full turn to be recorded (once, however often asked before it). */
const request = (): void => {
  if (pending) return
  pending = true
  afterFullTurn((readBy, idle) => {
    pending = false
    recorded(readBy, idle)
  }, true)
}

/**
 * Whether socket data may have waited unread for more than `maxLagMs`: the
 * loop has not finished a recorded turn within `maxLagMs` of `now`, and it
 * was busy (not waiting for I/O, by Node's idle-time metric) for more than
 * `maxLagMs` of that time. `now` is the caller's clock; a clock ahead of the
 * wall clock (a `TestClock`) is not taken for a stall: the wall clock
 * confirms it first. Past half the allowance, the next full turn is recorded.
 *
 * @example
 * ```ts
 * import * as LoopTurn from "./LoopTurn.ts" // internal to @dogpile-effect/redis
 * const serveLocally = !LoopTurn.behind(Date.now(), 3)
 * ```
 *
 * @category predicates
 * @since 0.1.0
 */
export const behind = (now: number, maxLagMs: number): boolean => {
  const age = now - lastTurn
  if (age <= maxLagMs) {
    // Past half the allowance: have the next full turn recorded before reads need it.
    if (age > maxLagMs / 2) request()
    return false
  }
  const elapsed = wallClock() - lastTurn
  if (elapsed <= maxLagMs) return false
  request()
  // Data waits unread only while the loop is busy: a loop that spent the gap waiting for I/O read
  // everything the moment it arrived, except what came during the current busy stretch (shorter).
  const busy = elapsed - (idleTime() - idleAtTurn)
  return busy > maxLagMs
}

/**
 * Waits until the event loop has read everything that had arrived on its
 * sockets when this started (a whole poll phase begun after it), and records
 * it. Two `setImmediate`s: no Redis round trip, no timer.
 *
 * @example
 * ```ts
 * import * as LoopTurn from "./LoopTurn.ts" // internal to @dogpile-effect/redis
 * import { Effect } from "effect"
 * const afterInvalidationsAreRead = Effect.andThen(LoopTurn.nextTurn, Effect.log("sockets read"))
 * ```
 *
 * @category constructors
 * @since 0.1.0
 */
export const nextTurn: Effect.Effect<void> = Effect.callback<void>((resume) => {
  const cancel = afterFullTurn((readBy, idle) => {
    recorded(readBy, idle)
    resume(Effect.void)
  }, false)
  return Effect.sync(cancel)
})
