import { Redis } from "ioredis"
import { describe, expect, inject, it } from "vitest"
import { startRedisCluster, startRedisServer } from "../../../test-support/redis-server.ts"

describe("test harness", () => {
  it("provides the shared server's URL", async () => {
    const client = new Redis(inject("redisUrl"), { lazyConnect: true })
    await client.connect()
    expect(await client.ping()).toBe("PONG")
    client.disconnect()
  })

  it("starts, stops and restarts an extra server on the same port", async () => {
    const server = await startRedisServer()
    try {
      const client = new Redis(server.url, { maxRetriesPerRequest: 0, enableOfflineQueue: false, lazyConnect: true })
      await client.connect()
      await client.set("k", "v")
      client.disconnect()
      await server.stop()
      await server.start()
      const again = new Redis(server.url, { lazyConnect: true })
      await again.connect()
      expect(await again.get("k")).toBe(null)
      again.disconnect()
    } finally {
      await server.dispose()
    }
  })

  it("starts a 3-master cluster", async () => {
    const cluster = await startRedisCluster()
    try {
      expect(cluster.nodes.length).toBe(3)
      expect(new Set(cluster.nodes.map((n) => n.port)).size).toBe(3)
    } finally {
      await cluster.dispose()
    }
  })
})
