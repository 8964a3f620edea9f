/**
 * Configuration and secrets (#11 item 11): database index, malformed URLs,
 * unreachable servers, and validation of every RedisClient / RedisLock option.
 */
import { assert, describe, it } from "@effect/vitest"
import { RedisClient, RedisLock } from "@dogpile-effect/redis"
import { Cause, Config, ConfigProvider, Effect, Exit, Layer, Logger, Option, Redacted } from "effect"
import { Redis } from "ioredis"
import { inject } from "vitest"
import { freePort } from "../../../test-support/redis-server.ts"

const url = inject("redisUrl")
const secret = "pa55-s3cr3t-in-url"

/** Everything an error exposes: message, string form, JSON (cause included). */
const exposed = (error: unknown): string => {
  const parts = [String(error), error instanceof Error ? error.message : ""]
  try {
    parts.push(JSON.stringify(error))
  } catch {
    parts.push("<unserializable>")
  }
  if (error instanceof Error && error.cause !== undefined) parts.push(exposed(error.cause))
  return parts.join("\n")
}

/** Builds a RedisClient layer and returns its failure (never a defect). */
const buildFailure = (options: RedisClient.RedisClientOptions) =>
  Effect.gen(function*() {
    const exit = yield* Effect.exit(Effect.scoped(Layer.build(RedisClient.layer(options))))
    assert.isTrue(Exit.isFailure(exit), "the layer must fail")
    if (Exit.isSuccess(exit)) throw new Error("unreachable")
    assert.isFalse(Cause.hasDies(exit.cause), `a typed failure, not a defect: ${Cause.pretty(exit.cause)}`)
    return Option.getOrThrow(Exit.findErrorOption(exit))
  })

const lockFailure = (options: RedisLock.RedisLockOptions) =>
  Effect.gen(function*() {
    const exit = yield* Effect.exit(
      Effect.scoped(Layer.build(RedisLock.layer(options).pipe(Layer.provide(RedisClient.layer({ url })))))
    )
    if (Exit.isSuccess(exit)) return assert.fail("the lock layer must fail")
    assert.isFalse(Cause.hasDies(exit.cause), `a typed failure, not a defect: ${Cause.pretty(exit.cause)}`)
    return Option.getOrThrow(Exit.findErrorOption(exit))
  })

const dbOf = (db: number) => new URL(url).port + `/${db}`

describe("RedisClient database index", () => {
  it.live("redis://host/5 reads and writes database 5, not 0", () =>
    Effect.gen(function*() {
      const key = `config-test:${process.pid}:db5`
      yield* Effect.gen(function*() {
        const redis = yield* RedisClient.RedisClient
        yield* redis.use("set", (c) => c.set(key, "five"))
      }).pipe(Effect.provide(RedisClient.layer({ url: `redis://127.0.0.1:${dbOf(5)}` })))
      const raw = new Redis(url, { lazyConnect: true })
      try {
        yield* Effect.promise(() => raw.connect())
        assert.isNull(yield* Effect.promise(() => raw.get(key)), "nothing in database 0")
        yield* Effect.promise(() => raw.select(5))
        assert.strictEqual(yield* Effect.promise(() => raw.get(key)), "five")
        yield* Effect.promise(() => raw.del(key))
      } finally {
        raw.disconnect()
      }
    }))

  it.live("redis://host/99 (the server has 16) fails the Layer with a BackendError; nothing reaches database 0", () =>
    Effect.gen(function*() {
      const error = yield* buildFailure({ url: `redis://127.0.0.1:${dbOf(99)}` })
      assert.strictEqual(error._tag, "BackendError")
      assert.include(error.message, "database 99")
      assert.include(error.message, "DB index is out of range")
    }))

  it.live("a database other than 0 on a Cluster is an InvalidOptionError, before any I/O", () =>
    Effect.gen(function*() {
      const error = yield* buildFailure({ nodes: [{ host: "127.0.0.1", port: 1 }], db: 3 })
      assert.strictEqual(error._tag, "InvalidOptionError")
      assert.include(error.message, "Cluster")
      const fromUrl = yield* buildFailure({ url: "redis://127.0.0.1:1/2", cluster: true })
      assert.strictEqual(fromUrl._tag, "InvalidOptionError")
    }))
})

