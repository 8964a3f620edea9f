/**
 * `pnpm docs:check`: checks the links of the hand-written markdown and typechecks its ```ts
 * blocks; prints the counts and every problem; exits non-zero on any.
 */
import { sourceUrl } from "./apiReference.ts"
import { checkExcerpts, codeBlocks, formatBlockErrors, typecheckBlocks } from "./codeBlocks.ts"
import { docFiles } from "./docFiles.ts"
import { repoRoot } from "./entryPoints.ts"
import { checkLinks, formatBroken } from "./linkCheck.ts"

const files = docFiles()
const links = checkLinks(files, repoRoot, sourceUrl)
const blocks = files.flatMap((file) => codeBlocks(file))
const errors = [...typecheckBlocks(blocks), ...checkExcerpts(blocks)]
const marked = blocks.filter((block) => block.notChecked !== undefined)
const excerpts = blocks.filter((block) => block.notChecked === undefined && block.excerptOf !== undefined)
console.log(formatBroken(links.broken))
console.log(formatBlockErrors(errors))
for (const block of marked) console.log(`not checked: ${block.file}:${block.line}: ${block.notChecked}`)
console.log(
  `${files.length} files: ${links.checked} links checked (${links.external} external, not fetched), ${links.broken.length} broken; ` +
    `${blocks.length} ts blocks, ${blocks.length - marked.length - excerpts.length} typechecked, ${excerpts.length} checked as excerpts of typechecked examples, ${marked.length} marked not-checked, ${errors.length} errors`
)
process.exitCode = links.broken.length === 0 && errors.length === 0 ? 0 : 1
