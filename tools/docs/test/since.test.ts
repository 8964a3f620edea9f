/**
 * `@since` tags name a released version of their package: none may be newer than the version in the
 * package's package.json (sessions once wrote 0.2.0–0.4.0 into packages still at 0.1.0).
 */
import * as fs from "node:fs"
import * as path from "node:path"
import { describe, expect, it } from "vitest"
import { repoRoot } from "../entryPoints.ts"

const packagesDir = path.join(repoRoot, "packages")

const sourceFiles = (dir: string): ReadonlyArray<string> =>
  fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name)
    return entry.isDirectory() ? sourceFiles(full) : entry.name.endsWith(".ts") ? [full] : []
  })

const parse = (version: string): ReadonlyArray<number> => version.split(".").map(Number)

const newer = (a: string, b: string): boolean => {
  const [x, y] = [parse(a), parse(b)]
  for (let i = 0; i < 3; i++) if ((x[i] ?? 0) !== (y[i] ?? 0)) return (x[i] ?? 0) > (y[i] ?? 0)
  return false
}

/** Every `@since X` in the package's src newer than its version, as `file:line X`. */
const tooNew = (pkg: string): ReadonlyArray<string> => {
  const version = (JSON.parse(fs.readFileSync(path.join(packagesDir, pkg, "package.json"), "utf8")) as { version: string }).version
  return sourceFiles(path.join(packagesDir, pkg, "src")).flatMap((file) =>
    fs.readFileSync(file, "utf8").split("\n").flatMap((line, i) => {
      const since = /@since\s+(\d+\.\d+\.\d+)/.exec(line)?.[1]
      return since !== undefined && newer(since, version) ? [`${path.relative(repoRoot, file)}:${i + 1} ${since} > ${version}`] : []
    }))
}

describe("@since", () => {
  it("the comparison sees a newer version", () => {
    expect(newer("0.2.0", "0.1.0")).toBe(true)
    expect(newer("0.1.0", "0.1.0")).toBe(false)
    expect(newer("0.1.10", "0.1.9")).toBe(true)
  })

  for (const pkg of fs.readdirSync(packagesDir).filter((name) => fs.existsSync(path.join(packagesDir, name, "src")))) {
    it(`${pkg}: no @since newer than the package's version`, () => {
      expect(tooNew(pkg)).toEqual([])
    })
  }
})