describe("RedisClient URLs and unreachable servers: typed errors naming the cause, password redacted", () => {
  const malformed: ReadonlyArray<readonly [string, string]> = [
    [`redis://:${secret}@[::1`, "not a valid URL"],
    [`redis://:${secret}@127.0.0.1:99999`, "not a valid URL"],
    [`127.0.0.1:6379`, "no scheme"],
    [`localhost`, "no scheme"],
    [`user:${secret}@127.0.0.1:6379`, "no scheme"],
    [`http://:${secret}@127.0.0.1:6379`, "unsupported scheme"],
    [`redis://:${secret}@127.0.0.1:6379/db1`, "database number"],
    [`redis://:${secret}@127.0.0.1:6379/0?tls=true`, "query string"],
    [`redis://:%E0%A4%A@127.0.0.1:6379`, "percent-encoding"],
    [`redis://127.0.0.1:1,redis://127.0.0.1:2`, "cluster: true"],
    [``, "empty"]
  ]
  for (const [text, cause] of malformed) {
    it.live(`${JSON.stringify(text.replace(secret, "…"))}: InvalidOptionError (${cause})`, () =>
      Effect.gen(function*() {
        for (const given of [text, Redacted.make(text)]) {
          const error = yield* buildFailure({ url: given })
          assert.strictEqual(error._tag, "InvalidOptionError")
          assert.include(error.message, cause)
          const all = exposed(error)
          assert.notInclude(all, secret)
          assert.notInclude(all, "input")
        }
      }))
  }

  /** Builds the layer (it warns and keeps connecting) and returns the failure of one call and the log lines. */
  const callFailure = (options: RedisClient.RedisClientOptions) =>
    Effect.gen(function*() {
      const lines: Array<string> = []
      const capture = Logger.layer([Logger.make(({ message }) => void lines.push(String(message)))])
      const error = yield* Effect.gen(function*() {
        const redis = yield* RedisClient.RedisClient
        return yield* Effect.flip(redis.use("get", (c) => c.get("k")))
      }).pipe(Effect.provide(RedisClient.layer({ connectTimeout: "500 millis", ...options })), Effect.provide(capture))
      return { error, lines }
    })

  it.live("an unknown host: BackendError naming it, password redacted", () =>
    Effect.gen(function*() {
      const { error, lines } = yield* callFailure({ url: Redacted.make(`redis://:${secret}@no-such-host.invalid:6379`) })
      assert.strictEqual(error._tag, "BackendError")
      assert.include(error.message, "unknown host")
      assert.include(lines.join("\n"), "unknown host")
      assert.notInclude(exposed(error) + lines.join("\n"), secret)
    }))

  it.live("a refused port: BackendError saying so, password redacted", () =>
    Effect.gen(function*() {
      const port = yield* Effect.promise(() => freePort())
      const { error, lines } = yield* callFailure({ url: `redis://:${secret}@127.0.0.1:${port}` })
      assert.strictEqual(error._tag, "BackendError")
      assert.include(error.message, "connection refused")
      assert.include(lines.join("\n"), "connection refused")
      assert.notInclude(exposed(error) + lines.join("\n"), secret)
    }))
})

