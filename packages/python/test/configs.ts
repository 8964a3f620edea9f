/**
 * The Python region configurations of docs/python-interop.md (the blocks
 * after `<!-- config: name -->`, which fixtures/driver.py runs verbatim) and
 * the TypeScript preset each one pairs with, plus the helpers the interop
 * tests share.
 */
import { PythonInterop } from "@dogpile-effect/codecs"
import { CacheKey, Invalidation, Lock, Region } from "@dogpile-effect/core"
import { Presets } from "@dogpile-effect/python"
import { RedisClient } from "@dogpile-effect/redis"
import { Deferred, Effect, Layer } from "effect"
import { readFileSync } from "node:fs"
import { fileURLToPath } from "node:url"
import { inject } from "vitest"
import type { Side } from "./python.ts"

export const url = inject("redisUrl")
export type Format = PythonInterop.Format
export const formats: ReadonlyArray<Format> = ["json", "msgpack"]

/** The region configurations the tests run, by their name in the doc. */
export type Config =
  | "dogpile"
  | "dogpile-lock-prefix"
  | "advanced"
  | "hstore"
  | "hstore-every-write"
  | "hstore-no-ttl"
  | "shared-invalidation"
  | "hstore-shared-invalidation"

/** The Python side's `redis_expiration_time` in the hstore blocks. */
export const PYTHON_REDIS_TTL_SECONDS = 3600

/** The TypeScript preset that shares keys, locks and expiry with the Python config. */
export const presetFor = (config: Config, format: Format): Presets.Preset => {
  const redisExpirationTime = `${PYTHON_REDIS_TTL_SECONDS} seconds` as const
  switch (config) {
    case "dogpile":
    case "shared-invalidation":
      return Presets.dogpileRedis({ format })
    case "dogpile-lock-prefix":
      return Presets.dogpileRedis({ format, lockPrefix: "_dpl." })
    case "advanced":
      return Presets.redisAdvanced({ format })
    case "hstore":
    case "hstore-shared-invalidation":
      return Presets.redisAdvancedHstore({ format, redisExpirationTime })
    case "hstore-every-write":
      return Presets.redisAdvancedHstore({ format, redisExpirationTime, redisExpirationTimeHash: true })
    case "hstore-no-ttl":
      return Presets.redisAdvancedHstore({ format, redisExpirationTimeHash: false })
  }
}

/** The TypeScript calls of each config, as the doc shows them (checked against the doc by docs.test.ts). */
export const presetSource: Record<Config, string> = {
  "dogpile": `Presets.dogpileRedis({ format })`,
  "dogpile-lock-prefix": `Presets.dogpileRedis({ format, lockPrefix: "_dpl." })`,
  "advanced": `Presets.redisAdvanced({ format })`,
  "hstore": `Presets.redisAdvancedHstore({ format, redisExpirationTime: "3600 seconds" })`,
  "hstore-every-write":
    `Presets.redisAdvancedHstore({ format, redisExpirationTime: "3600 seconds", redisExpirationTimeHash: true })`,
  "hstore-no-ttl": `Presets.redisAdvancedHstore({ format, redisExpirationTimeHash: false })`,
  "shared-invalidation": `Presets.dogpileRedis({ format })`,
  "hstore-shared-invalidation": `Presets.redisAdvancedHstore({ format, redisExpirationTime: "3600 seconds" })`
}

export const hashed = (config: Config) => config.startsWith("hstore")

/** The value configs a side runs: dogpile.cache 1.5's `lock_prefix` exists on 1.5.0 only. */
export const valueConfigs = (side: Side): ReadonlyArray<Config> => [
  "dogpile",
  ...(side.id === "1.5.0" ? ["dogpile-lock-prefix" as const] : []),
  "advanced",
  "hstore",
  "hstore-every-write",
  "hstore-no-ttl"
]

/** Whether the plugin's locks work on the side (0.5.0 reads `lock_blocking`, which dogpile.cache 1.1.8 lacks). */
export const pluginLocks = (side: Side) => side.id !== "1.1.8"

/** The preset over its own client, with shared invalidation read on every check. */
export const stack = (config: Config, format: Format) =>
  Layer.mergeAll(
    Layer.provideMerge(presetFor(config, format).layer, RedisClient.layer({ url })),
    Layer.succeed(Invalidation.CurrentInvalidation, Invalidation.shared({ refresh: 0 }))
  )

export const request = (config: Config, format: Format) => ({ config, format, url })

/** A region under the config's preset whose Lock reports (through `waiting`) when it waits for another holder. */
export const regionWith = (config: Config, name: string, waiting?: Deferred.Deferred<void>) =>
  Effect.gen(function*() {
    const lock = yield* Lock
    const watched = Lock.of({
      ...lock,
      awaitRelease: (key, timeout) =>
        Effect.andThen(waiting === undefined ? Effect.void : Deferred.succeed(waiting, undefined), lock.awaitRelease(key, timeout))
    })
    // The Python blocks use expiration_time=600.
    const options = { ...presetFor(config, "json").region, name, expiration: "10 minutes" as const }
    return yield* Region.make<unknown>(options).pipe(Effect.provideService(Lock, watched))
  })

export const pyKey = (key: CacheKey.CacheKey) => (typeof key === "string" ? key : [key.hash, key.field])

let n = 0
export const unique = `py:${process.pid}:${Date.now().toString(36)}`
export const fresh = (name: string) => `${unique}:${name}:${n++}:`
export const keyIn = (config: Config, name: string): CacheKey.CacheKey =>
  hashed(config) ? CacheKey.hash(fresh(name), "f") : `${fresh(name)}k`

/** Sets a plain Redis key (the go signal of a waiting Python creator). */
export const signal = (key: string) =>
  Effect.gen(function*() {
    const redis = yield* RedisClient.RedisClient
    yield* redis.use("test", (c) => c.set(key, "1"))
  })

/** docs/python-interop.md's config blocks, by name. */
export const docBlocks = (): Map<string, string> => {
  const doc = readFileSync(fileURLToPath(new URL("../../../docs/python-interop.md", import.meta.url)), "utf8")
  const blocks = new Map<string, string>()
  for (const match of doc.matchAll(/<!-- config: ([\w.-]+) -->\n```python\n([\s\S]*?)\n```/g)) {
    blocks.set(match[1] as string, match[2] as string)
  }
  return blocks
}

/** The doc itself. */
export const docText = () => readFileSync(fileURLToPath(new URL("../../../docs/python-interop.md", import.meta.url)), "utf8")
