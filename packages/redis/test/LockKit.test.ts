/**
 * `@dogpile-effect/redis/lock-kit` (what `@dogpile-effect/node-redis` shares
 * with `RedisLock`) loads no ioredis. Checked twice: on the module graph of
 * its sources (every import, type-only ones included, so its declarations
 * need no ioredis either), and by importing the entry in a child Node process
 * that records every module it resolves. Each check also runs on the root
 * entry, which does load ioredis, so neither can pass by finding nothing.
 */
import { execFile } from "node:child_process"
import { readFileSync } from "node:fs"
import { dirname, relative, resolve } from "node:path"
import { fileURLToPath } from "node:url"
import { promisify } from "node:util"
import ts from "typescript"
import { describe, expect, it } from "vitest"

const SRC = resolve(dirname(fileURLToPath(import.meta.url)), "../src")
const LOCK_KIT = resolve(SRC, "entries/lockKit.ts")
const ROOT = resolve(SRC, "index.ts")

/** The modules a source file imports or re-exports from (`import type` included). */
const specifiersOf = (file: string): Array<string> =>
  ts.createSourceFile(file, readFileSync(file, "utf8"), ts.ScriptTarget.Latest).statements.flatMap((statement) =>
    (ts.isImportDeclaration(statement) || ts.isExportDeclaration(statement)) &&
      statement.moduleSpecifier !== undefined && ts.isStringLiteral(statement.moduleSpecifier)
      ? [statement.moduleSpecifier.text]
      : []
  )

/** The source files reachable from `entry` by relative imports, and the packages they import. */
const moduleGraph = (entry: string) => {
  const files = new Set<string>()
  const packages = new Set<string>()
  const visit = (file: string): void => {
    if (files.has(file)) return
    files.add(file)
    for (const specifier of specifiersOf(file)) {
      if (specifier.startsWith(".")) visit(resolve(dirname(file), specifier))
      else packages.add(specifier)
    }
  }
  visit(entry)
  return {
    files: [...files].map((file) => relative(SRC, file)).sort(),
    packages: [...packages].sort()
  }
}

/** Imports `entry` in a fresh Node process (sources, type-stripped) and lists the modules it resolved. */
const PROBE = `
import { registerHooks } from "node:module"
const resolved = []
registerHooks({
  resolve(specifier, context, next) {
    const result = next(specifier, context)
    resolved.push(result.url)
    return result
  }
})
const entry = await import(process.env.LOCK_KIT_PROBE_ENTRY)
console.log(JSON.stringify({ exports: Object.keys(entry).sort(), resolved }))
`

const loadedBy = async (entry: string) => {
  const { stdout } = await promisify(execFile)(
    process.execPath,
    ["--conditions=@dogpile-effect/source", "--input-type=module", "-e", PROBE],
    { env: { ...process.env, LOCK_KIT_PROBE_ENTRY: entry }, timeout: 60_000 }
  )
  const { exports, resolved } = JSON.parse(stdout) as { exports: Array<string>; resolved: Array<string> }
  return { exports, ioredis: resolved.filter((url) => url.includes("/ioredis/")) }
}

describe("@dogpile-effect/redis/lock-kit", () => {
  it("imports only core, effect and node:crypto, through its own client-agnostic modules", () => {
    const graph = moduleGraph(LOCK_KIT)
    expect(graph.packages).toEqual(["@dogpile-effect/core", "effect", "node:crypto"])
    expect(graph.files).toEqual([
      "KeySlot.ts",
      "LockAttempt.ts",
      "LockKey.ts",
      "LockLua.ts",
      "LockRenewal.ts",
      "LockSettings.ts",
      "LockToken.ts",
      "LostLock.ts",
      "RedisLease.ts",
      "RestampLua.ts",
      "StoreTtl.ts",
      "entries/lockKit.ts"
    ])
    // The same walk finds ioredis from the root entry.
    expect(moduleGraph(ROOT).packages).toContain("ioredis")
  })

  it("loads no ioredis module when imported in a fresh process", async () => {
    const [kit, root] = await Promise.all([loadedBy(LOCK_KIT), loadedBy(ROOT)])
    expect(kit.exports).toEqual(["LockAttempt", "LockKey", "LockLua", "LockRenewal", "LockSettings", "LostLock", "RedisLease", "RestampLua", "StoreTtl"])
    expect(kit.ioredis).toEqual([])
    expect(root.ioredis.length).toBeGreaterThan(0)
  }, 120_000)
})
