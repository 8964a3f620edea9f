/**
 * The docs' TypeScript code blocks, typechecked against the workspace packages. Every ```ts (or
 * ```typescript) block of the hand-written markdown becomes one module of an in-memory program
 * (imports of `@dogpile-effect/*` resolve to the packages' src, `effect` to the installed one) compiled with the repository's strict options. A block
 * that is deliberately a fragment is skipped when the line before its fence is
 * `<!-- not-checked: reason -->`; a block whose line before is `<!-- continues -->` is checked as
 * the continuation of the file's previous block (its imports and declarations in scope), as a
 * reader reads it. A file that says `<!-- ts blocks: excerpts of ../../examples/guides/x.ts -->`
 * (path relative to the markdown file) has its blocks checked as excerpts of that example instead:
 * each line of a block must be a line of the example, in order (a trailing `//` comment the doc
 * adds is allowed); `<!-- excerpt of path -->` before one fence does the same for that block. The examples are typechecked by
 * `pnpm typecheck` and run by their tests, so the excerpt check keeps the guide and the compiled
 * code the same.
 */
import * as fs from "node:fs"
import * as path from "node:path"
import ts from "typescript"
import { repoRoot, sourcePaths } from "./entryPoints.ts"
import { fences } from "./markdown.ts"

/** One TypeScript block of a markdown file. */
export interface CodeBlock {
  /** Path relative to the repository root. */
  readonly file: string
  /** 1-based line of the opening fence. */
  readonly line: number
  readonly code: string
  /** The reason given by a `<!-- not-checked: reason -->` mark, when the block is skipped. */
  readonly notChecked: string | undefined
  /** Marked `<!-- continues -->`: checked after the file's previous block, in the same module. */
  readonly continues: boolean
  /** The example file (absolute path) the file's blocks are excerpts of, if it says so. */
  readonly excerptOf: string | undefined
}

/** A type error in a block, located in its markdown file. */
export interface BlockError {
  readonly file: string
  readonly line: number
  readonly message: string
}

const notCheckedMark = /^<!--\s*not-checked:\s*(.+?)\s*-->$/
const continuesMark = /^<!--\s*continues\s*-->$/
const excerptsMark = /^<!--\s*ts blocks: excerpts of (\S+)\s*-->$/m
const excerptMark = /^<!--\s*excerpt of (\S+)\s*-->$/

/** The ```ts / ```typescript blocks of a markdown file. */
export const codeBlocks = (file: string, root: string = repoRoot): ReadonlyArray<CodeBlock> => {
  const text = fs.readFileSync(file, "utf8")
  const excerpts = excerptsMark.exec(text)?.[1]
  const resolve = (relative: string | undefined) => (relative === undefined ? undefined : path.resolve(path.dirname(file), relative))
  return fences(text)
    .filter((fence) => /^(ts|typescript)\b/.test(fence.info))
    .map((fence) => ({
      file: path.relative(root, file),
      line: fence.line,
      code: fence.code,
      notChecked: notCheckedMark.exec(fence.before)?.[1],
      continues: continuesMark.test(fence.before),
      excerptOf: resolve(excerptMark.exec(fence.before)?.[1] ?? excerpts)
    }))
}

const trimmedLines = (code: string): ReadonlyArray<string> => code.split("\n").map((line) => line.trim())

