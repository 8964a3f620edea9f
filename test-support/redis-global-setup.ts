/**
 * vitest globalSetup of the `redis` and `hstore` projects: provides `redisUrl`
 * to the tests (`inject("redisUrl")`). Uses `REDIS_URL` when it is set;
 * otherwise starts a private redis-server (`REDIS_SERVER_BIN`, or `redis-server`
 * on `PATH`, installed from Debian's package first when missing and running as
 * root) on a free loopback port and stops it at teardown.
 */
import type { TestProject } from "vitest/node"
import { ensureRedisServer, serverVersion } from "./ensure-redis-server.ts"
import { startRedisServer } from "./redis-server.ts"

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const external = process.env["REDIS_URL"]
  if (external !== undefined && external.length > 0) {
    project.provide("redisUrl", external)
    return async () => {}
  }
  const binary = ensureRedisServer()
  process.stderr.write(`[${project.name}] ${serverVersion(binary)} (${binary})\n`)
  const server = await startRedisServer()
  project.provide("redisUrl", server.url)
  return () => server.dispose()
}
