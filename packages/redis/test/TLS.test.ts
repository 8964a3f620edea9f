/**
 * TLS for real (#11 item 6): a redis-server serving only TLS with a
 * certificate this test generates with `openssl`; a round trip over
 * `rediss://`; handshake failures (wrong CA, no CA, TLS to a plain server)
 * are typed errors naming the cause and never crash the process.
 */
import { assert, describe, it } from "@effect/vitest"
import { RedisClient } from "@dogpile-effect/redis"
import { Effect, Logger } from "effect"
import { afterAll, beforeAll, inject } from "vitest"
import { makeTlsFiles, type RedisServer, startRedisServer, type TlsFiles } from "../../../test-support/redis-server.ts"

let files: (TlsFiles & { readonly otherCaPem: string }) | undefined
let server: RedisServer | undefined
/** A second TLS server that requires a client certificate. */
let strict: RedisServer | undefined
/** Unhandled `error` events end the process; under vitest they surface here. */
const uncaught: Array<unknown> = []
const onUncaught = (error: unknown) => void uncaught.push(error)

beforeAll(async () => {
  process.on("uncaughtException", onUncaught)
  files = await makeTlsFiles()
  const tls = { cert: files.serverCert, key: files.serverKey, caCert: files.caCert, caPem: files.caPem }
  server = await startRedisServer({ tls })
  strict = await startRedisServer({
    tls: { ...tls, requireClient: { certPem: files.clientCertPem, keyPem: files.clientKeyPem } }
  })
})
afterAll(async () => {
  await server?.dispose()
  await strict?.dispose()
  await files?.dispose()
  process.off("uncaughtException", onUncaught)
})

// beforeAll ran: the files and the server exist.
const tlsFiles = () => files as TlsFiles & { readonly otherCaPem: string }
const tlsServer = () => server as RedisServer
const quiet = Logger.layer([])

/** One call through a fresh Layer; its failure, if any. */
const callWith = (options: RedisClient.RedisClientOptions) =>
  Effect.gen(function*() {
    const redis = yield* RedisClient.RedisClient
    return yield* Effect.flip(redis.use("ping", (c) => c.ping()))
  }).pipe(Effect.provide(RedisClient.layer({ connectTimeout: "500 millis", ...options })), Effect.provide(quiet))

describe("RedisClient over TLS", () => {
  it.live("rediss:// with the generated CA: a round trip, binary-safe", () =>
    Effect.gen(function*() {
      const redis = yield* RedisClient.RedisClient
      assert.isTrue(yield* redis.isReady)
      assert.match(redis.label, /^rediss:\/\//)
      const bytes = Buffer.from(Array.from({ length: 256 }, (_, i) => i))
      yield* redis.use("set", (c) => c.set("tls:bin", bytes))
      const back = yield* redis.use("get", (c) => c.getBuffer("tls:bin"))
      assert.isTrue(back !== null && Buffer.compare(back, bytes) === 0)
    }).pipe(Effect.provide(RedisClient.layer({ url: tlsServer().url, tls: { ca: tlsFiles().caPem } }))))

  it.live("a wrong CA, five times over: typed BackendError naming the TLS handshake, no crash", () =>
    Effect.gen(function*() {
      for (let i = 0; i < 5; i++) {
        const error = yield* callWith({ url: tlsServer().url, tls: { ca: tlsFiles().otherCaPem } })
        assert.strictEqual(error._tag, "BackendError")
        assert.include(error.message, "TLS handshake failed")
        // Several reconnection attempts (each a failed handshake) before the Layer closes.
        yield* Effect.sleep("100 millis")
      }
      assert.deepStrictEqual(uncaught, [])
    }))

  it.live("rediss:// without the CA (self-signed chain) and TLS to a plain server: typed errors, no crash", () =>
    Effect.gen(function*() {
      const noCa = yield* callWith({ url: tlsServer().url })
      assert.strictEqual(noCa._tag, "BackendError")
      assert.include(noCa.message, "TLS handshake failed")
      const plain = new URL(inject("redisUrl"))
      const toPlain = yield* callWith({ url: `rediss://${plain.host}`, tls: { ca: tlsFiles().caPem } })
      assert.strictEqual(toPlain._tag, "BackendError")
      assert.deepStrictEqual(uncaught, [])
    }))

  it.live("a server requiring a client certificate: without one, 4 Layers × 5 rounds fail typed, no crash; with one, PONG", () =>
    Effect.gen(function*() {
      const url = (strict as RedisServer).url
      const ca = tlsFiles().caPem
      for (let round = 0; round < 5; round++) {
        const errors = yield* Effect.forEach(
          Array.from({ length: 4 }, (): RedisClient.RedisClientOptions => ({ url, tls: { ca }, connectTimeout: "300 millis" })),
          (options) => callWith(options),
          { concurrency: "unbounded" }
        )
        for (const error of errors) assert.strictEqual(error._tag, "BackendError")
      }
      const pong = yield* Effect.gen(function*() {
        const redis = yield* RedisClient.RedisClient
        return yield* redis.use("ping", (c) => c.ping())
      }).pipe(Effect.provide(RedisClient.layer({
        url,
        tls: { ca, cert: tlsFiles().clientCertPem, key: tlsFiles().clientKeyPem }
      })))
      assert.strictEqual(pong, "PONG")
      assert.deepStrictEqual(uncaught, [])
    }))

  it.live("the TLS server killed and restarted under a live Layer: typed errors meanwhile, then it serves again", () =>
    Effect.gen(function*() {
      const redis = yield* RedisClient.RedisClient
      assert.strictEqual(yield* redis.use("ping", (c) => c.ping()), "PONG")
      yield* Effect.promise(() => tlsServer().stop())
      const down = yield* Effect.flip(redis.use("ping", (c) => c.ping()))
      assert.strictEqual(down._tag, "BackendError")
      yield* Effect.promise(() => tlsServer().start())
      let pong = ""
      for (let i = 0; i < 100 && pong !== "PONG"; i++) {
        pong = yield* redis.use("ping", (c) => c.ping()).pipe(Effect.orElseSucceed(() => ""))
        if (pong !== "PONG") yield* Effect.sleep("50 millis")
      }
      assert.strictEqual(pong, "PONG")
      assert.deepStrictEqual(uncaught, [])
    }).pipe(Effect.provide(RedisClient.layer({ url: tlsServer().url, tls: { ca: tlsFiles().caPem } })), Effect.provide(quiet)))
})
