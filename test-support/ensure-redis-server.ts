/**
 * Finds the `redis-server` binary the tests and the demo run, and installs
 * Debian's package when it is missing and we run as root (as on CI). Anyone
 * else gets one error naming the command to run, before any test starts.
 *
 * The binary is `REDIS_SERVER_BIN` when set (e.g. a Redis 7.4 or Valkey build),
 * otherwise `redis-server` on `PATH`.
 */
import { execFileSync, spawnSync } from "node:child_process"
import { accessSync, constants } from "node:fs"
import { delimiter, join } from "node:path"

/** The command a non-root user runs once. */
export const installCommand = "sudo apt-get install -y redis-server"

const isExecutable = (file: string): boolean => {
  try {
    accessSync(file, constants.X_OK)
    return true
  } catch {
    return false
  }
}

/** `name` on `PATH`, or undefined. */
export const onPath = (name: string): string | undefined =>
  (process.env["PATH"] ?? "").split(delimiter)
    .filter((dir) => dir.length > 0)
    .map((dir) => join(dir, name))
    .find(isExecutable)

const isRoot = (): boolean => process.getuid?.() === 0

/** Runs `apt-get update` and `apt-get install -y redis-server`, printing one line first. */
const aptInstall = (): void => {
  process.stderr.write("redis-server not found: installing Debian's redis-server package (running as root)\n")
  const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" }
  for (const args of [["update", "-qq"], ["install", "-y", "-qq", "redis-server"]]) {
    const result = spawnSync("apt-get", args, { env, stdio: ["ignore", "ignore", "inherit"] })
    if (result.status !== 0) {
      throw new Error(`apt-get ${args.join(" ")} failed (${result.error?.message ?? `exit ${result.status}`})`)
    }
  }
}

/**
 * The path of the redis-server binary to run: `REDIS_SERVER_BIN`, or
 * `redis-server` on `PATH`, installed with apt-get first when missing and the
 * process runs as root with apt-get available. Throws an `Error` whose message
 * is the command to run otherwise.
 *
 * @example
 * ```ts
 * const binary = ensureRedisServer() // "/usr/bin/redis-server"
 * ```
 */
export const ensureRedisServer = (): string => {
  const explicit = process.env["REDIS_SERVER_BIN"]
  if (explicit !== undefined && explicit.length > 0) {
    if (isExecutable(explicit)) return explicit
    throw new Error(`REDIS_SERVER_BIN=${explicit} is not an executable file`)
  }
  const found = onPath("redis-server")
  if (found !== undefined) return found
  if (isRoot() && onPath("apt-get") !== undefined) {
    aptInstall()
    const installed = onPath("redis-server")
    if (installed !== undefined) return installed
  }
  throw new Error(
    `redis-server was not found on PATH. Run \`${installCommand}\` (macOS: \`brew install redis\`), ` +
      `or set REDIS_SERVER_BIN to a redis-server binary, or REDIS_URL to a server of yours.`
  )
}

/** `redis-server --version`, e.g. "Redis server v=7.4.1 sha=..."; for the test log. */
export const serverVersion = (binary: string): string =>
  execFileSync(binary, ["--version"], { encoding: "utf8" }).trim()
