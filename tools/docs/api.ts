/**
 * `pnpm docs:api [outDir]`: builds the API reference (default docs/api/, gitignored), checks its
 * links, prints what it documented, and exits non-zero on a TypeDoc warning or a broken link.
 */
import * as path from "node:path"
import { buildApiReference, sourceUrl } from "./apiReference.ts"
import { apiOutDir, markdownFilesUnder } from "./docFiles.ts"
import { repoRoot } from "./entryPoints.ts"
import { checkLinks, formatBroken } from "./linkCheck.ts"

const outDir = path.resolve(process.argv[2] ?? apiOutDir)
const api = await buildApiReference(outDir)
const links = checkLinks(markdownFilesUnder(outDir), repoRoot, sourceUrl)
console.log(api.problems.join("\n"))
console.log(`modules: ${api.modules.join(", ")}`)
console.log(`exported symbols without TSDoc (${api.uncommented.length}): ${api.uncommented.join(", ")}`)
console.log(formatBroken(links.broken))
console.log(
  `API reference in ${path.relative(process.cwd(), outDir) || "."}: ${api.modules.length} modules, ${api.symbols} symbols ` +
    `(${api.commented} with TSDoc), ${api.members} members; ${links.files} pages, ${links.checked} links checked, ` +
    `${links.broken.length} broken; ${api.problems.length} TypeDoc warnings`
)
process.exitCode = api.problems.length === 0 && links.broken.length === 0 && api.symbols > 0 ? 0 : 1
