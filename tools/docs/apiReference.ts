/**
 * The API reference: TypeDoc (with typedoc-plugin-markdown) over every public entry point of the
 * workspace packages, written as markdown. Each entry point becomes a module named by its import
 * specifier (`@dogpile-effect/codecs/msgpack`); members a class inherits from Effect (the static
 * `make`, `makeOption`, ... of a `Schema` error class) are left out: they are Effect's API, not ours.
 * A namespace (`export * as Region from "./Region.ts"`) gets its file's opening comment: TypeDoc
 * takes a file comment only when it is tagged `@module`, which the packages' files are not.
 */
import * as fs from "node:fs"
import * as path from "node:path"
import ts from "typescript"
import {
  Application,
  Comment,
  CommentTag,
  type Context,
  Converter,
  type DeclarationReflection,
  Logger,
  LogLevel,
  type ProjectReflection,
  ReflectionKind
} from "typedoc"
import { type EntryPoint, entryPoints, repoRoot, sourcePaths } from "./entryPoints.ts"

/** Where the reference's "Defined in" links point: the repository's main branch on GitHub. */
export const sourceUrl = "https://github.com/dogpile-effect/dogpile-effect/blob/main/"

/** What a build produced. */
export interface ApiReport {
  /** Exported symbols documented (classes, interfaces, type aliases, functions, variables, namespaces, enums). */
  readonly symbols: number
  /** Of those, how many carry a TSDoc comment. */
  readonly commented: number
  /** The exported symbols without a TSDoc comment, by full name. */
  readonly uncommented: ReadonlyArray<string>
  /** Members of classes and interfaces (properties, methods, accessors). */
  readonly members: number
  readonly modules: ReadonlyArray<string>
  /** TypeDoc's warnings and errors (broken `{@link}`s, public types that reference an unexported one), one line each. */
  readonly problems: ReadonlyArray<string>
}

/** Collects TypeDoc's warnings and errors instead of printing them. */
class CollectingLogger extends Logger {
  readonly problems: Array<string> = []
  override log(message: string, level: LogLevel): void {
    if (level >= LogLevel.Warn) this.problems.push(message.replace(/\x1b\[[0-9;]*m/g, ""))
  }
}

const symbolKinds =
  ReflectionKind.Class | ReflectionKind.Interface | ReflectionKind.TypeAlias | ReflectionKind.Function |
  ReflectionKind.Variable | ReflectionKind.Namespace | ReflectionKind.Enum
const memberKinds = ReflectionKind.Property | ReflectionKind.Method | ReflectionKind.Accessor

const normalize = (file: string): string => path.resolve(file).split(path.sep).join("/")

/** Names each entry module by its import specifier. */
const nameModules = (project: ProjectReflection, entries: ReadonlyArray<EntryPoint>): void => {
  const byFile = new Map(entries.map((entry) => [normalize(entry.file), entry.specifier]))
  for (const module of project.getReflectionsByKind(ReflectionKind.Module)) {
    const fileName = project.getSymbolIdFromReflection(module)?.fileName
    const specifier = fileName === undefined ? undefined : byFile.get(normalize(fileName))
    if (specifier !== undefined) module.name = specifier
  }
}

/** Drops class members inherited from a class outside the documented packages (Effect's). */
const dropExternalInherited = (project: ProjectReflection): void => {
  for (const member of project.getReflectionsByKind(memberKinds | ReflectionKind.Constructor)) {
    const inherited = (member as DeclarationReflection).inheritedFrom
    if (inherited !== undefined && inherited.reflection === undefined) project.removeReflection(member)
  }
}

/** The text of a file's opening `/** ... *\/` comment: its summary and its block tags. */
const openingComment = (source: ts.SourceFile): Comment | undefined => {
  const range = ts.getLeadingCommentRanges(source.text, 0)?.[0]
  const raw = range === undefined ? "" : source.text.slice(range.pos, range.end)
  if (!raw.startsWith("/**")) return undefined
  const lines = raw
    .replace(/^\/\*\*/, "")
    .replace(/\*\/$/, "")
    .split("\n")
    .map((line) => line.replace(/^\s*\* ?/, ""))
  const firstTag = lines.findIndex((line) => line.startsWith("@"))
  const summary = (firstTag === -1 ? lines : lines.slice(0, firstTag)).join("\n").trim()
  // Inline {@link X} would need TypeDoc's resolution; shown as code instead.
  const text = summary.replace(/\{@link\s+([^}|\s]+)(?:[\s|]+([^}]*))?\}/g, (_, target: string, label?: string) => `\`${label?.trim() || target}\``)
  const tags = (firstTag === -1 ? [] : lines.slice(firstTag))
    .join("\n")
    .split(/\n(?=@)/)
    .map((block) => /^(@\w+)\s*([\s\S]*)$/.exec(block.trim()))
    .flatMap((match) => (match === null ? [] : [new CommentTag(match[1] as `@${string}`, [{ kind: "text", text: (match[2] ?? "").trim() }])]))
  return text === "" ? undefined : new Comment([{ kind: "text", text }], tags)
}

