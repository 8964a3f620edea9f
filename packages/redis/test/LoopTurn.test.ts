/**
 * LoopTurn: a blocked event loop is told from an idle one, and a read that
 * found it blocked waits for a whole poll phase, not for a timer.
 */
import { assert, describe, it } from "@effect/vitest"
import * as LoopTurn from "../src/LoopTurn.ts"
import { Effect } from "effect"

/** Keeps the loop busy (no socket is read) for `ms`. */
const busyFor = (ms: number) => {
  const until = Date.now() + ms
  while (Date.now() < until) {
    // blocked
  }
}

describe("LoopTurn", () => {
  it.live("a busy stretch longer than the allowance is behind; after the next turn it is not", () =>
    Effect.gen(function*() {
      for (let round = 0; round < 20; round++) {
        yield* LoopTurn.nextTurn
        busyFor(8)
        assert.isTrue(LoopTurn.behind(Date.now(), 3), `round ${round}: after 8 ms busy`)
        const waited = Date.now()
        yield* LoopTurn.nextTurn
        // The turn is recorded as of after the block: within the time waited since, not 8 ms before it.
        assert.isFalse(LoopTurn.behind(Date.now(), Date.now() - waited + 1), `round ${round}: after a turn`)
      }
    }))

  it.live("a gap spent waiting for I/O is not a stall", () =>
    Effect.gen(function*() {
      let behind = 0
      for (let round = 0; round < 20; round++) {
        yield* LoopTurn.nextTurn
        yield* Effect.promise(() => new Promise((resolve) => setTimeout(resolve, 15)))
        if (LoopTurn.behind(Date.now(), 3)) behind++
      }
      // Only a machine that descheduled this process for 3 ms right after it woke counts one.
      assert.isBelow(behind, 10)
    }))

  it.effect("a time behind the wall clock (a TestClock's) is never behind", () =>
    Effect.gen(function*() {
      busyFor(8)
      assert.isFalse(LoopTurn.behind(yield* Effect.clockWith((clock) => clock.currentTimeMillis), 3))
      assert.isTrue(LoopTurn.behind(Date.now(), 3))
    }))
})
