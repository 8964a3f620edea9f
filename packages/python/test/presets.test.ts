import { assert, describe, it } from "@effect/vitest"
import { CacheKey } from "@dogpile-effect/core"
import { HashExpiry } from "@dogpile-effect/hstore"
import { LockNaming, PickleGuard, Presets } from "@dogpile-effect/python"
import { RedisClient } from "@dogpile-effect/redis"
import { Effect, Layer } from "effect"
import { inject } from "vitest"

const url = inject("redisUrl")
const build = (preset: Presets.Preset) =>
  Effect.scoped(Layer.build(preset.layer.pipe(Layer.provide(RedisClient.layer({ url })))))

describe("LockNaming", () => {
  it("names locks as dogpile.cache.redis and the plugin do", () => {
    assert.strictEqual(LockNaming.dogpileRedis("user:42"), "_lockuser:42")
    assert.strictEqual(LockNaming.redisAdvanced()("user:42"), "_lok.user:42")
    assert.strictEqual(LockNaming.redisAdvanced()(CacheKey.hash("user-15", "posts")), "_lok.user-15,posts")
    assert.strictEqual(LockNaming.redisAdvanced("L:")(CacheKey.hash("h", "f")), "L:h,f")
    assert.strictEqual(LockNaming.dogpileRedisPrefixed("_dpl.")("user:42"), "_dpl.user:42")
  })
})

describe("Presets", () => {
  it("give keys verbatim and Python's redis_expiration_time as the store TTL", () => {
    for (const preset of [Presets.dogpileRedis({ format: "json" }), Presets.redisAdvanced({ format: "msgpack" })]) {
      assert.deepStrictEqual(preset.region, { namespace: false, storeTtl: "never" })
    }
    const hstore = Presets.redisAdvancedHstore({ format: "json", redisExpirationTime: "1 hour" })
    assert.deepStrictEqual(hstore.region, { namespace: false, storeTtl: "1 hour" })
  })

  it.live("build with valid options", () =>
    Effect.gen(function*() {
      yield* build(Presets.dogpileRedis({ format: "msgpack", version: 1 }))
      yield* build(Presets.redisAdvanced({ format: "json", lockPrefix: "_lok." }))
      yield* build(Presets.redisAdvancedHstore({ format: "json", hashExpiry: HashExpiry.onEveryWrite("1 hour") }))
      yield* build(Presets.redisAdvancedHstore({ format: "json", hashExpiry: HashExpiry.onCreate("1 hour") }))
      yield* build(Presets.redisAdvancedHstore({ format: "json", redisExpirationTime: "1 hour" }))
      yield* build(Presets.redisAdvancedHstore({ format: "json", redisExpirationTime: 3_600_000, redisExpirationTimeHash: true }))
      yield* build(Presets.redisAdvancedHstore({ format: "json", redisExpirationTimeHash: false }))
      yield* build(Presets.dogpileRedis({ format: "json", lockPrefix: "_dpl.", redisExpirationTime: "2 hours" }))
    }))

  it.live("refuse invalid options with InvalidOptionError", () =>
    Effect.gen(function*() {
      const invalid: ReadonlyArray<readonly [string, Presets.Preset]> = [
        ["format", Presets.dogpileRedis({ format: "pickle" as "json" })],
        ["version", Presets.dogpileRedis({ format: "json", version: -1 })],
        ["version", Presets.redisAdvanced({ format: "json", version: 1.5 })],
        ["lockPrefix", Presets.redisAdvanced({ format: "json", lockPrefix: "" })],
        ["lockPrefix", Presets.dogpileRedis({ format: "json", lockPrefix: "x" })],
        ["lockPrefix", Presets.dogpileRedis({ format: "json", lockPrefix: "lock prefix" })],
        ["redisExpirationTime", Presets.dogpileRedis({ format: "json", redisExpirationTime: "1500 millis" })],
        ["redisExpirationTime", Presets.redisAdvancedHstore({ format: "json" })],
        ["redisExpirationTime", Presets.redisAdvancedHstore({ format: "json", redisExpirationTimeHash: true })],
        ["hashExpiry", Presets.redisAdvancedHstore({ format: "json", hashExpiry: HashExpiry.entryTtl })],
        [
          "hashExpiry",
          Presets.redisAdvancedHstore({ format: "json", hashExpiry: HashExpiry.never, redisExpirationTimeHash: false })
        ]
      ]
      for (const [option, preset] of invalid) {
        const error = yield* Effect.flip(build(preset))
        assert.strictEqual(error._tag, "InvalidOptionError", option)
        assert.strictEqual((error as { option?: string }).option, option)
      }
    }))
})

describe("PickleGuard", () => {
  const bytes = (text: string) => new TextEncoder().encode(text)
  it("knows a pickle, bare or in dogpile's layout, from JSON and MessagePack payloads", () => {
    const pickledNone = Uint8Array.of(0x80, 0x04, 0x4e, 0x2e)
    assert.isTrue(PickleGuard.isPickled(pickledNone))
    assert.isTrue(PickleGuard.isPickled(new Uint8Array([...bytes('{"ct": 1.5, "v": 2}|'), ...pickledNone])))
    assert.isFalse(PickleGuard.isPickled(bytes('{"ct": 1.5, "v": 2}|{"a": 1}')))
    // msgpack's empty map is 0x80, one byte
    assert.isFalse(PickleGuard.isPickled(new Uint8Array([...bytes('{"ct": 1.5, "v": 2}|'), 0x80])))
    assert.isFalse(PickleGuard.isPickled(Uint8Array.of(0x80, 0x01, 0x2e)))
    assert.isFalse(PickleGuard.isPickled(new Uint8Array(0)))
  })
})
