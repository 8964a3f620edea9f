/**
 * The Python sides of the interop tests, all in Debian's interpreter
 * (`/usr/bin/python3`, with python3-dogpile.cache, python3-redis and
 * python3-msgpack), and the driver (fixtures/driver.py) that runs regions on
 * them:
 *
 * - `1.1.8`: Debian's dogpile.cache 1.1.8;
 * - `1.5.0`: dogpile.cache 1.5.0 from `../shared/python` (source archive,
 *   unpacked here into `packages/python/.python-sides/`, on `PYTHONPATH`).
 *
 * Both sides also see dogpile_backend_redis_advanced 0.5.0 (same archive
 * directory) and the `dogpile-effect-invalidation` package
 * (packages/python/python), installed with `pip install --target`.
 * `DOGPILE_SHARED_PYTHON` overrides where the archives are.
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process"
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, renameSync, rmSync, statSync } from "node:fs"
import { join } from "node:path"
import { fileURLToPath } from "node:url"

/** Debian's interpreter: python3-dogpile.cache, python3-redis and python3-msgpack install into it only. */
export const PYTHON = process.env["DOGPILE_PYTHON"] ?? "/usr/bin/python3"
const driver = fileURLToPath(new URL("./fixtures/driver.py", import.meta.url))
const packageDir = fileURLToPath(new URL("..", import.meta.url))
const repoRoot = join(packageDir, "..", "..")
const sharedPython = process.env["DOGPILE_SHARED_PYTHON"] ?? join(repoRoot, "..", "shared", "python")
const cacheDir = join(packageDir, ".python-sides")

/** Root (CI) must run the Python tests: skipping is allowed only for a non-root developer without the modules. */
export const mustRun = process.getuid?.() === 0

const sh = (command: string) => spawnSync("sh", ["-c", command], { stdio: "ignore", timeout: 600_000 })

const probeModules = () =>
  spawnSync(PYTHON, ["-c", "import dogpile.cache, redis, msgpack; print(dogpile.cache.__version__)"])

/**
 * Like the Redis harness: on a fresh Debian/Ubuntu machine, root installs Debian's packages once
 * (`.ci/run` does the same before the tests); anyone else gets the command to run.
 */
const installAsRoot = (packages: string) => {
  if (!mustRun || process.env["DOGPILE_PYTHON"] !== undefined) return
  process.stderr.write(`[python] installing ${packages} (apt-get)\n`)
  sh(`apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq ${packages}`)
}

let probe = probeModules()
if (probe.status !== 0) {
  installAsRoot("python3-dogpile.cache python3-redis python3-msgpack")
  probe = probeModules()
}

/** Debian's dogpile.cache version, or undefined when the modules are missing. */
export const dogpileVersion: string | undefined = probe.status === 0 ? probe.stdout.toString().trim() : undefined

export const missingMessage =
  `${PYTHON} cannot import dogpile.cache, redis and msgpack. ` +
  "Install them with: apt-get install -y python3-dogpile.cache python3-redis python3-msgpack"

/** Makes `target` with `fill(tmp)` in a temporary directory then one rename, so parallel test files never see half of it. */
const once = (target: string, fill: (tmp: string) => boolean): boolean => {
  if (existsSync(target)) return true
  mkdirSync(cacheDir, { recursive: true })
  const tmp = mkdtempSync(join(cacheDir, "tmp-"))
  try {
    if (!fill(tmp)) return false
    try {
      renameSync(tmp, target)
    } catch {
      // Another test file got there first.
    }
    return existsSync(target)
  } finally {
    rmSync(tmp, { recursive: true, force: true })
  }
}

/** The directory an archive of ../shared/python unpacks to (its single top-level entry), or undefined. */
const unpack = (archive: string): string | undefined => {
  const file = join(sharedPython, archive)
  if (!existsSync(file)) return undefined
  const target = join(cacheDir, `${archive.replace(/\.tar\.gz$/, "")}-${statSync(file).size}`)
  const ok = once(target, (tmp) => spawnSync("tar", ["-xzf", file, "-C", tmp]).status === 0)
  if (!ok) return undefined
  const [top] = readdirSync(target)
  return top === undefined ? undefined : join(target, top)
}

const pipWorks = () => spawnSync(PYTHON, ["-m", "pip", "--version"]).status === 0

/**
 * Installs packages/python/python (the `dogpile-effect-invalidation` package, by its pyproject.toml)
 * with Debian's pip into a directory for `PYTHONPATH`: a real build and install, offline.
 */
const installInvalidation = (): string | undefined => {
  if (!pipWorks()) installAsRoot("python3-pip python3-setuptools")
  if (!pipWorks()) return undefined
  const source = join(packageDir, "python")
  const stamp = readdirSync(join(source, "src")).map((f) => statSync(join(source, "src", f)).mtimeMs).join("-") +
    `-${statSync(join(source, "pyproject.toml")).mtimeMs}`
  const target = join(cacheDir, `invalidation-${stamp.replace(/\./g, "")}`)
  const ok = once(target, (tmp) => {
    // pip builds in the source tree: build from a copy, so nothing lands in packages/python/python.
    const copy = join(tmp, "src-copy")
    cpSync(source, copy, { recursive: true })
    const installed = spawnSync(PYTHON, [
      "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation", "--no-index",
      "--target", join(tmp, "site"), copy
    ])
    rmSync(copy, { recursive: true, force: true })
    if (installed.status !== 0) process.stderr.write(`[python] pip install failed: ${installed.stderr.toString()}\n`)
    if (installed.status !== 0) return false
    // `once` renames tmp itself: keep only the installed tree in it.
    for (const entry of readdirSync(join(tmp, "site"))) renameSync(join(tmp, "site", entry), join(tmp, entry))
    rmSync(join(tmp, "site"), { recursive: true, force: true })
    return true
  })
  return ok ? target : undefined
}

