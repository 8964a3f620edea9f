/**
 * vitest globalSetup of the `redis` and `hstore` projects: provides `redisUrl`
 * to the tests (`inject("redisUrl")`). Uses `REDIS_URL` when it is set;
 * otherwise starts a private redis-server on a free loopback port and stops it
 * at teardown.
 */
import type { TestProject } from "vitest/node"
import { startRedisServer } from "./redis-server.ts"

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const external = process.env["REDIS_URL"]
  if (external !== undefined && external.length > 0) {
    project.provide("redisUrl", external)
    return async () => {}
  }
  const server = await startRedisServer()
  project.provide("redisUrl", server.url)
  return () => server.dispose()
}
