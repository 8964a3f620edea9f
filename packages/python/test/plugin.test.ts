/**
 * The rest of the Python interop, once per Python side (python.ts): the hstore
 * modes of the plugin 0.5.0 with and without `redis_expiration_time` (bucket
 * and key TTLs agree with the preset's), expiry agreement, what the plugin
 * does with `loads`/`dumps` and its raw proxy, pickling regions, and the
 * hard invalidation that stock Python sees (Purge).
 */
import { assert, describe, it } from "@effect/vitest"
import { PythonInterop } from "@dogpile-effect/codecs"
import { CacheKey } from "@dogpile-effect/core"
import { Presets, Purge } from "@dogpile-effect/python"
import { RedisClient } from "@dogpile-effect/redis"
import { Effect, Layer, Option } from "effect"
import {
  type Config,
  type Format,
  fresh,
  pluginLocks,
  PYTHON_REDIS_TTL_SECONDS,
  pyKey,
  regionWith,
  request,
  stack,
  url
} from "./configs.ts"
import { dogpileVersion, run, sideProblems, sides } from "./python.ts"

const promise = <A>(f: () => Promise<A>) => Effect.promise(f)
const describePython = dogpileVersion !== undefined && sideProblems.length === 0 ? describe : describe.skip

const redisCall = <A>(f: (c: RedisClient.RedisConnection) => Promise<A>) =>
  Effect.gen(function*() {
    const redis = yield* RedisClient.RedisClient
    return yield* redis.use("test", f)
  })

/** A bucket's TTL in seconds (-1 none, -2 missing). */
const ttlOf = (key: string) => redisCall((c) => c.ttl(key))

/** Whether a TTL is the plugin's 3600 s, give or take the seconds a loaded machine takes. */
const isFullTtl = (ttl: number) => ttl > PYTHON_REDIS_TTL_SECONDS - 120 && ttl <= PYTHON_REDIS_TTL_SECONDS

const client = RedisClient.layer({ url })

