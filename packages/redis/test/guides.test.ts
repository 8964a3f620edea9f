/**
 * The guides' code: `examples/batching.ts` runs against the test server
 * (database 8) and prints what `docs/guides/batching.md` says, and every
 * TypeScript block of the guides is an excerpt of a typechecked example file.
 */
import { execFile } from "node:child_process"
import { readFileSync } from "node:fs"
import { fileURLToPath } from "node:url"
import { promisify } from "node:util"
import { assert, describe, inject, it } from "vitest"

const root = fileURLToPath(new URL("../../../", import.meta.url))
const run = promisify(execFile)
const read = (path: string) => readFileSync(`${root}${path}`, "utf8")

const guides: Record<string, ReadonlyArray<string>> = {
  "docs/guides/batching.md": ["examples/batching.ts"],
  "docs/guides/service.md": ["examples/service/Regions.ts", "examples/service/main.ts"]
}

const tsBlocks = (markdown: string) => [...markdown.matchAll(/```ts\n([\s\S]*?)```/g)].map((match) => match[1] ?? "")

describe("guides", () => {
  it("batching: 500 cold requests make one query of 500, warm none, a half-new round one of 50; failures not cached", async () => {
    const { stdout, stderr } = await run(
      process.execPath,
      ["--import", "tsx", "--conditions=@dogpile-effect/source", "examples/batching.ts"],
      { cwd: root, env: { ...process.env, REDIS_URL: `${inject("redisUrl")}/8` }, timeout: 120_000 }
    )
    const out = stdout + stderr
    assert.include(out, "cold: 500 users, 1 queries (500)")
    assert.include(out, "warm: 500 users, 0 queries (none)")
    assert.include(out, "half: 100 users, 1 queries (50)")
    assert.include(out, "missing: UserNotFound, cached: false")
    // The guide shows the same output.
    const guide = read("docs/guides/batching.md")
    for (const line of ["cold: 500 users, 1 queries (500)", "half: 100 users, 1 queries (50)"]) assert.include(guide, line)
  }, 150_000)

  for (const [guide, sources] of Object.entries(guides)) {
    it(`${guide}: every ts block is an excerpt of ${sources.join(", ")}`, () => {
      const code = sources.map(read).join("\n")
      const blocks = tsBlocks(read(guide))
      assert.isAbove(blocks.length, 1)
      for (const block of blocks) assert.include(code, block, `not found in ${sources.join(", ")}:\n${block}`)
    })
  }
})
