/**
 * A region shared with Python as a storage the region names in its own
 * options (`storage`): one of {@link Presets}' presets (backend, Python's lock
 * names, codec and envelope, keys verbatim), over the `RedisClient` in
 * context. The preset brings its own lock, so the region needs no `Lock` in
 * context; that lock hears releases through the client's shared release
 * subscriber, so Python-preset regions add no connection. The layout is recorded for the CLI
 * (`__dogpile__:layout:<name>`, `storage: python:<preset>`).
 *
 * @since 0.1.0
 */
import { type InvalidOptionError, Storage } from "@dogpile-effect/core"
import { RedisStorage, type RedisClient } from "@dogpile-effect/redis"
import * as Presets from "./Presets.ts"

/**
 * The preset names, as the CLI's `--python` flag spells them.
 *
 * @example
 * ```ts
 * import type { PythonStorage } from "@dogpile-effect/python"
 * const name: PythonStorage.PresetName = "redis-advanced"
 * ```
 *
 * @category models
 * @since 0.1.0
 */
export type PresetName = "dogpile-redis" | "redis-advanced" | "redis-advanced-hstore"

/**
 * A Python preset as a region's storage. Region options given beside it
 * (`namespace`, `storeTtl`, `codec`, `envelope`) win over the preset's.
 *
 * @example
 * ```ts
 * import { Region } from "@dogpile-effect/core"
 * import { Presets, PythonStorage } from "@dogpile-effect/python"
 * import { Schema } from "effect"
 * class Shared extends Region.Service<Shared>()("app/Shared", {
 *   name: "shared", schema: Schema.String,
 *   storage: PythonStorage.storage("redis-advanced", Presets.redisAdvanced({ format: "json" }))
 * }) {}
 * ```
 *
 * @category constructors
 * @since 0.1.0
 */
export const storage = (
  name: PresetName,
  preset: Presets.Preset
): Storage.Storage<InvalidOptionError, RedisClient.RedisClient> =>
  Storage.fromLayerWithLock(`python:${name}`, preset.layer, {
    layout: { python: name },
    defaults: preset.region,
    record: RedisStorage.recordLayout
  })