for (const side of sides) {
  const hstoreModes: ReadonlyArray<readonly [Config, "onCreate" | "onEveryWrite" | "never"]> = [
    ["hstore", "onCreate"],
    ["hstore-every-write", "onEveryWrite"],
    ["hstore-no-ttl", "never"]
  ]

  describePython(`${side.label}: the plugin's hstore modes`, () => {
    it.live("hstore-plugin-defaults (no redis_expiration_time): Python loses every value it writes to a new hash", () =>
      Effect.gen(function*() {
        const prefix = fresh("defaults")
        const defaults = { config: "hstore-plugin-defaults", format: "json", url }
        for (const field of ["a", "b", "c"]) yield* promise(() => run({ cmd: "set", ...defaults, key: [prefix, field], value: 1 }, side))
        assert.strictEqual(yield* redisCall((c) => c.exists(prefix)), 0)
        if (!pluginLocks(side)) return // the plugin's hstore misses raise on 1.1.8 (below)
        const read = yield* promise(() => run({ cmd: "get", ...defaults, key: [prefix, "a"] }, side))
        assert.deepStrictEqual(read, { found: false, value: null })
      }).pipe(Effect.provide(client)))

    if (!pluginLocks(side)) {
      it.live("on dogpile.cache 1.1.8 a miss of the plugin's hash backend raises (AttributeError: NO_VALUE)", () =>
        Effect.gen(function*() {
          const key = [fresh("hmiss"), "f"]
          const failure = yield* Effect.flip(Effect.tryPromise(() => run({ cmd: "get", ...request("hstore", "json"), key }, side)))
          assert.include(String(failure.cause), "NO_VALUE")
        }))
    }

    it.live("the preset refuses the plugin's defaults (they delete every hash), naming the two working configs", () =>
      Effect.gen(function*() {
        const error = yield* Effect.flip(
          Effect.scoped(Layer.build(Presets.redisAdvancedHstore({ format: "json" }).layer.pipe(Layer.provide(client))))
        )
        assert.strictEqual(error._tag, "InvalidOptionError")
        assert.strictEqual((error as { option?: string }).option, "redisExpirationTime")
      }))

    for (const [config, mode] of hstoreModes) {
      it.live(`${config}: buckets either side creates get the same TTL (${mode}), before and after a later write`, () =>
        Effect.gen(function*() {
          const region = yield* regionWith(config, "interop-ttl")
          const pyHash = fresh("py-bucket")
          const tsHash = fresh("ts-bucket")
          yield* promise(() => run({ cmd: "set", ...request(config, "json"), key: [pyHash, "a"], value: 1 }, side))
          yield* region.set(CacheKey.hash(tsHash, "a"), 1)
          const created = [yield* ttlOf(pyHash), yield* ttlOf(tsHash)]
          if (mode === "never") assert.deepStrictEqual(created, [-1, -1])
          else assert.isTrue(created.every(isFullTtl), `created: ${created}`)
          // A later write to an existing bucket: onEveryWrite resets the TTL, the others leave it.
          if (mode !== "never") {
            yield* redisCall((c) => c.expire(pyHash, 100))
            yield* redisCall((c) => c.expire(tsHash, 100))
          }
          yield* promise(() => run({ cmd: "set", ...request(config, "json"), key: [pyHash, "b"], value: 2 }, side))
          yield* region.set(CacheKey.hash(tsHash, "b"), 2)
          const after = [yield* ttlOf(pyHash), yield* ttlOf(tsHash)]
          if (mode === "never") assert.deepStrictEqual(after, [-1, -1])
          else if (mode === "onEveryWrite") assert.isTrue(after.every(isFullTtl), `after: ${after}`)
          else assert.isTrue(after.every((ttl) => ttl > 0 && ttl <= 100), `after: ${after}`)
        }).pipe(Effect.scoped, Effect.provide(stack(config, "json"))))
    }

    it.live("hstore: plain keys get redis_expiration_time on both sides (SETEX, storeTtl)", () =>
      Effect.gen(function*() {
        const region = yield* regionWith("hstore", "interop-ttl")
        const pyKeyName = `${fresh("py-plain")}k`
        const tsKeyName = `${fresh("ts-plain")}k`
        yield* promise(() => run({ cmd: "set", ...request("hstore", "json"), key: pyKeyName, value: 1 }, side))
        yield* region.set(tsKeyName, 1)
        const ttls = [yield* ttlOf(pyKeyName), yield* ttlOf(tsKeyName)]
        assert.isTrue(ttls.every(isFullTtl), `ttls: ${ttls}`)
      }).pipe(Effect.scoped, Effect.provide(stack("hstore", "json"))))
  })

  describePython(`${side.label}: expiry agreement (expiration_time 600 = expiration "10 minutes")`, () => {
    for (const config of ["dogpile", "hstore"] as const) {
      for (const [age, fresh_] of [[500, true], [700, false]] as const) {
        it.live(`${config}: a value ${age} s old is ${fresh_ ? "fresh" : "expired"} on both sides, whoever wrote it`, () =>
          Effect.gen(function*() {
            const region = yield* regionWith(config, "interop-expiry")
            const keyOf = (name: string): CacheKey.CacheKey =>
              config === "hstore" ? CacheKey.hash(fresh(name), "f") : `${fresh(name)}k`
            // Python's value, created `age` seconds ago.
            const fromPython = keyOf("py-aged")
            yield* promise(() => run({ cmd: "set-old", ...request(config, "json"), key: pyKey(fromPython), value: "p", age }, side))
            // TypeScript's value, the same age: the preset's envelope with an older ct, stored through the region's key.
            const fromTs = keyOf("ts-aged")
            const bytes = yield* PythonInterop.envelope({ format: "json", layout: "dogpile" })
              .encode("t", Date.now() - age * 1000, PythonInterop.codec("json"))
            yield* (typeof fromTs === "string"
              ? redisCall((c) => c.set(fromTs, Buffer.from(bytes)))
              : redisCall((c) => c.hset(fromTs.hash, fromTs.field, Buffer.from(bytes))))
            for (const [key, value] of [[fromPython, "p"], [fromTs, "t"]] as const) {
              const ts = yield* region.get(key)
              const py = yield* promise(() => run({ cmd: "get", ...request(config, "json"), key: pyKey(key) }, side))
              assert.deepStrictEqual(ts, fresh_ ? Option.some(value) : Option.none())
              assert.deepStrictEqual(py, fresh_ ? { found: true, value } : { found: false, value: null })
            }
          }).pipe(Effect.scoped, Effect.provide(stack(config, "json"))))
      }
    }
  })

  describePython(`${side.label}: the plugin's loads/dumps and raw proxy, pickling regions`, () => {
    it.live("the plugin 0.5.0 ignores loads/dumps: it pickles inside dogpile's layout, and the presets refuse it", () =>
      Effect.gen(function*() {
        const key = `${fresh("loads-dumps")}k`
        const reply = yield* promise(() => run({ cmd: "plugin-loads-dumps", format: "json", url, key, value: { a: 1 } }, side))
        const stored = Buffer.from(reply["stored"] as string, "hex")
        const pipe = stored.indexOf(0x7c)
        assert.strictEqual(stored.subarray(pipe + 1, pipe + 2)[0], 0x80) // pickle's PROTO, not json's "{"
        assert.deepStrictEqual(reply["read"], { a: 1 })
        const region = yield* regionWith("advanced", "interop-pickle")
        const error = yield* Effect.flip(region.get(key))
        assert.include(error.message, "pickles")
      }).pipe(Effect.scoped, Effect.provide(stack("advanced", "json"))))

    it.live("the plugin 0.5.0's raw proxy cannot write on this dogpile.cache (NotImplementedError)", () =>
      Effect.gen(function*() {
        const reply = yield* promise(() => run({ cmd: "plugin-raw-proxy", url, key: `${fresh("raw")}k`, value: 42 }, side))
        assert.strictEqual(reply["raised"], "NotImplementedError")
      }))

    for (const format of ["json", "msgpack"] as const satisfies ReadonlyArray<Format>) {
      it.live(`${format}: a pickling Python region (stock-pickle) makes getOrCreate fail, and its value stays readable`, () =>
        Effect.gen(function*() {
          const key = `${fresh("pickled")}k`
          yield* promise(() => run({ cmd: "set", config: "stock-pickle", format, url, key, value: "x" }, side))
          const region = yield* regionWith("dogpile", "interop-pickle")
          let created = 0
          const error = yield* Effect.flip(region.getOrCreate(key, Effect.sync(() => (created++, "from ts"))))
          assert.strictEqual(error._tag, "BackendError")
          assert.strictEqual(created, 0)
          const read = yield* promise(() => run({ cmd: "get", config: "stock-pickle", format, url, key }, side))
          assert.deepStrictEqual(read, { found: true, value: "x" })
        }).pipe(Effect.scoped, Effect.provide(stack("dogpile", format))))
    }
  })

  describePython(`${side.label}: Purge.hardInvalidate, seen by stock Python regions`, () => {
    for (const config of ["dogpile", "hstore"] as const) {
      it.live(`${config}: 2,000 keys removed in batches; stock Python misses, keys outside the pattern stay`, () =>
        Effect.gen(function*() {
          const prefix = fresh("purge")
          const outside = `${fresh("outside")}k`
          const keys: Array<CacheKey.CacheKey> = []
          for (let i = 0; i < 2000; i++) keys.push(config === "hstore" ? CacheKey.hash(`${prefix}h${i % 40}`, `f${i}`) : `${prefix}${i}`)
          const region = yield* regionWith(config, `purge-${prefix}`)
          yield* Effect.forEach(keys, (key) => region.set(key, "v"), { concurrency: 16, discard: true })
          yield* promise(() => run({ cmd: "set", ...request(config, "json"), key: pyKey(keys[0]!), value: "py" }, side))
          yield* promise(() => run({ cmd: "set", ...request(config, "json"), key: outside, value: "keep" }, side))
          const result = yield* Purge.hardInvalidate(region, { match: [`${prefix}*`], batch: 100 })
          const expected = config === "hstore" ? 40 : 2000
          assert.deepStrictEqual([result.removed, result.complete], [expected, true])
          assert.isAtLeast(result.steps, 1)
          if (config === "dogpile" || pluginLocks(side)) { // the plugin's hstore misses raise on 1.1.8
            const read = yield* promise(() => run({ cmd: "get", ...request(config, "json"), key: pyKey(keys[0]!) }, side))
            assert.deepStrictEqual(read, { found: false, value: null })
          }
          const kept = yield* promise(() => run({ cmd: "get", ...request(config, "json"), key: outside }, side))
          assert.deepStrictEqual(kept, { found: true, value: "keep" })
          assert.strictEqual(yield* redisCall((c) => c.keys(`${prefix}*`).then((found) => found.length)), 0)
        }).pipe(Effect.scoped, Effect.provide(stack(config, "json"))))
    }

    it.live("maxKeys bounds the removal and reports it incomplete", () =>
      Effect.gen(function*() {
        const prefix = fresh("purge-bounded")
        const region = yield* regionWith("dogpile", `purge-${prefix}`)
        yield* Effect.forEach(Array.from({ length: 300 }, (_, i) => `${prefix}${i}`), (key) => region.set(key, "v"), {
          concurrency: 16,
          discard: true
        })
        const result = yield* Purge.hardInvalidate(region, { match: [`${prefix}*`], batch: 50, maxKeys: 120 })
        assert.deepStrictEqual([result.removed, result.complete], [120, false])
        assert.strictEqual(yield* redisCall((c) => c.keys(`${prefix}*`).then((found) => found.length)), 180)
      }).pipe(Effect.scoped, Effect.provide(stack("dogpile", "json"))))
  })
}

describe("Purge options", () => {
  it.live("refuse a match-everything pattern, no patterns, and out-of-range batch/maxKeys", () =>
    Effect.gen(function*() {
      const region = yield* regionWith("dogpile", "purge-options")
      const cases: ReadonlyArray<readonly [string, Purge.PurgeOptions]> = [
        ["match", { match: ["*"] }],
        ["match", { match: [] }],
        ["match", { match: [""] }],
        ["batch", { match: ["x:*"], batch: 0 }],
        ["maxKeys", { match: ["x:*"], maxKeys: 0 }]
      ]
      for (const [option, options] of cases) {
        const error = yield* Effect.flip(Purge.hardInvalidate(region, options))
        assert.strictEqual(error._tag, "InvalidOptionError", option)
        assert.strictEqual((error as { option?: string }).option, option)
      }
    }).pipe(Effect.scoped, Effect.provide(stack("dogpile", "json"))))
})