describe("every option is validated when the Layer is built (InvalidOptionError, never a defect)", () => {
  const bad: ReadonlyArray<readonly [string, RedisClient.RedisClientOptions]> = [
    ["commandTimeout", { commandTimeout: -1 }],
    ["commandTimeout", { commandTimeout: "soon" as unknown as number }],
    ["commandTimeout", { commandTimeout: Number.NaN }],
    ["commandTimeout", { commandTimeout: "Infinity" }],
    ["connectTimeout", { connectTimeout: 0 }],
    ["maxReconnectDelay", { maxReconnectDelay: -5 }],
    ["db", { db: -1 }],
    ["db", { db: 1.5 }],
    ["nodes", { nodes: [] }],
    ["nodes[0].port", { nodes: [{ host: "127.0.0.1", port: 70000 }] }],
    ["nodes", { nodes: [{ host: "127.0.0.1", port: 7000 }], cluster: false }],
    ["connectionName", { connectionName: "two words" }],
    ["password", { password: "plain" as unknown as Redacted.Redacted<string> }],
    ["tls", { tls: "yes" as unknown as boolean }],
    ["autoPipelining", { autoPipelining: 1 as unknown as boolean }],
    ["url", { url: 42 as unknown as string }]
  ]
  for (const [option, options] of bad) {
    it.live(`RedisClient ${option}: ${JSON.stringify(options)}`, () =>
      Effect.gen(function*() {
        const error = yield* buildFailure({ url, ...options })
        assert.strictEqual(error._tag, "InvalidOptionError")
        assert.strictEqual((error as { option?: string }).option, option)
      }))
  }

  const badLock: ReadonlyArray<readonly [string, RedisLock.RedisLockOptions]> = [
    ["prefix", { prefix: "{lock}:" }],
    ["leaseTtl", { leaseTtl: -1 }],
    ["leaseTtl", { leaseTtl: "Infinity" }],
    ["ttl", { ttl: 0 }],
    ["ttl", { ttl: "1 second", leaseTtl: "2 seconds" }],
    ["renewEvery", { leaseTtl: "1 second", renewEvery: "1 second" }],
    ["pollMax", { pollMin: "100 millis", pollMax: "10 millis" }],
    ["onLost", { onLost: "panic" as unknown as RedisLock.LostLockPolicy }],
    ["name", { name: "" }],
    ["channel", { channel: "" }]
  ]
  for (const [option, options] of badLock) {
    it.live(`RedisLock ${option}: ${JSON.stringify(options)}`, () =>
      Effect.gen(function*() {
        const error = yield* lockFailure(options)
        assert.strictEqual(error._tag, "InvalidOptionError")
        assert.strictEqual((error as { option?: string }).option, option)
      }))
  }
})