/** The lines of an excerpt block that are not lines of its example, in order. */
const excerptErrors = (block: CodeBlock, root: string): ReadonlyArray<BlockError> => {
  const example = block.excerptOf ?? ""
  if (!fs.existsSync(example)) return [{ file: block.file, line: block.line, message: `no such example: ${path.relative(root, example)}` }]
  const source = trimmedLines(fs.readFileSync(example, "utf8"))
  let at = 0
  return trimmedLines(block.code).flatMap((line, index) => {
    const withoutComment = line.replace(/\s*\/\/[^"'`]*$/, "")
    if (withoutComment === "") return []
    const exact = source.indexOf(line, at)
    const found = exact !== -1 ? exact : source.indexOf(withoutComment, at)
    if (found !== -1) {
      at = found + 1
      return []
    }
    return [{ file: block.file, line: block.line + 1 + index, message: `not a line of ${path.relative(root, example)} (after line ${at}): ${line}` }]
  })
}

/** Checks the excerpt blocks against their examples. */
export const checkExcerpts = (blocks: ReadonlyArray<CodeBlock>, root: string = repoRoot): ReadonlyArray<BlockError> =>
  blocks.filter((block) => block.excerptOf !== undefined && block.notChecked === undefined).flatMap((block) => excerptErrors(block, root))

const compilerOptions = (): ts.CompilerOptions => {
  const parsed = ts.getParsedCommandLineOfConfigFile(path.join(repoRoot, "tsconfig.base.json"), {}, {
    ...ts.sys,
    onUnRecoverableConfigFileDiagnostic: (diagnostic) => {
      throw new Error(ts.flattenDiagnosticMessageText(diagnostic.messageText, "\n"))
    }
  })
  return {
    ...parsed?.options,
    noEmit: true,
    composite: false,
    incremental: false,
    declaration: false,
    declarationMap: false,
    sourceMap: false,
    // Snippets show a call and often leave its result unused.
    noUnusedLocals: false,
    noUnusedParameters: false,
    customConditions: ["@dogpile-effect/source"],
    paths: sourcePaths()
  }
}

/** Blocks checked as one module: a block and the blocks that continue it. */
type Unit = ReadonlyArray<CodeBlock>

const units = (blocks: ReadonlyArray<CodeBlock>): ReadonlyArray<Unit> => {
  const out: Array<Array<CodeBlock>> = []
  for (const block of blocks) {
    const last = out[out.length - 1]
    if (block.continues && last !== undefined && last[0]?.file === block.file) last.push(block)
    else out.push([block])
  }
  return out
}

/** The virtual file of a unit: beside the repository's node_modules, one module per unit. */
const virtualName = (unit: Unit, index: number): string =>
  path.join(repoRoot, ".docs-blocks", `${(unit[0]?.file ?? "").replace(/[^A-Za-z0-9]+/g, "_")}_${unit[0]?.line}_${index}.ts`)

const asModule = (code: string): string => (/^\s*(import|export)\s/m.test(code) ? code : `${code}\nexport {}\n`)

/** A 0-based line of a unit's text, located in its markdown file. */
const locate = (unit: Unit, line: number): { readonly file: string; readonly line: number } => {
  let start = 0
  for (const block of unit) {
    const length = block.code.split("\n").length
    if (line < start + length) return { file: block.file, line: block.line + 1 + line - start }
    start += length
  }
  const last = unit[unit.length - 1]
  return { file: last?.file ?? "", line: last?.line ?? 0 }
}

const compilerHost = (options: ts.CompilerOptions, files: ReadonlyMap<string, string>): ts.CompilerHost => {
  const host = ts.createCompilerHost(options, true)
  const dir = path.join(repoRoot, ".docs-blocks")
  return {
    ...host,
    fileExists: (name) => files.has(name) || host.fileExists(name),
    readFile: (name) => files.get(name) ?? host.readFile(name),
    directoryExists: (name) => name === dir || (host.directoryExists?.(name) ?? ts.sys.directoryExists(name)),
    getSourceFile: (name, languageVersion, onError, shouldCreate) => {
      const text = files.get(name)
      return text === undefined
        ? host.getSourceFile(name, languageVersion, onError, shouldCreate)
        : ts.createSourceFile(name, text, languageVersion, true)
    }
  }
}

/** Typechecks the blocks not marked `not-checked`; returns their errors, located in the markdown. */
export const typecheckBlocks = (blocks: ReadonlyArray<CodeBlock>): ReadonlyArray<BlockError> => {
  const options = compilerOptions()
  const byName = new Map(units(blocks.filter((block) => block.notChecked === undefined && block.excerptOf === undefined)).map((unit, index) => [virtualName(unit, index), unit]))
  const files = new Map([...byName].map(([name, unit]) => [name, asModule(unit.map((block) => block.code).join("\n"))]))
  const program = ts.createProgram([...files.keys()], options, compilerHost(options, files))
  return [...files.keys()].flatMap((name) => {
    const source = program.getSourceFile(name)
    const unit = byName.get(name)
    if (source === undefined || unit === undefined) return []
    return [...program.getSyntacticDiagnostics(source), ...program.getSemanticDiagnostics(source)].map((diagnostic) => ({
      ...locate(unit, diagnostic.start === undefined ? 0 : source.getLineAndCharacterOfPosition(diagnostic.start).line),
      message: ts.flattenDiagnosticMessageText(diagnostic.messageText, "\n")
    }))
  })
}

/** One line per error, for test failures and the scripts' output. */
export const formatBlockErrors = (errors: ReadonlyArray<BlockError>): string =>
  errors.map((error) => `${error.file}:${error.line}: ${error.message}`).join("\n")
