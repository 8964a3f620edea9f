/**
 * The README's quickstart (`examples/quickstart.ts`), run as a user would run
 * it (tsx, REDIS_URL) against the test server: it prints what the README says,
 * and the key it wrote carries a Redis TTL.
 */
import { execFile } from "node:child_process"
import { fileURLToPath } from "node:url"
import { promisify } from "node:util"
import { Redis } from "ioredis"
import { afterAll, assert, describe, inject, it } from "vitest"

const url = inject("redisUrl")
const root = fileURLToPath(new URL("../../../", import.meta.url))
const run = promisify(execFile)
const client = new Redis(url)

afterAll(async () => {
  await client.quit()
})

describe("examples", () => {
  it("quickstart: 1,000 callers get the value, and Redis expires the key (positive PTTL)", async () => {
    await client.del("users:user:42")
    const { stdout, stderr } = await run(
      process.execPath,
      ["--import", "tsx", "--conditions=@dogpile-effect/source", "examples/quickstart.ts"],
      { cwd: root, env: { ...process.env, REDIS_URL: url }, timeout: 60_000 }
    )
    assert.include(stdout + stderr, "1000 callers got user 42")
    const pttl = await client.pttl("users:user:42")
    assert.isAbove(pttl, 10 * 60_000, "fresh for 10 minutes, kept longer for the stale window")
    assert.isAtMost(pttl, 20 * 60_000)
  })

  it("features: tags, own expiration, hard timeout, early refresh and events, as printed", async () => {
    const { stdout, stderr } = await run(
      process.execPath,
      ["--import", "tsx", "--conditions=@dogpile-effect/source", "examples/features.ts"],
      { cwd: root, env: { ...process.env, REDIS_URL: url }, timeout: 60_000 }
    )
    const out = stdout + stderr
    assert.include(out, "tags: p:1 invalidated, p:2 kept")
    assert.include(out, "own expiration: expires 100 ms after creation")
    assert.include(out, "hard timeout: CreatorTimeoutError, lock Free")
    const creations = Number(/early refresh: (\d+) creations/.exec(out)?.[1])
    // The first creation plus about one per expiry period: never one per read.
    assert.isAtLeast(creations, 2)
    assert.isAtMost(creations, 5)
    assert.include(out, "events: Miss, Created, Miss")
  })

  it("faults: the application answers while its Redis cache fails, as printed", async () => {
    const { stdout, stderr } = await run(
      process.execPath,
      ["--import", "tsx", "--conditions=@dogpile-effect/source", "examples/faults.ts"],
      { cwd: root, env: { ...process.env, REDIS_URL: url }, timeout: 60_000 }
    )
    const out = stdout + stderr
    assert.include(out, "cache down: prices 101,102,103, 3 catalogue calls")
    assert.include(out, "stale while down: 101 then 101, 2 catalogue calls")
    assert.include(out, "typed error: unavailable, 0 catalogue calls")
    assert.include(out, "flaky reads: 100 answered, 22 bypassed, 23 catalogue calls")
    assert.include(out, "store: redis")
  })
})
