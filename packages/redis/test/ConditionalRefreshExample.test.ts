/**
 * `examples/conditional-refresh.ts`, run as a user would run it (tsx,
 * REDIS_URL) against the test server: over 20 expiries of a ~200 KB document
 * (changed once), the plain refresh downloads it 21 times; the conditional
 * refresh downloads it twice and gets 19 `304`s. Counts are the server's own.
 * What the region sends Redis: renewed in place, 19 `restampMany` calls of
 * 34 bytes each (the old and new 17-byte headers) instead of 19 re-reads and
 * 19 SETs of the whole 214,930-byte entry.
 */
import { execFile } from "node:child_process"
import { fileURLToPath } from "node:url"
import { promisify } from "node:util"
import { assert, describe, inject, it } from "vitest"

const url = inject("redisUrl")
const root = fileURLToPath(new URL("../../../", import.meta.url))
const run = promisify(execFile)

describe("examples", () => {
  it("conditional refresh: 2 full responses instead of 21, about a tenth of the body bytes, as printed", async () => {
    const { stdout, stderr } = await run(
      process.execPath,
      ["--import", "tsx", "--conditions=@dogpile-effect/source", "examples/conditional-refresh.ts"],
      { cwd: root, env: { ...process.env, REDIS_URL: url }, timeout: 60_000 }
    )
    const out = stdout + stderr
    assert.include(out, "without conditional refresh: 21 requests, 21 full, 0 not modified, 4513173 body bytes")
    assert.include(out, "with conditional refresh: 21 requests, 2 full, 19 not modified, 429826 body bytes")
    // Both serve the document's change: version 1 first, version 2 at the end.
    assert.strictEqual(out.match(/versions 1\.\.2/g)?.length, 2)
    assert.include(out, "body bytes saved: 4083347 (0.095 of the plain refresh); store: redis")
    assert.include(out, "without conditional refresh, to the store: 4513362 bytes written; calls: get 22, getMany 21, set 21")
    assert.include(out, "conditional, renewals rewritten, to the store: 4513530 bytes written; calls: get 41, getMany 21, set 21")
    // 2 creations (2 x 214,930 bytes) and 19 renewals of 2 x 17 header bytes each.
    assert.include(out, "conditional, renewals in place, to the store: 430506 bytes written; calls: get 22, getMany 21, restampMany 19, set 2")
  }, 90_000)
})
