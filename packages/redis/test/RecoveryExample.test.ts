/**
 * `examples/recovery.ts`, run as a user would run it (tsx, REDIS_URL) against
 * the test server: without `Recovery` the other process serves the 2,000
 * values older than the lost invalidation; with it, after the replay, 0 stale
 * values and 1,000/1,000 writes, in both processes.
 */
import { execFile } from "node:child_process"
import { fileURLToPath } from "node:url"
import { promisify } from "node:util"
import { assert, describe, inject, it } from "vitest"

const url = inject("redisUrl")
const root = fileURLToPath(new URL("../../../", import.meta.url))
const run = promisify(execFile)

describe("examples", () => {
  it("recovery: the invalidation and writes issued in the outage reach Redis, as printed", async () => {
    const { stdout, stderr } = await run(
      process.execPath,
      ["--import", "tsx", "--conditions=@dogpile-effect/source", "examples/recovery.ts"],
      { cwd: root, env: { ...process.env, REDIS_URL: url }, timeout: 60_000 }
    )
    const out = stdout + stderr
    assert.include(out, "without Recovery: invalidation failed, 0 of 1000 sets accepted; B serves 2000 stale values")
    assert.include(out, "with Recovery: queued 1001, replayed 1001 after 4 failed probes; A serves 0 stale and 1000/1000 sets, B serves 0 stale and 1000/1000 sets")
    assert.include(out, "store: redis")
  }, 90_000)
})
