/**
 * Bundled applications: esbuild bundles `examples/quickstart.ts` and
 * `examples/binary-codecs.ts` (MessagePack and CBOR regions through
 * `@dogpile-effect/codecs/msgpack` and `/cbor`) into a directory with no
 * node_modules, and the bundles run against a real redis-server: the values
 * round-trip, so msgpackr and cbor-x are inside the bundle. A bundle of the
 * root `@dogpile-effect/codecs` alone carries neither library and refuses to
 * encode with an error naming the entry point to import.
 */
import { build, type BuildOptions } from "esbuild"
import { execFile } from "node:child_process"
import { mkdtemp, rm } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { promisify } from "node:util"
import { afterAll, assert, beforeAll, describe, it } from "vitest"
import { type RedisServer, startRedisServer } from "../../../test-support/redis-server.ts"

const root = fileURLToPath(new URL("../../../", import.meta.url))
const run = promisify(execFile)
let server: RedisServer
let out: string

beforeAll(async () => {
  server = await startRedisServer()
  out = await mkdtemp(join(tmpdir(), "dogpile-bundle-"))
})

afterAll(async () => {
  await server?.dispose()
  if (out !== undefined) await rm(out, { recursive: true, force: true })
})

/** An ES module bundle needs a `require` for the CommonJS libraries it carries (ioredis). */
const esmRequire = 'import { createRequire as __dogpileCreateRequire } from "node:module"; ' +
  "const require = __dogpileCreateRequire(import.meta.url);"

const bundle = async (name: string, format: "esm" | "cjs", source: Pick<BuildOptions, "entryPoints" | "stdin">) => {
  const outfile = join(out, `${name}.${format === "esm" ? "mjs" : "cjs"}`)
  const result = await build({
    ...source,
    absWorkingDir: root,
    bundle: true,
    platform: "node",
    target: "node22",
    format,
    outfile,
    // The workspace packages' TypeScript sources (the packed tarballs' dist is checked by .ci/packaging).
    conditions: ["@dogpile-effect/source"],
    ...(format === "esm" ? { banner: { js: esmRequire } } : {}),
    metafile: true,
    logLevel: "silent"
  })
  const inputs = Object.keys(result.metafile.inputs)
  return { outfile, inputs, warnings: result.warnings.length }
}

/** Runs a bundle from its own directory (no node_modules anywhere above it) and returns its output. */
const runBundle = async (outfile: string): Promise<string> => {
  const { stderr, stdout } = await run(process.execPath, [outfile], {
    cwd: out,
    env: { ...process.env, REDIS_URL: server.url, NODE_PATH: "" },
    timeout: 60_000
  })
  return stdout + stderr
}

const carries = (inputs: ReadonlyArray<string>, pkg: string): boolean =>
  inputs.some((input) => input.includes(`/node_modules/${pkg}/`))

describe("esbuild bundles run against redis-server", () => {
  it("examples/quickstart.ts as an ES module: 1,000 callers get the value", async () => {
    const { outfile, warnings } = await bundle("quickstart", "esm", { entryPoints: ["examples/quickstart.ts"] })
    assert.strictEqual(warnings, 0)
    assert.include(await runBundle(outfile), "1000 callers got user 42")
  })

  for (const format of ["esm", "cjs"] as const) {
    it(`examples/binary-codecs.ts (${format}): msgpack and cbor values round-trip through Redis`, async () => {
      const { inputs, outfile, warnings } = await bundle("binary-codecs", format, {
        entryPoints: ["examples/binary-codecs.ts"]
      })
      assert.strictEqual(warnings, 0)
      assert.isTrue(carries(inputs, "msgpackr"), "msgpackr is in the bundle")
      assert.isTrue(carries(inputs, "cbor-x"), "cbor-x is in the bundle")
      assert.include(
        await runBundle(outfile),
        `binary codecs: msgpack {"user":7,"roles":["admin","ops"]}, cbor alice=${2n ** 70n}`
      )
    })
  }

  it("the root entry point carries neither peer, and its error names the entry point to import", async () => {
    const contents = [
      `import { Msgpack, Cbor } from "@dogpile-effect/codecs"`,
      `import { Effect } from "effect"`,
      `for (const codec of [Msgpack.codec, Cbor.codec]) {`,
      `  const error = Effect.runSync(Effect.flip(codec.encode(1)))`,
      `  console.log(error._tag + ": " + error.reason)`,
      `}`
    ].join("\n")
    const { inputs, outfile } = await bundle("root-only", "esm", {
      stdin: { contents, resolveDir: join(root, "examples"), sourcefile: "root-only.ts", loader: "ts" }
    })
    assert.isFalse(carries(inputs, "msgpackr"))
    assert.isFalse(carries(inputs, "cbor-x"))
    const output = await runBundle(outfile)
    assert.include(output, "EncodeError: msgpackr is not installed")
    assert.include(output, `import "@dogpile-effect/codecs/msgpack"`)
    assert.include(output, "EncodeError: cbor-x is not installed")
    assert.include(output, `import "@dogpile-effect/codecs/cbor"`)
  })
})