/**
 * Gives a namespace without a comment the opening comment of its file, when the file's first
 * statement is an import (so that comment cannot be a declaration's own).
 */
const commentNamespace = (context: Context, reflection: DeclarationReflection): void => {
  if (reflection.kind !== ReflectionKind.Namespace || reflection.hasComment()) return
  const symbol = context.getSymbolFromReflection(reflection)
  const target = symbol !== undefined && (symbol.flags & ts.SymbolFlags.Alias) !== 0 ? context.checker.getAliasedSymbol(symbol) : symbol
  const source = target?.declarations?.find(ts.isSourceFile)
  const first = source?.statements[0]
  if (source === undefined || first === undefined || !ts.isImportDeclaration(first)) return
  const comment = openingComment(source)
  if (comment !== undefined) reflection.comment = comment
}

const isCommented = (reflection: DeclarationReflection): boolean =>
  reflection.hasComment() || (reflection.signatures ?? []).some((signature) => signature.hasComment()) ||
  (reflection.getSignature?.hasComment() ?? false)

const report = (project: ProjectReflection, problems: ReadonlyArray<string>): ApiReport => {
  const symbols = project.getReflectionsByKind(symbolKinds) as Array<DeclarationReflection>
  return {
    symbols: symbols.length,
    commented: symbols.filter(isCommented).length,
    uncommented: symbols.filter((symbol) => !isCommented(symbol)).map((symbol) => symbol.getFullName()),
    members: project.getReflectionsByKind(memberKinds).length,
    modules: project.getReflectionsByKind(ReflectionKind.Module).map((module) => module.name),
    problems
  }
}

/** Builds the reference into `outDir` (emptied first) and reports what it documented. */
export const buildApiReference = async (outDir: string): Promise<ApiReport> => {
  const entries = entryPoints()
  const logger = new CollectingLogger()
  const app = await Application.bootstrapWithPlugins({
    entryPoints: entries.map((entry) => entry.file),
    entryPointStrategy: "resolve",
    tsconfig: path.join(repoRoot, "tools/docs/tsconfig.api.json"),
    compilerOptions: { paths: sourcePaths() },
    plugin: ["typedoc-plugin-markdown"],
    out: outDir,
    readme: "none",
    name: "dogpile-effect",
    disableGit: true,
    // TypeDoc's {path} is relative to packages/ here; the docs test checks every such link locally.
    sourceLinkTemplate: `${sourceUrl}packages/{path}#L{line}`,
    basePath: repoRoot,
    excludePrivate: true,
    excludeInternal: true,
    validation: { invalidLink: true, notExported: true, notDocumented: false, rewrittenLink: true },
    logLevel: "Warn"
  })
  app.logger = logger
  app.converter.on(Converter.EVENT_CREATE_DECLARATION, commentNamespace)
  app.converter.on(Converter.EVENT_RESOLVE_BEGIN, (context) => {
    nameModules(context.project, entries)
    dropExternalInherited(context.project)
  })
  const project = await app.convert()
  if (project === undefined) return { symbols: 0, commented: 0, uncommented: [], members: 0, modules: [], problems: logger.problems }
  app.validate(project)
  fs.rmSync(outDir, { recursive: true, force: true })
  await app.generateOutputs(project)
  return report(project, logger.problems)
}
