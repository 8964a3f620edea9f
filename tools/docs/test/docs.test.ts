/**
 * The docs checks, run by `pnpm test` (project "docs"): the links of the hand-written markdown,
 * its TypeScript blocks, and the generated API reference with its links.
 */
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { afterAll, describe, expect, it } from "vitest"
import { buildApiReference, sourceUrl } from "../apiReference.ts"
import { checkExcerpts, codeBlocks, formatBlockErrors, typecheckBlocks } from "../codeBlocks.ts"
import { docFiles, markdownFilesUnder } from "../docFiles.ts"
import { repoRoot } from "../entryPoints.ts"
import { checkLinks, formatBroken } from "../linkCheck.ts"
import { anchors, slug } from "../markdown.ts"

const scratch = fs.mkdtempSync(path.join(os.tmpdir(), "dogpile-docs-"))
afterAll(() => fs.rmSync(scratch, { recursive: true, force: true }))

const write = (name: string, text: string): string => {
  const file = path.join(scratch, name)
  fs.mkdirSync(path.dirname(file), { recursive: true })
  fs.writeFileSync(file, text)
  return file
}

/** Deliberate fragments: each mark names its reason; a new one should be rare. */
const maxNotChecked = 4

describe("the checkers", () => {
  it("slugs headings as GitHub does, numbering repeats", () => {
    expect(slug("Options: `lockTimeout` & friends (v2)")).toBe("options-locktimeout--friends-v2")
    expect([...anchors("# A b\n## A b\n<a id=\"x\"></a>\n```md\n# not a heading\n```\n")]).toEqual(["a-b", "a-b-1", "x"])
  })

  it("finds a missing file, a missing anchor and a line past the end, and ignores links in code", () => {
    write("fixture/target.md", "# Here\n")
    write("fixture/code.ts", "one\ntwo\n")
    const file = write(
      "fixture/doc.md",
      [
        "[ok](target.md#here) [ok](#local) [ok](code.ts#L2) [web](https://example.com/x#y)",
        "## Local",
        "[gone](missing.md) [bad](target.md#there) [long](code.ts#L3)",
        "`[in code](nowhere.md)`",
        "```md\n[in a fence](nowhere.md)\n```",
        "[ref]: ./target.md#nope"
      ].join("\n")
    )
    const report = checkLinks([file], scratch)
    expect(report.checked).toBe(7)
    expect(report.external).toBe(1)
    expect(report.broken.map((b) => [b.line, b.target])).toEqual([
      [3, "missing.md"],
      [3, "target.md#there"],
      [3, "code.ts#L3"],
      [8, "./target.md#nope"]
    ])
  })

  it("reports a type error of a block at its markdown line, skips a marked fragment, chains a continued block", () => {
    const file = write(
      "blocks.md",
      [
        "```ts",
        'import { Duration } from "effect"',
        "const a: number = Duration.toMillis(Duration.seconds(1))",
        "```",
        "<!-- continues -->",
        "```ts",
        'const b: string = a',
        "```",
        "<!-- not-checked: a fragment -->",
        "```ts",
        "yield* nothing",
        "```"
      ].join("\n")
    )
    const blocks = codeBlocks(file, scratch)
    expect(blocks.map((b) => [b.line, b.continues, b.notChecked])).toEqual([[1, false, undefined], [6, true, undefined], [10, false, "a fragment"]])
    const errors = typecheckBlocks(blocks)
    expect(errors.map((e) => [e.file, e.line])).toEqual([["blocks.md", 7]])
    expect(errors[0]?.message).toContain("not assignable to type 'string'")
  }, 120_000)

  it("checks an excerpt block line by line against its example", () => {
    write("example.ts", "const a = 1\nconst b = 2\n")
    const file = write("excerpt.md", "<!-- ts blocks: excerpts of example.ts -->\n```ts\nconst a = 1\n\nconst b = 2\n```\n```ts\nconst b = 2\nconst a = 1\n```\n")
    expect(checkExcerpts(codeBlocks(file, scratch), scratch).map((e) => [e.line, e.message.split(" (")[0]])).toEqual([[9, "not a line of example.ts"]])
  })
})

describe("the docs", () => {
  const files = docFiles()

  it("every relative link and anchor of README.md, docs/ and the package READMEs resolves", () => {
    const report = checkLinks(files, repoRoot, sourceUrl)
    expect(formatBroken(report.broken)).toBe("")
    expect(report.files).toBeGreaterThan(20)
    expect(report.checked).toBeGreaterThan(40)
  })

  it("every ts block typechecks against the workspace packages (or is a line-for-line excerpt of a typechecked example)", () => {
    const blocks = files.flatMap((file) => codeBlocks(file))
    const errors = [...typecheckBlocks(blocks), ...checkExcerpts(blocks)]
    expect(formatBlockErrors(errors)).toBe("")
    expect(blocks.length).toBeGreaterThan(30)
    expect(blocks.filter((block) => block.notChecked !== undefined).length).toBeLessThanOrEqual(maxNotChecked)
  }, 300_000)
})

describe("the API reference", () => {
  it("builds from the TSDoc with no TypeDoc warning (broken {@link}s among them), and its links resolve", async () => {
    const outDir = path.join(scratch, "api")
    const api = await buildApiReference(outDir)
    expect(api.problems.join("\n")).toBe("")
    expect(api.modules).toContain("@dogpile-effect/core")
    expect(api.symbols).toBeGreaterThan(300)
    // `export * as Region from "./Region.ts"`: the namespace shows the file's opening comment.
    expect(api.uncommented).not.toContain("@dogpile-effect/core.Region")
    expect(fs.readFileSync(path.join(outDir, "@dogpile-effect/core/namespaces/Region/README.md"), "utf8")).toContain("The dogpile region")
    const report = checkLinks(markdownFilesUnder(outDir), repoRoot, sourceUrl)
    expect(formatBroken(report.broken)).toBe("")
    expect(report.files).toBeGreaterThan(300)
    // The "Defined in" links name files of this repository: checked as local files and lines.
    expect(report.checked).toBeGreaterThan(report.files)
  }, 600_000)
})
