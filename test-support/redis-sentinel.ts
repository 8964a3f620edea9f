/**
 * A Redis Sentinel deployment on loopback for the failover tests: a primary, a
 * replica of it and three Sentinels (quorum 2) watching it, every process from
 * the same `redis-server` binary (`--sentinel` mode), on free ports, in
 * temporary directories removed on `dispose`. Nothing persists.
 */
import { type ChildProcess, execFile, spawn } from "node:child_process"
import { mkdtemp, rm, writeFile } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { promisify } from "node:util"
import { freePort, type RedisServer, startRedisServer } from "./redis-server.ts"

const execFileAsync = promisify(execFile)
const REDIS_SERVER = process.env["REDIS_SERVER_BIN"] ?? "redis-server"
const REDIS_CLI = process.env["REDIS_CLI_BIN"] ?? "redis-cli"

/** A running Sentinel deployment. */
export interface RedisSentinel {
  /** The master group's name, as Sentinels know it. */
  readonly name: string
  readonly sentinels: ReadonlyArray<{ readonly host: string; readonly port: number }>
  /** `redis+sentinel://127.0.0.1:A,127.0.0.1:B,127.0.0.1:C/NAME`. */
  readonly url: string
  /** The first primary and its replica (the replica is promoted when the primary dies). */
  readonly primary: RedisServer
  readonly replica: RedisServer
  /** The port Sentinels currently name as the primary's. */
  readonly primaryPort: () => Promise<number | undefined>
  /** Resolves once Sentinels name another primary than `port` (after a failover), with its port. */
  readonly awaitFailover: (port: number, timeoutMs?: number) => Promise<number>
  readonly dispose: () => Promise<void>
}

const cli = (port: number, ...args: ReadonlyArray<string>): Promise<string | undefined> =>
  execFileAsync(REDIS_CLI, ["-p", String(port), ...args], { timeout: 2_000 }).then((out) => out.stdout, () => undefined)

const waitFor = async (what: string, check: () => Promise<boolean>, timeoutMs = 15_000): Promise<void> => {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    if (await check()) return
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  throw new Error(`timed out waiting for ${what}`)
}

/** `SENTINEL master NAME` as a map (its reply alternates field and value lines). */
const masterInfo = async (port: number, name: string): Promise<Map<string, string>> => {
  const lines = ((await cli(port, "SENTINEL", "master", name)) ?? "").split("\n").map((line) => line.trim())
  const info = new Map<string, string>()
  for (let i = 0; i + 1 < lines.length; i += 2) info.set(lines[i]!, lines[i + 1]!)
  return info
}

const startSentinel = async (
  name: string,
  primaryPort: number
): Promise<{ readonly port: number; readonly stop: () => Promise<void> }> => {
  const port = await freePort()
  const dir = await mkdtemp(join(tmpdir(), "dogpile-sentinel-"))
  const config = join(dir, "sentinel.conf")
  await writeFile(config, [
    `port ${port}`,
    "bind 127.0.0.1",
    "daemonize no",
    `dir ${dir}`,
    `sentinel monitor ${name} 127.0.0.1 ${primaryPort} 2`,
    `sentinel down-after-milliseconds ${name} 1000`,
    `sentinel failover-timeout ${name} 5000`,
    `sentinel parallel-syncs ${name} 1`,
    ""
  ].join("\n"))
  const child: ChildProcess = spawn(REDIS_SERVER, [config, "--sentinel", "--loglevel", "warning"], {
    stdio: ["ignore", "ignore", "pipe"]
  })
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      await new Promise<void>((resolve) => {
        const kill = setTimeout(() => child.kill("SIGKILL"), 2_000)
        child.once("exit", () => {
          clearTimeout(kill)
          resolve()
        })
        child.kill("SIGTERM")
      })
    }
    await rm(dir, { recursive: true, force: true })
  }
  try {
    await waitFor(`sentinel on port ${port}`, async () => {
      if (child.exitCode !== null) throw new Error(`redis sentinel on port ${port} exited with ${child.exitCode}`)
      return (await cli(port, "PING"))?.trim() === "PONG"
    })
  } catch (error) {
    await stop()
    throw error
  }
  return { port, stop }
}

/**
 * Starts a primary, a replica and three Sentinels, and waits until every
 * Sentinel knows the replica and the two other Sentinels (a failover can then
 * be agreed). Takes a few seconds.
 *
 * @example
 * ```ts
 * const deployment = await startRedisSentinel()
 * try { ... deployment.url ... } finally { await deployment.dispose() }
 * ```
 */
export const startRedisSentinel = async (name = "mymaster"): Promise<RedisSentinel> => {
  const stops: Array<() => Promise<void>> = []
  const dispose = async () => {
    await Promise.all(stops.map((stop) => stop().catch(() => undefined)))
  }
  try {
    const primary = await startRedisServer()
    stops.push(primary.dispose)
    const replica = await startRedisServer({ args: ["--replicaof", "127.0.0.1", String(primary.port)] })
    stops.push(replica.dispose)
    await waitFor("the replica's link to the primary", async () =>
      ((await cli(replica.port, "INFO", "replication")) ?? "").includes("master_link_status:up"))
    const sentinels: Array<{ readonly host: string; readonly port: number }> = []
    for (let i = 0; i < 3; i++) {
      const sentinel = await startSentinel(name, primary.port)
      stops.push(sentinel.stop)
      sentinels.push({ host: "127.0.0.1", port: sentinel.port })
    }
    for (const sentinel of sentinels) {
      await waitFor(`sentinel ${sentinel.port} to know the replica and the other sentinels`, async () => {
        const info = await masterInfo(sentinel.port, name)
        return info.get("num-slaves") === "1" && info.get("num-other-sentinels") === "2"
      }, 30_000)
    }
    const primaryPort = async (): Promise<number | undefined> => {
      for (const sentinel of sentinels) {
        const reply = await cli(sentinel.port, "SENTINEL", "get-master-addr-by-name", name)
        const port = Number((reply ?? "").split("\n")[1])
        if (Number.isInteger(port) && port > 0) return port
      }
      return undefined
    }
    const awaitFailover = async (port: number, timeoutMs = 30_000): Promise<number> => {
      let now: number | undefined
      await waitFor(`a failover away from port ${port}`, async () => {
        now = await primaryPort()
        return now !== undefined && now !== port
      }, timeoutMs)
      return now as number
    }
    return {
      name,
      sentinels,
      url: `redis+sentinel://${sentinels.map((s) => `${s.host}:${s.port}`).join(",")}/${name}`,
      primary,
      replica,
      primaryPort,
      awaitFailover,
      dispose
    }
  } catch (error) {
    await dispose()
    throw error
  }
}
