/**
 * Interoperability with Python services using dogpile.cache (and the
 * dogpile_backend_redis_advanced plugin): envelopes that read and write the
 * layouts Python stores, so both sides can share keys.
 *
 * | layout    | bytes (JSON payload)                           | MessagePack payload                          | written by |
 * |-----------|------------------------------------------------|----------------------------------------------|------------|
 * | `dogpile` | `{"ct": 1796149243.437805, "v": 2}\|payload`   | same metadata, then the packed payload       | dogpile.cache ≥ 1.1 (1.1.0–1.5.x) whenever the region has a `serializer` (any backend on bytes: `dogpile.cache.redis`, and plugin 0.5.x with a region serializer) |
 * | `full`    | `[payload, {"ct": 1471113698.76127, "v": 2}]`  | `92` payload `82` `v` `ct` (float64)         | plugin 0.4.x `loads`/`dumps` (json/msgpack) over dogpile < 1.0 (`v` 1), plugin 0.5.x `loads`/`dumps` over dogpile ≥ 1.1 (`v` 2) |
 * | `compact` | `[payload, 1471113753]`                        | `92` payload `ce` seconds (uint32)           | the plugin README's `AltCachedValue` (int seconds), any version |
 * | `raw`     | `payload`                                      | `payload`                                    | the plugin's raw `loads`/`dumps` (expiry left to Redis), any version |
 *
 * `ct` is the creation time in float seconds (Python's `time.time()`), `v`
 * dogpile's `value_version`: 2 since dogpile.cache 1.1.0 (the default here),
 * 1 before. The payload is encoded by the region's codec, which must write the
 * same format as Python: {@link codec} and {@link layer} give the matching
 * Python-exact codecs ({@link PythonJson}, {@link PythonMsgpack}).
 *
 * A value Python pickled (dogpile's default serializer) is a `DecodeError`,
 * that is a miss, in every layout.
 *
 * @since 0.1.0
 */
import { Codec, type CodecShape, Envelope, type InvalidOptionError, Options } from "@dogpile-effect/core"
import { Effect, Exit, Layer } from "effect"
import * as PythonJson from "./PythonJson.ts"
import { dogpileEnvelope, listEnvelope } from "./PythonLayouts.ts"
import * as PythonMsgpack from "./PythonMsgpack.ts"

/**
 * The serializer the Python side uses: `json` (`json.dumps`/`json.loads`) or
 * `msgpack` (`msgpack.packb`/`msgpack.unpackb`).
 *
 * @example
 * ```ts
 * import type { PythonInterop } from "@dogpile-effect/codecs"
 * const format: PythonInterop.Format = "msgpack"
 * ```
 *
 * @category models
 * @since 0.1.0
 */
export type Format = "json" | "msgpack"

/**
 * The layouts: `dogpile` is dogpile.cache ≥ 1.1's own (`{"ct", "v"}|payload`);
 * the plugin's are `full`, dogpile's `CachedValue` as a list
 * (`[payload, {"ct", "v"}]`), `compact` the README's `AltCachedValue`
 * (`[payload, int seconds]`), `raw` the payload alone (expiry left to Redis).
 *
 * @example
 * ```ts
 * import type { PythonInterop } from "@dogpile-effect/codecs"
 * const layout: PythonInterop.Layout = "dogpile"
 * ```
 *
 * @category models
 * @since 0.1.0
 */
export type Layout = "dogpile" | "full" | "compact" | "raw"

/**
 * Options of {@link make}, {@link envelope} and {@link layer}.
 *
 * @example
 * ```ts
 * import type { PythonInterop } from "@dogpile-effect/codecs"
 * const plugin04: PythonInterop.Options = { format: "json", layout: "full", version: 1 }
 * ```
 *
 * @category models
 * @since 0.1.0
 */
export interface Options {
  readonly format: Format
  readonly layout: Layout
  /**
   * dogpile's `value_version`, written as `v` and checked on read (`dogpile`
   * and `full` layouts). Default 2, what dogpile.cache has written since 1.1.0;
   * use 1 for services on dogpile.cache < 1.0 (plugin 0.4.x).
   */
  readonly version?: number | undefined
}

const LAYOUTS: ReadonlyArray<string> = ["dogpile", "full", "compact", "raw"]

