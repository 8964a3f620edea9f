/**
 * The node-redis guide's program (`examples/guides/node-redis.ts`), run as a
 * reader runs it (tsx, REDIS_URL) against the test server: it prints what
 * the guide says, and the key it wrote carries a Redis TTL.
 */
import { execFile } from "node:child_process"
import { fileURLToPath } from "node:url"
import { promisify } from "node:util"
import { createClient } from "redis"
import { assert, describe, inject, it } from "vitest"

const url = inject("redisUrl")
const root = fileURLToPath(new URL("../../../", import.meta.url))
const run = promisify(execFile)

describe("examples", () => {
  it("guides/node-redis.ts: 1,000 callers, one creator run, the app's counter on the same client", async () => {
    const { stderr, stdout } = await run(
      process.execPath,
      ["--import", "tsx", "--conditions=@dogpile-effect/source", "examples/guides/node-redis.ts"],
      { cwd: root, env: { ...process.env, REDIS_URL: url }, timeout: 60_000 }
    )
    const out = stdout + stderr
    assert.include(out, "node-redis: 1000 callers got user 42, 1 creator run, visits 1")
    const pid = /guide-node-redis-(\d+)/.exec(await keysOf("guide-node-redis-*"))?.[1]
    assert.isDefined(pid, "the program wrote its keys")
    const client = createClient({ url })
    await client.connect()
    try {
      const pttl = await client.pTTL(`guide-node-redis-${pid}:user:42`)
      assert.isAbove(pttl, 10 * 60_000, "fresh for 10 minutes, kept longer for the stale window")
    } finally {
      await client.close()
    }
  }, 120_000)
})

/** The keys matching `pattern`, joined (SCAN, so other tests' keys are not blocked). */
const keysOf = async (pattern: string): Promise<string> => {
  const client = createClient({ url })
  await client.connect()
  try {
    const found: Array<string> = []
    for await (const batch of client.scanIterator({ MATCH: pattern, COUNT: 1000 })) found.push(...batch)
    return found.join(" ")
  } finally {
    await client.close()
  }
}
