/**
 * The hand-written markdown the docs checks cover: README.md, every markdown file under docs/
 * (except the generated API reference in docs/api/) and each package's README.md.
 */
import * as fs from "node:fs"
import * as path from "node:path"
import { packageDirs, repoRoot } from "./entryPoints.ts"

/** Where `pnpm docs:api` writes the generated API reference (gitignored). */
export const apiOutDir = path.join(repoRoot, "docs", "api")

const markdownUnder = (dir: string, skip: string): ReadonlyArray<string> =>
  fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name)
    if (full === skip) return []
    if (entry.isDirectory()) return markdownUnder(full, skip)
    return entry.name.endsWith(".md") ? [full] : []
  })

/** The hand-written markdown files, as absolute paths, sorted. */
export const docFiles = (root: string = repoRoot): ReadonlyArray<string> =>
  [
    path.join(root, "README.md"),
    ...markdownUnder(path.join(root, "docs"), path.join(root, "docs", "api")),
    ...packageDirs(root).map((dir) => path.join(dir, "README.md")).filter((file) => fs.existsSync(file))
  ].sort()

/** Every markdown file under a directory (the generated reference). */
export const markdownFilesUnder = (dir: string): ReadonlyArray<string> => markdownUnder(dir, "").slice().sort()