/**
 * The envelope for one format and layout, validating the options: fails with
 * `InvalidOptionError` for an unknown format or layout, or a `version` that is
 * not a non-negative integer. Decoding fails with a `DecodeError` (a
 * miss) on another layout, a version other than `version`, or malformed
 * bytes; it never throws.
 *
 * @example
 * ```ts
 * import { PythonInterop } from "@dogpile-effect/codecs"
 * import { Effect } from "effect"
 *
 * const program = Effect.gen(function*() {
 *   const envelope = yield* PythonInterop.make({ format: "json", layout: "dogpile" })
 *   return yield* envelope.encode(10, 1796149243437, PythonInterop.codec("json")) // '{"ct": 1796149243.437, "v": 2}|10'
 * })
 * ```
 *
 * @category envelopes
 * @since 0.1.0
 */
export const make = (options: Options): Effect.Effect<Envelope.EnvelopeShape, InvalidOptionError> =>
  Effect.gen(function*() {
    const format: unknown = options.format
    const layout: unknown = options.layout
    yield* Options.reject("PythonInterop", "format", format !== "json" && format !== "msgpack", `must be "json" or "msgpack", got ${String(format)}`)
    yield* Options.reject("PythonInterop", "layout", !LAYOUTS.includes(String(layout)), `must be one of ${LAYOUTS.join(", ")}, got ${String(layout)}`)
    const version = yield* Options.integer("PythonInterop", "version", options.version, 2, { min: 0 })
    if (options.layout === "raw") return Envelope.raw
    const name = `python-${options.format}-${options.layout}`
    return options.layout === "dogpile"
      ? dogpileEnvelope(name, version)
      : listEnvelope(name, { format: options.format, layout: options.layout }, version)
  })

/**
 * {@link make}, synchronously: throws its `InvalidOptionError` for invalid
 * options.
 *
 * @example
 * ```ts
 * import { PythonInterop } from "@dogpile-effect/codecs"
 * import { Effect } from "effect"
 *
 * const envelope = PythonInterop.envelope({ format: "json", layout: "dogpile" })
 * Effect.runSync(envelope.encode(10, 1796149243437, PythonInterop.codec("json"))) // '{"ct": 1796149243.437, "v": 2}|10'
 * ```
 *
 * @category envelopes
 * @since 0.1.0
 */
export const envelope = (options: Options): Envelope.EnvelopeShape => {
  const exit = Effect.runSyncExit(make(options))
  if (Exit.isSuccess(exit)) return exit.value
  const error = Exit.findErrorOption(exit)
  if (error._tag === "Some") throw error.value
  throw new Error(`PythonInterop.envelope: ${String(exit.cause)}`)
}

/**
 * The payload codec for a format, writing exactly what Python's serializer
 * writes and reading what it reads: {@link PythonJson.codec}
 * (`json.dumps`/`json.loads`, integers beyond 2^53 as BigInt) or
 * {@link PythonMsgpack.codec} (`msgpack.packb`/`msgpack.unpackb`).
 *
 * @example
 * ```ts
 * import { PythonInterop } from "@dogpile-effect/codecs"
 * const codec = PythonInterop.codec("msgpack")
 * ```
 *
 * @category codecs
 * @since 0.1.0
 */
export const codec = (format: Format): CodecShape => (format === "json" ? PythonJson.codec : PythonMsgpack.codec)

/**
 * A matching codec and envelope as one Layer: provides `Codec` and sets
 * `Envelope.CurrentEnvelope`, so regions built under it read and write what
 * the Python side reads and writes. Fails with `InvalidOptionError` for a
 * `version` that is not a non-negative integer.
 *
 * @example
 * ```ts
 * import { PythonInterop } from "@dogpile-effect/codecs"
 * // dogpile.cache 1.x with make_region(serializer=..., deserializer=...) over msgpack
 * const sharedWithPython = PythonInterop.layer({ format: "msgpack", layout: "dogpile" })
 * ```
 *
 * @category layers
 * @since 0.1.0
 */
export const layer = (options: Options): Layer.Layer<Codec, InvalidOptionError> =>
  Layer.unwrap(
    Effect.map(make(options), (shape) =>
      Layer.merge(Codec.layer(codec(options.format)), Layer.succeed(Envelope.CurrentEnvelope, shape)))
  )
