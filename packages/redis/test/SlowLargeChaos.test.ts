/**
 * The short CI run of the chaos soak (`bench/chaos.ts`): 3 worker processes,
 * 30 s of random faults (CLIENT PAUSE, SIGSTOP, SIGKILL + restart, FLUSHALL,
 * CLIENT KILL) on the run's own redis-server. The 20-minute, 8-process soak is
 * `CHAOS_SECONDS=1200 CHAOS_WORKERS=8 pnpm chaos` (docs/reliability.md).
 *
 * Asserted are counts only: violations of each invariant (0), faults made,
 * calls made, creator runs, heap and file descriptor growth per worker within
 * the run's bounds. The latency invariant compares wall-clock times, so this
 * run gives it a margin no call reaches on a loaded machine (the script run
 * by hand keeps the 1 s margin).
 */
import { assert, describe, it } from "@effect/vitest"
import { spawn } from "node:child_process"
import { fileURLToPath } from "node:url"

const repoRoot = fileURLToPath(new URL("../../../", import.meta.url))

interface Summary {
  readonly violations: Record<string, number>
  readonly faults: number
  readonly calls: number
  readonly workers: ReadonlyArray<{
    readonly pid: number
    readonly heapStartMB: number
    readonly heapEndMB: number
    readonly fdStart: number
    readonly fdEnd: number
    readonly creators: number
  }>
}

const runChaos = (env: Record<string, string>): Promise<{ code: number | null; out: string; err: string }> =>
  new Promise((resolve) => {
    const childEnv = { ...process.env, ...env }
    delete childEnv["NODE_OPTIONS"]
    const child = spawn(
      process.execPath,
      ["--conditions=@dogpile-effect/source", "--import", "tsx", "bench/chaos.ts"],
      { cwd: repoRoot, env: childEnv, stdio: ["ignore", "pipe", "pipe"] }
    )
    let out = ""
    let err = ""
    child.stdout.on("data", (chunk: Buffer) => {
      out += chunk.toString()
    })
    child.stderr.on("data", (chunk: Buffer) => {
      err = (err + chunk.toString()).slice(-8_000)
    })
    child.once("exit", (code) => resolve({ code, out, err }))
  })

const summaryOf = (out: string): Summary => {
  const line = out.split("\n").find((l) => l.startsWith("summary: "))
  if (line === undefined) throw new Error(`no summary line in the chaos output:\n${out}`)
  return JSON.parse(line.slice("summary: ".length)) as Summary
}

describe("chaos soak, short CI run", () => {
  it("30 s, 3 workers, random faults: 0 violations, heap and fds flat", async () => {
    const { code, out, err } = await runChaos({
      CHAOS_SECONDS: "30",
      CHAOS_WORKERS: "3",
      CHAOS_MARGIN_MS: "60000"
    })
    const summary = summaryOf(out)
    const failed = Object.entries(summary.violations).filter(([, n]) => n > 0)
    assert.deepStrictEqual(failed, [], `${out}\n${err}`)
    assert.strictEqual(code, 0, err)
    assert.strictEqual(summary.workers.length, 3)
    // 30 s of faults 1–6 s apart (each up to 2.5 s long): at least 2 made, so the run did exercise them.
    assert.isAtLeast(summary.faults, 2)
    assert.isAtLeast(summary.calls, 300)
    for (const w of summary.workers) {
      assert.isAtLeast(w.creators, 1)
      assert.isAtMost(w.heapEndMB - w.heapStartMB, 16, `heap of ${w.pid}`)
      assert.isAtMost(w.fdEnd - w.fdStart, 4, `fds of ${w.pid}`)
    }
  }, 300_000)
})
