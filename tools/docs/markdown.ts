/**
 * Just enough markdown for the docs checks: fenced code blocks, headings and their GitHub
 * anchors, explicit HTML anchors, and the link targets of a file (outside code).
 */

/** A fenced code block: its info string, its code, and where it starts (1-based line of the fence). */
export interface Fence {
  readonly info: string
  readonly code: string
  readonly line: number
  /** The text of the last non-blank line before the fence ("" at the top of the file). */
  readonly before: string
}

/** A link target found in a file, with its 1-based line. */
export interface LinkRef {
  readonly target: string
  readonly line: number
}

const fenceOpen = /^( {0,3}|\s*)(`{3,}|~{3,})\s*([^`]*)$/

/** The fenced code blocks of a markdown text, in order. */
export const fences = (text: string): ReadonlyArray<Fence> => {
  const lines = text.split("\n")
  const out: Array<Fence> = []
  let before = ""
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] ?? ""
    const open = fenceOpen.exec(line)
    if (open === null) {
      if (line.trim() !== "") before = line.trim()
      continue
    }
    const indent = open[1]?.length ?? 0
    const marker = open[2] ?? "```"
    const body: Array<string> = []
    let j = i + 1
    for (; j < lines.length; j++) {
      const current = lines[j] ?? ""
      if (current.trim().startsWith(marker) && current.trim().replace(/[`~]/g, "") === "") break
      body.push(current.slice(Math.min(indent, current.length - current.trimStart().length)))
    }
    out.push({ info: (open[3] ?? "").trim(), code: body.join("\n"), line: i + 1, before })
    before = ""
    i = j
  }
  return out
}

/** The text with fenced code blocks and inline code spans blanked out (line numbers kept). */
export const withoutCode = (text: string): string => {
  const lines = text.split("\n")
  const blankFences = new Set<number>()
  for (const fence of fences(text)) {
    const length = fence.code === "" ? 0 : fence.code.split("\n").length
    for (let k = fence.line - 1; k <= fence.line + length; k++) blankFences.add(k)
  }
  return lines
    .map((line, index) => (blankFences.has(index) ? "" : line.replace(/(`+)[\s\S]*?\1/g, (span) => " ".repeat(span.length))))
    .join("\n")
}

/** GitHub's heading slug: lower case, punctuation and symbols dropped, spaces to hyphens. */
export const slug = (heading: string): string =>
  heading
    .toLowerCase()
    .replace(/[^\p{L}\p{M}\p{N}\p{Pc} -]/gu, "")
    .replace(/ /g, "-")

const headingText = (raw: string): string =>
  raw
    .replace(/\s+#+\s*$/, "")
    .replace(/<[^>]+>/g, "")
    .replace(/!?\[([^\]]*)\]\([^)]*\)/g, "$1")
    .replace(/`([^`]*)`/g, "$1")
    .replace(/\*\*|__|\*|~~/g, "")
    .replace(/\\(.)/g, "$1")
    .trim()

/** The anchors a file defines: heading slugs (numbered as GitHub numbers repeats) and `id`/`name` attributes. */
export const anchors = (text: string): ReadonlySet<string> => {
  const out = new Set<string>()
  const seen = new Map<string, number>()
  const lines = text.split("\n")
  const codeFree = withoutCode(text).split("\n")
  codeFree.forEach((line, index) => {
    const heading = /^ {0,3}#{1,6}\s+(.*)$/.exec(line)
    if (heading !== null) {
      // The heading's own text, code spans included (withoutCode blanked them).
      const original = /^ {0,3}#{1,6}\s+(.*)$/.exec(lines[index] ?? "")?.[1] ?? ""
      const base = slug(headingText(original))
      const count = seen.get(base) ?? 0
      seen.set(base, count + 1)
      out.add(count === 0 ? base : `${base}-${count}`)
    }
    for (const match of line.matchAll(/<a\s[^>]*?(?:id|name)\s*=\s*"([^"]+)"/gi)) out.add(match[1] ?? "")
  })
  return out
}

/** The link targets of a file outside code: inline links and images, reference definitions, href/src attributes. */
export const links = (text: string): ReadonlyArray<LinkRef> => {
  const out: Array<LinkRef> = []
  withoutCode(text)
    .split("\n")
    .forEach((line, index) => {
      const push = (target: string | undefined) => {
        if (target !== undefined && target !== "") out.push({ target, line: index + 1 })
      }
      for (const match of line.matchAll(/\]\(\s*(?:<([^>]*)>|([^()\s]*(?:\([^()\s]*\)[^()\s]*)*))(?:\s+(?:"[^"]*"|'[^']*'))?\s*\)/g)) {
        push(match[1] ?? match[2])
      }
      const definition = /^ {0,3}\[[^\]]+\]:\s*<?([^\s>]+)>?/.exec(line)
      if (definition !== null) push(definition[1])
      for (const match of line.matchAll(/\s(?:href|src)\s*=\s*"([^"]*)"/gi)) push(match[1])
    })
  return out
}
