/**
 * What `dogpile` says about its connection and itself, against real servers:
 * a `rediss://` URL at a plaintext redis-server names that cause (not
 * ioredis' "Stream isn't writeable and enableOfflineQueue options is false"),
 * without the password; the probe behind it tells a plaintext server from a
 * TLS-only one; `--version` is the package's.
 */
import { TlsProbe } from "@dogpile-effect/cli"
import { Effect, Option, Redacted } from "effect"
import { readFileSync } from "node:fs"
import * as net from "node:net"
import { afterAll, assert, beforeAll, describe, inject, it } from "vitest"
import { makeTlsFiles, type RedisServer, startRedisServer, type TlsFiles } from "../../../test-support/redis-server.ts"
import { root, runDogpile } from "./bin.ts"

const url = inject("redisUrl")
const port = Number(new URL(url).port)
const TIMEOUT = 120_000

let tlsFiles: TlsFiles
let tlsServer: RedisServer

beforeAll(async () => {
  tlsFiles = await makeTlsFiles()
  tlsServer = await startRedisServer({
    tls: { cert: tlsFiles.serverCert, key: tlsFiles.serverKey, caCert: tlsFiles.caCert, caPem: tlsFiles.caPem }
  })
}, TIMEOUT)

afterAll(async () => {
  await tlsServer?.dispose()
  await tlsFiles?.dispose()
})

const closedPort = (): Promise<number> =>
  new Promise((resolve) => {
    const server = net.createServer()
    server.listen(0, "127.0.0.1", () => {
      const address = server.address()
      server.close(() => resolve(typeof address === "object" && address !== null ? address.port : 1))
    })
  })

describe("dogpile's connection errors name their cause", () => {
  it("a rediss:// URL at a plaintext server says the server speaks plain Redis, without the password", async () => {
    const ran = await runDogpile(["get", "user:1", "--region", "users"], {
      REDIS_URL: `rediss://:s3cretPw@127.0.0.1:${port}`
    })
    assert.strictEqual(ran.code, 3, ran.stderr)
    assert.include(ran.stderr, `TLS handshake with 127.0.0.1:${port} got no answer: the server speaks plain Redis`)
    assert.include(ran.stderr, "use redis:// instead of rediss://")
    assert.notInclude(ran.stderr, "Stream isn't writeable")
    assert.notInclude(ran.stderr, "s3cretPw")
  }, TIMEOUT)

  it("a rediss:// URL where nothing listens still says connection refused (no plain-Redis claim)", async () => {
    const ran = await runDogpile(["get", "user:1", "--region", "users"], {
      REDIS_URL: `rediss://127.0.0.1:${await closedPort()}`
    })
    assert.strictEqual(ran.code, 3, ran.stderr)
    assert.include(ran.stderr, "connection refused")
    assert.notInclude(ran.stderr, "plain Redis")
  }, TIMEOUT)

  it("the probe: PONG from the plaintext server, nothing in RESP from the TLS-only one or a closed port", async () => {
    const probe = (p: number) => Effect.runPromise(TlsProbe.speaksPlainRedis({ host: "127.0.0.1", port: p }, "2 seconds"))
    const [plain, tls, closed] = await Promise.all([probe(port), probe(tlsServer.port), closedPort().then(probe)])
    assert.deepStrictEqual({ plain, tls, closed }, { plain: true, tls: false, closed: false })
  }, TIMEOUT)

  it("TlsProbe.tlsEndpoint reads rediss:// URLs only, with the default port", () => {
    const endpoint = (text: string) => TlsProbe.tlsEndpoint(Redacted.make(text))
    assert.deepStrictEqual(Option.getOrNull(endpoint("rediss://:pw@cache.internal:6380/2")), { host: "cache.internal", port: 6380 })
    assert.deepStrictEqual(Option.getOrNull(endpoint("rediss://[::1]")), { host: "::1", port: 6379 })
    assert.isTrue(Option.isNone(endpoint("redis://127.0.0.1:6380")))
    assert.isTrue(Option.isNone(endpoint("not a url")))
  })
})

describe("dogpile --version", () => {
  it("prints the version of packages/cli/package.json", async () => {
    const { version } = JSON.parse(readFileSync(`${root}packages/cli/package.json`, "utf8")) as { version: string }
    const ran = await runDogpile(["--version"], {})
    assert.strictEqual(ran.code, 0, ran.stderr)
    assert.include(ran.stdout, version)
  }, TIMEOUT)
})
