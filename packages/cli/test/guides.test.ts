/**
 * The guides' programs (docs/guides/*.md, code in examples/guides/), run as a
 * reader runs them (tsx, REDIS_URL) against the project's redis-server, with
 * the lines the guides quote checked. The testing guide's own tests
 * (examples/guides/testing.ts) are registered here by importing it. Every
 * code block of a guide is part of its program, verbatim, so what the reader
 * copies is what was typechecked and run.
 */
import { execFile } from "node:child_process"
import { readdirSync, readFileSync } from "node:fs"
import { promisify } from "node:util"
import { assert, describe, inject, it } from "vitest"
import "../../../examples/guides/testing.ts"
import { root } from "./bin.ts"

const url = inject("redisUrl")
const run = promisify(execFile)
const TIMEOUT = 120_000

const runGuide = async (file: string): Promise<string> => {
  const { stderr, stdout } = await run(
    process.execPath,
    ["--import", "tsx", "--conditions=@dogpile-effect/source", `examples/guides/${file}`],
    { cwd: root, env: { ...process.env, REDIS_URL: url }, timeout: 60_000 }
  )
  return stdout + stderr
}

describe("guides", () => {
  it("several regions: three storages over one client hold 3 connections", async () => {
    const out = await runGuide("several-regions.ts")
    assert.include(out, "regions: users Ada, sessions true, prices 9.99")
    // The client, the lock's subscriber and the near cache's invalidation channel.
    assert.include(out, "regions: 3 regions, 3 connections")
  }, TIMEOUT)

  it("tracing: the region's span sits under the handler's, the creator's under the region's", async () => {
    const lines = (await runGuide("tracing.ts")).split("\n").filter((line) => line.startsWith("tracing: "))
    assert.deepStrictEqual(lines, [
      "tracing: GET /users/:id",
      "tracing:   Region.getOrCreate region=users outcome=created",
      "tracing:     db.findUser",
      "tracing: GET /users/:id",
      "tracing:   Region.getOrCreate region=users outcome=hit"
    ])
  }, TIMEOUT)

  it("migrating: Effect's Cache, bentocache and the region give the same value", async () => {
    assert.include(
      await runGuide("migrating.ts"),
      "migrating: Cache user 42, bentocache user 42, region user 42, cached function user 42"
    )
  }, TIMEOUT)
})

describe("guide pages", () => {
  const pages = readdirSync(`${root}docs/guides`).filter((name) => name.endsWith(".md") && name !== "README.md")

  it("there are guides, and each names its program", () => {
    assert.includeMembers(pages, ["several-regions.md", "testing.md", "tracing.md", "migrating.md"])
  })

  for (const page of pages) {
    it(`${page}: every ts block is in its examples/guides program, verbatim`, () => {
      const text = readFileSync(`${root}docs/guides/${page}`, "utf8")
      const programs = [...text.matchAll(/\(\.\.\/\.\.\/(examples\/[\w/-]+\.ts)\)/g)].map((match) => match[1]!)
      assert.isAbove(programs.length, 0, "the page links its program")
      const code = programs.map((program) => readFileSync(`${root}${program}`, "utf8")).join("\n")
      const blocks = [...text.matchAll(/```ts\n([\s\S]*?)```/g)].map((match) => match[1] ?? "")
      assert.isAbove(blocks.length, 0)
      for (const block of blocks) assert.include(code, block.trimEnd(), `a block of ${page} is not in ${programs.join(", ")}`)
    })
  }
})
