/**
 * A progress bar on stderr while priming: redrawn in place on a terminal,
 * one compact line per strategy otherwise (CI logs, pipes).
 */
import { Effect } from "effect"

/** Progress of one priming run at a time. */
export interface Progress {
  start(label: string, total: number): Effect.Effect<void>
  advance(count: number): Effect.Effect<void>
  readonly finish: Effect.Effect<void>
}

const WIDTH = 30
const REDRAW_MS = 100

const formatCount = (n: number): string => n.toLocaleString("en-US")

/** A progress bar writing to `process.stderr`. */
export const make = (): Progress => {
  const tty = process.stderr.isTTY === true
  let label = ""
  let total = 1
  let done = 0
  let startedAt = 0
  let drawnAt = 0
  const draw = (force: boolean) => {
    const now = Date.now()
    if (!tty || (!force && now - drawnAt < REDRAW_MS)) return
    drawnAt = now
    const ratio = Math.min(1, done / total)
    const filled = Math.round(ratio * WIDTH)
    const rate = done / Math.max(0.001, (now - startedAt) / 1000)
    process.stderr.write(
      `\r  ${label.padEnd(28)} [${"█".repeat(filled)}${"░".repeat(WIDTH - filled)}] ${(ratio * 100).toFixed(0).padStart(3)}% ` +
        `${formatCount(done).padStart(9)}/${formatCount(total)}  ${formatCount(Math.round(rate))}/s \x1b[K`
    )
  }
  return {
    start: (name, count) =>
      Effect.sync(() => {
        label = name
        total = Math.max(1, count)
        done = 0
        startedAt = Date.now()
        drawnAt = 0
        draw(true)
      }),
    advance: (count) =>
      Effect.sync(() => {
        done += count
        draw(false)
      }),
    finish: Effect.sync(() => {
      const seconds = (Date.now() - startedAt) / 1000
      if (tty) {
        draw(true)
        process.stderr.write("\n")
      } else {
        process.stderr.write(`  ${label}: primed ${formatCount(done)} entries in ${seconds.toFixed(1)} s\n`)
      }
    })
  }
}

/** A progress reporter that shows nothing (warm-up runs). */
export const silent: Progress = {
  start: () => Effect.void,
  advance: () => Effect.void,
  finish: Effect.void
}
