import { assert, describe, it } from "@effect/vitest"
import { CacheKey } from "@dogpile-effect/core"
import { HashExpiry } from "@dogpile-effect/hstore"
import { LockNaming, Presets } from "@dogpile-effect/python"
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
  })
})

describe("Presets", () => {
  it("give keys verbatim and no store TTL, like Python's backends", () => {
    for (const preset of [Presets.dogpileRedis({ format: "json" }), Presets.redisAdvancedHstore({ format: "msgpack" })]) {
      assert.deepStrictEqual(preset.region, { namespace: false, storeTtl: "never" })
    }
  })

  it.live("build with valid options", () =>
    Effect.gen(function*() {
      yield* build(Presets.dogpileRedis({ format: "msgpack", version: 1 }))
      yield* build(Presets.redisAdvanced({ format: "json", lockPrefix: "_lok." }))
      yield* build(Presets.redisAdvancedHstore({ format: "json", hashExpiry: HashExpiry.onEveryWrite("1 hour") }))
    }))

  it.live("refuse invalid options with InvalidOptionError", () =>
    Effect.gen(function*() {
      const invalid: ReadonlyArray<readonly [string, Presets.Preset]> = [
        ["format", Presets.dogpileRedis({ format: "pickle" as "json" })],
        ["version", Presets.dogpileRedis({ format: "json", version: -1 })],
        ["version", Presets.redisAdvanced({ format: "json", version: 1.5 })],
        ["lockPrefix", Presets.redisAdvanced({ format: "json", lockPrefix: "" })],
        ["hashExpiry", Presets.redisAdvancedHstore({ format: "json", hashExpiry: HashExpiry.onCreate("1 hour") })]
      ]
      for (const [option, preset] of invalid) {
        const error = yield* Effect.flip(build(preset))
        assert.strictEqual(error._tag, "InvalidOptionError", option)
        assert.strictEqual((error as { option?: string }).option, option)
      }
    }))
})
