/**
 * Tags and early refresh across real processes (#15): each process has its own
 * region instance, tag-mark cache and in-process state; only Redis is shared.
 */
import { execFile } from "node:child_process"
import { fileURLToPath } from "node:url"
import { promisify } from "node:util"
import { Redis } from "ioredis"
import { afterAll, assert, describe, inject, it } from "vitest"

const url = inject("redisUrl")
const run = promisify(execFile)
const worker = fileURLToPath(new URL("./fixtures/features-worker.ts", import.meta.url))
const client = new Redis(url)

afterAll(async () => {
  await client.quit()
})

const spawnWorker = async (args: Record<string, unknown>) => {
  const { stdout } = await run(
    process.execPath,
    ["--conditions=@dogpile-effect/source", "--import", "tsx", worker, JSON.stringify({ url, ...args })],
    { timeout: 90_000 }
  )
  return JSON.parse(stdout.trim().split("\n").pop() ?? "{}") as Record<string, unknown>
}

describe("features across processes", () => {
  it("a tag invalidated by one process is seen by another; untagged entries stay", async () => {
    const name = `mp-tags-${process.pid}-${Date.now().toString(36)}`
    await spawnWorker({ mode: "tag", name, action: "write" })
    assert.deepStrictEqual(await spawnWorker({ mode: "tag", name, action: "read" }), { tagged: "v", untagged: "w" })
    await new Promise((resolve) => setTimeout(resolve, 5))
    await spawnWorker({ mode: "tag", name, action: "invalidate" })
    assert.deepStrictEqual(await spawnWorker({ mode: "tag", name, action: "read" }), { tagged: null, untagged: "w" })
  }, 120_000)

  it("early refresh with two processes reading one hot key: one refresh per value lifetime in all, no warm read waits", async () => {
    const name = `mp-xfetch-${process.pid}-${Date.now().toString(36)}`
    const seconds = 10
    const results = await Promise.all([0, 1].map(() => spawnWorker({ mode: "hot", name, seconds })))
    const creations = Number(await client.get(`${name}:creations`))
    const sum = (field: string) => results.reduce((n, r) => n + Number(r[field]), 0)
    console.log(
      `two processes: ${sum("reads")} warm reads, ${sum("expiredReads")} found the value expired, ` +
        `${sum("waited")} slower than 100 ms, ${creations} creations in ${seconds} s (5 s expiration)`
    )
    assert.isAbove(sum("reads"), 1000)
    assert.strictEqual(sum("expiredReads"), 0, "no warm read found the value expired (none waited or got a stale value)")
    // The first creation, then about one refresh per ~4 s value lifetime for both processes together;
    // each process refreshing on its own would double that.
    assert.isAtLeast(creations, 2)
    assert.isAtMost(creations, 5)
  }, 120_000)
})
