/**
 * The public entry points of the workspace packages, read from each package.json's `exports`
 * (the `@dogpile-effect/source` condition names the source file of each subpath).
 */
import * as fs from "node:fs"
import * as path from "node:path"

/** One public subpath of one package. */
export interface EntryPoint {
  /** The import specifier, e.g. `@dogpile-effect/codecs/msgpack`. */
  readonly specifier: string
  /** The absolute path of its source file. */
  readonly file: string
}

/** The repository's root directory (two levels above tools/docs). */
export const repoRoot = path.resolve(import.meta.dirname, "../..")

interface PackageJson {
  readonly name: string
  readonly exports?: Record<string, string | Record<string, string>>
}

const sourceCondition = "@dogpile-effect/source"

const readPackage = (dir: string): PackageJson =>
  JSON.parse(fs.readFileSync(path.join(dir, "package.json"), "utf8")) as PackageJson

/** The package directories under packages/, sorted. */
export const packageDirs = (root: string = repoRoot): ReadonlyArray<string> =>
  fs
    .readdirSync(path.join(root, "packages"), { withFileTypes: true })
    .filter((entry) => entry.isDirectory() && fs.existsSync(path.join(root, "packages", entry.name, "package.json")))
    .map((entry) => path.join(root, "packages", entry.name))
    .sort()

const entriesOf = (dir: string): ReadonlyArray<EntryPoint> => {
  const pkg = readPackage(dir)
  return Object.entries(pkg.exports ?? {}).flatMap(([subpath, target]) => {
    const source = typeof target === "string" ? undefined : target[sourceCondition]
    return source === undefined
      ? []
      : [{ specifier: subpath === "." ? pkg.name : `${pkg.name}/${subpath.replace(/^\.\//, "")}`, file: path.join(dir, source) }]
  })
}

/** Every public entry point of every package, in package order. */
export const entryPoints = (root: string = repoRoot): ReadonlyArray<EntryPoint> => packageDirs(root).flatMap(entriesOf)

/**
 * `paths` that map every entry point's specifier to its source file. The packages' `exports` list
 * `types` (dist/) before the source condition, so once `pnpm typecheck` has built dist/ a plain
 * program would read the built declarations (a second copy of every type) instead of src.
 */
export const sourcePaths = (root: string = repoRoot): Record<string, Array<string>> =>
  Object.fromEntries(entryPoints(root).map((entry) => [entry.specifier, [entry.file]]))
