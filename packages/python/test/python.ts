/**
 * Runs the Python driver (fixtures/driver.py) under Debian's interpreter and
 * reads its JSON lines. Also decides whether the Python tests can run.
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process"
import { fileURLToPath } from "node:url"

/** Debian's interpreter: python3-dogpile.cache, python3-redis and python3-msgpack install into it only. */
export const PYTHON = process.env["DOGPILE_PYTHON"] ?? "/usr/bin/python3"
const driver = fileURLToPath(new URL("./fixtures/driver.py", import.meta.url))

const probeModules = () =>
  spawnSync(PYTHON, ["-c", "import dogpile.cache, redis, msgpack; print(dogpile.cache.__version__)"])

/**
 * Like the Redis harness: on a fresh Debian/Ubuntu machine, root installs Debian's packages once
 * (`.ci/run` does the same before the tests); anyone else gets the command to run.
 */
const installAsRoot = () => {
  if (process.getuid?.() !== 0 || process.env["DOGPILE_PYTHON"] !== undefined) return
  process.stderr.write("[python] installing python3-dogpile.cache python3-redis python3-msgpack (apt-get)\n")
  spawnSync("sh", ["-c", "apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-dogpile.cache python3-redis python3-msgpack"], {
    stdio: "ignore",
    timeout: 600_000
  })
}

let probe = probeModules()
if (probe.status !== 0) {
  installAsRoot()
  probe = probeModules()
}

/** The dogpile.cache version the tests run against, or undefined when the modules are missing. */
export const dogpileVersion: string | undefined = probe.status === 0 ? probe.stdout.toString().trim() : undefined

/** Root (CI) must run the Python tests: skipping is allowed only for a non-root developer without the modules. */
export const mustRun = process.getuid?.() === 0

export const missingMessage =
  `${PYTHON} cannot import dogpile.cache, redis and msgpack. ` +
  "Install them with: apt-get install -y python3-dogpile.cache python3-redis python3-msgpack"

export type Line = Record<string, unknown>

/** One driver process: its events as they arrive, and its last line once it exits. */
export class Driver {
  private readonly lines: Array<Line> = []
  private readonly waiters: Array<() => void> = []
  private stderr = ""
  readonly result: Promise<Line>
  private readonly child: ChildProcess

  constructor(request: Record<string, unknown>) {
    this.child = spawn(PYTHON, [driver, JSON.stringify(request)], { stdio: ["ignore", "pipe", "pipe"] })
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

/** Runs one driver command to its end and returns its last line. */
export const run = (request: Record<string, unknown>): Promise<Line> => new Driver(request).result