/** A Python side: the dogpile.cache it runs, with the plugin and the invalidation package on its path. */
export interface Side {
  readonly id: "1.1.8" | "1.5.0"
  readonly label: string
  readonly env: Record<string, string>
  /** dogpile.cache's version, as the interpreter reports it. */
  readonly dogpile: string
  /** The plugin's version. */
  readonly plugin: string
}

const plugin = unpack("dogpile_backend_redis_advanced-0.5.0-reconstructed.tar.gz")
const dogpile15 = unpack("dogpile.cache-1.5.0.tar.gz")
const invalidation = dogpileVersion === undefined ? undefined : installInvalidation()

const probeSide = (id: Side["id"], label: string, path: ReadonlyArray<string | undefined>): Side | string => {
  if (path.some((p) => p === undefined)) {
    return `${label}: needs ${sharedPython}/*.tar.gz (dogpile.cache 1.5.0, the plugin 0.5.0) and pip for the invalidation package`
  }
  const env = { PYTHONPATH: path.join(":") }
  const code = "import dogpile, dogpile_backend_redis_advanced as p, dogpile_effect_invalidation; print(dogpile.__version__, p.__version__)"
  const result = spawnSync(PYTHON, ["-c", code], { env: { ...process.env, ...env } })
  if (result.status !== 0) return `${label}: ${result.stderr.toString().trim().split("\n").at(-1)}`
  const [dogpile = "?", pluginVersion = "?"] = result.stdout.toString().trim().split(" ")
  if (dogpile !== id) return `${label}: expected dogpile.cache ${id}, got ${dogpile}`
  return { id, label, env, dogpile, plugin: pluginVersion }
}

const probed = dogpileVersion === undefined ? [] : [
  probeSide("1.1.8", "Debian's dogpile.cache 1.1.8", [plugin, invalidation]),
  probeSide("1.5.0", "dogpile.cache 1.5.0", [dogpile15, plugin, invalidation])
]

/** The sides that can run. */
export const sides: ReadonlyArray<Side> = probed.filter((s): s is Side => typeof s !== "string")

/** Why a side cannot run (empty when all can). */
export const sideProblems: ReadonlyArray<string> = probed.filter((s): s is string => typeof s === "string")

export type Line = Record<string, unknown>

/** One driver process: its events as they arrive, and its last line once it exits. */
export class Driver {
  private readonly lines: Array<Line> = []
  private readonly waiters: Array<() => void> = []
  private stderr = ""
  readonly result: Promise<Line>
  private readonly child: ChildProcess

  constructor(request: Record<string, unknown>, side?: Side) {
    const env = { ...process.env, ...side?.env }
    this.child = spawn(PYTHON, [driver, JSON.stringify(request)], { stdio: ["ignore", "pipe", "pipe"], env })
    let buffered = ""
    this.child.stdout?.on("data", (chunk: Buffer) => {
      buffered += chunk.toString("utf8")
      let newline = buffered.indexOf("\n")
      while (newline >= 0) {
        this.lines.push(JSON.parse(buffered.slice(0, newline)) as Line)
        buffered = buffered.slice(newline + 1)
        newline = buffered.indexOf("\n")
      }
      for (const wake of this.waiters.splice(0)) wake()
    })
    this.child.stderr?.on("data", (chunk: Buffer) => (this.stderr += chunk.toString("utf8")))
    this.result = new Promise((resolve, reject) => {
      this.child.on("close", (code) => {
        for (const wake of this.waiters.splice(0)) wake()
        const last = this.lines.at(-1)
        if (code === 0 && last !== undefined) resolve(last)
        else reject(new Error(`driver ${String(request["cmd"])} exited with ${code}: ${this.stderr}`))
      })
    })
    // Failures surface through `result` or `event`; don't report them twice.
    this.result.catch(() => {})
  }

  /** Resolves when the driver has printed `{"event": name}`; rejects if it exits first. */
  async event(name: string): Promise<void> {
    while (true) {
      if (this.lines.some((line) => line["event"] === name)) return
      if (this.child.exitCode !== null) throw new Error(`driver exited before "${name}": ${this.stderr}`)
      await new Promise<void>((resolve) => this.waiters.push(resolve))
    }
  }

  /** Whether the driver printed `{"event": name}` so far. */
  saw(name: string): boolean {
    return this.lines.some((line) => line["event"] === name)
  }
}

/** Runs one driver command to its end (on `side`, else Debian's dogpile.cache alone) and returns its last line. */
export const run = (request: Record<string, unknown>, side?: Side): Promise<Line> => new Driver(request, side).result
