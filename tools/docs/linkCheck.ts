/**
 * Checks the links of markdown files: a relative link must name an existing file or directory,
 * a `#anchor` must be a heading or `id`/`name` anchor of the markdown file it points to, and a
 * `#L12` / `#L12-L20` anchor on another file must be within its lines. External links (a URL
 * scheme, or `//host`) are counted, not fetched: the check runs offline.
 */
import * as fs from "node:fs"
import * as path from "node:path"
import { anchors, links } from "./markdown.ts"

/** A link that does not resolve. */
export interface BrokenLink {
  readonly file: string
  readonly line: number
  readonly target: string
  readonly reason: string
}

/** What a run checked and found. */
export interface LinkReport {
  readonly files: number
  /** Relative links and anchors checked. */
  readonly checked: number
  /** External links seen (not fetched). */
  readonly external: number
  readonly broken: ReadonlyArray<BrokenLink>
}

const isExternal = (target: string): boolean => /^[a-z][a-z0-9+.-]*:/i.test(target) || target.startsWith("//")

const decode = (part: string): string => {
  try {
    return decodeURIComponent(part)
  } catch {
    return part
  }
}

const makeAnchorCache = () => {
  const cache = new Map<string, ReadonlySet<string>>()
  return (file: string): ReadonlySet<string> => {
    const known = cache.get(file)
    if (known !== undefined) return known
    const found = anchors(fs.readFileSync(file, "utf8"))
    cache.set(file, found)
    return found
  }
}

const lineCount = (file: string): number => fs.readFileSync(file, "utf8").replace(/\n$/, "").split("\n").length

const checkAnchor = (file: string, anchor: string, anchorsOf: (file: string) => ReadonlySet<string>): string | undefined => {
  if (file.endsWith(".md")) {
    return anchorsOf(file).has(anchor.toLowerCase()) || anchorsOf(file).has(anchor) ? undefined : `no anchor #${anchor} in ${path.basename(file)}`
  }
  const lines = /^L(\d+)(?:-L(\d+))?$/.exec(anchor)
  if (lines === null) return undefined
  const last = Number(lines[2] ?? lines[1])
  const count = lineCount(file)
  return last <= count ? undefined : `#${anchor} is past the end of ${path.basename(file)} (${count} lines)`
}

const resolveTarget = (file: string, target: string, root: string): { readonly resolved: string; readonly anchor: string | undefined } => {
  const hash = target.indexOf("#")
  const pathPart = decode((hash === -1 ? target : target.slice(0, hash)).replace(/\?.*$/, ""))
  const anchor = hash === -1 ? undefined : decode(target.slice(hash + 1))
  const resolved = pathPart === "" ? file : pathPart.startsWith("/") ? path.join(root, pathPart) : path.resolve(path.dirname(file), pathPart)
  return { resolved, anchor }
}

const checkOne = (file: string, target: string, root: string, anchorsOf: (file: string) => ReadonlySet<string>): string | undefined => {
  const { resolved, anchor } = resolveTarget(file, target, root)
  if (!fs.existsSync(resolved)) return `no such file: ${path.relative(root, resolved)}`
  if (anchor === undefined || anchor === "" || fs.statSync(resolved).isDirectory()) return undefined
  return checkAnchor(resolved, anchor, anchorsOf)
}

/**
 * Checks every relative link and anchor of the given markdown files. `root` resolves `/`-rooted
 * links; an external link that starts with `mirroredUrl` (the repository's own URL on GitHub) is
 * checked as a link to the file under `root`.
 */
export const checkLinks = (files: ReadonlyArray<string>, root: string, mirroredUrl?: string): LinkReport => {
  const anchorsOf = makeAnchorCache()
  const broken: Array<BrokenLink> = []
  let checked = 0
  let external = 0
  for (const file of files) {
    for (const { target, line } of links(fs.readFileSync(file, "utf8"))) {
      const mirrored = mirroredUrl !== undefined && target.startsWith(mirroredUrl)
      if (isExternal(target) && !mirrored) {
        external++
        continue
      }
      checked++
      const reason = mirrored
        ? checkOne(path.join(root, "index.md"), target.slice((mirroredUrl ?? "").length), root, anchorsOf)
        : checkOne(file, target, root, anchorsOf)
      if (reason !== undefined) broken.push({ file: path.relative(root, file), line, target, reason })
    }
  }
  return { files: files.length, checked, external, broken }
}

/** One line per broken link, for test failures and the scripts' output. */
export const formatBroken = (broken: ReadonlyArray<BrokenLink>): string =>
  broken.map((b) => `${b.file}:${b.line}: ${b.target} (${b.reason})`).join("\n")