describe("RedisClient.layerConfig", () => {
  const provided = (env: Record<string, string>) =>
    Layer.provide(ConfigProvider.layer(ConfigProvider.fromUnknown(env)))

  const configFailure = (layer: Layer.Layer<RedisClient.RedisClient, unknown>, env: Record<string, string>) =>
    Effect.gen(function*() {
      const exit = yield* Effect.exit(Effect.scoped(Layer.build(layer.pipe(provided(env)))))
      if (Exit.isSuccess(exit)) return assert.fail("the layer must fail")
      assert.isFalse(Cause.hasDies(exit.cause), Cause.pretty(exit.cause))
      return Option.getOrThrow(Exit.findErrorOption(exit)) as { readonly _tag: string; readonly message: string }
    })

  const custom = RedisClient.layerConfig({
    url: Config.Redacted("CACHE_REDIS_URL"),
    commandTimeout: Config.Duration("CACHE_TIMEOUT"),
    connectionName: Config.String("CACHE_NAME")
  })
  const sentinel = RedisClient.layerConfig({
    sentinel: { name: Config.String("CACHE_SENTINEL_NAME"), nodes: Config.succeed([{ host: "127.0.0.1", port: 26379 }]) }
  })

  it.live("no argument: today's names (bad REDIS_URL scheme, negative REDIS_COMMAND_TIMEOUT_MS): InvalidOptionError naming the variable, password redacted", () =>
    Effect.gen(function*() {
      const scheme = yield* configFailure(RedisClient.layerConfig(), { REDIS_URL: `http://:${secret}@127.0.0.1:6379` })
      assert.strictEqual(scheme._tag, "InvalidOptionError")
      assert.include(scheme.message, "(from config REDIS_URL)")
      assert.notInclude(exposed(scheme), secret)
      const timeout = yield* configFailure(RedisClient.layerConfig(), { REDIS_URL: url, REDIS_COMMAND_TIMEOUT_MS: "-5" })
      assert.strictEqual(timeout._tag, "InvalidOptionError")
      assert.strictEqual((timeout as { option?: string }).option, "commandTimeout")
      assert.include(timeout.message, "(from config REDIS_COMMAND_TIMEOUT_MS)")
      const cluster = yield* configFailure(RedisClient.layerConfig(), { REDIS_URL: url, REDIS_CLUSTER: "maybe" })
      assert.strictEqual(cluster._tag, "ConfigError")
      assert.include(cluster.message, "REDIS_CLUSTER")
    }))

  it.live("no argument: REDIS_URL and REDIS_COMMAND_TIMEOUT_MS are read", () =>
    Effect.gen(function*() {
      const redis = yield* RedisClient.RedisClient
      assert.strictEqual(redis.commandTimeoutMillis, 700)
      assert.strictEqual(redis.label, url.replace(/\/$/, ""))
      assert.strictEqual(yield* redis.use("ping", (c) => c.ping()), "PONG")
    }).pipe(Effect.provide(RedisClient.layerConfig().pipe(provided({ REDIS_URL: url, REDIS_COMMAND_TIMEOUT_MS: "700" })))))

  it.live("Config values of the caller's names: the client connects with them; missing ones take the defaults", () =>
    Effect.gen(function*() {
      const set = yield* Effect.gen(function*() {
        const redis = yield* RedisClient.RedisClient
        const name = yield* redis.use("client", (c) => c.call("CLIENT", "GETNAME"))
        return { timeout: redis.commandTimeoutMillis, name }
      }).pipe(Effect.provide(custom.pipe(provided({ CACHE_REDIS_URL: url, CACHE_TIMEOUT: "750 millis", CACHE_NAME: "h13-config" }))))
      assert.deepStrictEqual(set, { timeout: 750, name: "h13-config" })
      const defaults = yield* Effect.gen(function*() {
        const redis = yield* RedisClient.RedisClient
        const name = yield* redis.use("client", (c) => c.call("CLIENT", "GETNAME"))
        return { timeout: redis.commandTimeoutMillis, name }
      }).pipe(Effect.provide(custom.pipe(provided({ CACHE_REDIS_URL: url }))))
      assert.deepStrictEqual(defaults, { timeout: 1_000, name: null })
    }))

  it.live("a variable that does not parse: ConfigError naming it; a value the client rejects: InvalidOptionError naming it", () =>
    Effect.gen(function*() {
      const unparsable = yield* configFailure(custom, { CACHE_REDIS_URL: url, CACHE_TIMEOUT: "soon" })
      assert.strictEqual(unparsable._tag, "ConfigError")
      assert.include(unparsable.message, "CACHE_TIMEOUT")
      const rejected: ReadonlyArray<readonly [Record<string, string>, string, string]> = [
        [{ CACHE_REDIS_URL: url, CACHE_TIMEOUT: "-5 seconds" }, "commandTimeout", "CACHE_TIMEOUT"],
        [{ CACHE_REDIS_URL: url, CACHE_NAME: "two words" }, "connectionName", "CACHE_NAME"],
        [{ CACHE_REDIS_URL: `redis://:${secret}@127.0.0.1:6379/db1` }, "url", "CACHE_REDIS_URL"],
        [{ CACHE_SENTINEL_NAME: "two words" }, "sentinel.name", "CACHE_SENTINEL_NAME"]
      ]
      for (const [env, option, key] of rejected) {
        const error = yield* configFailure(option.startsWith("sentinel") ? sentinel : custom, env)
        assert.strictEqual(error._tag, "InvalidOptionError", key)
        assert.strictEqual((error as { option?: string }).option, option)
        assert.include(error.message, `(from config ${key})`)
        assert.notInclude(exposed(error), secret)
      }
      const timeout = yield* configFailure(custom, { CACHE_REDIS_URL: url, CACHE_TIMEOUT: "-5 seconds" })
      assert.strictEqual(
        timeout.message,
        "RedisClient: option commandTimeout must not be negative, got -5000 millis (from config CACHE_TIMEOUT)"
      )
    }))
})
