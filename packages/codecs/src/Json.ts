/**
 * JSON: core's default codec, re-exported so every codec lives in one place.
 *
 * @since 0.1.0
 */
import { Codec, type CodecShape } from "@dogpile-effect/core"
import type { Layer } from "effect"
import type * as Limits from "./Limits.ts"

/**
 * UTF-8 JSON (the same value as `Codec.json` in core). Round-trips strings,
 * finite numbers except -0, booleans, null, dense arrays and plain objects;
 * rejects undefined, NaN/±Infinity, -0, BigInt, Date, Map, Set, Uint8Array,
 * class instances, functions, symbols and circular structures. Its limits are
 * fixed at the {@link Limits.defaults} for `maxBytes`, `maxDepth` and
 * `maxItems` (16 MiB, 512 levels, 1,000,000 values), in both directions.
 *
 * @example
 * ```ts
 * import { Json } from "@dogpile-effect/codecs"
 * import { Effect } from "effect"
 * Effect.runSync(Json.codec.encode({ one: 399 })) // bytes of '{"one":399}'
 * ```
 *
 * @since 0.1.0
 */
export const codec: CodecShape = Codec.json

/**
 * The JSON codec as a `Codec` Layer (core's `Codec.layerJson`).
 *
 * @example
 * ```ts
 * import { Json } from "@dogpile-effect/codecs"
 * const layer = Json.layer
 * ```
 *
 * @since 0.1.0
 */
export const layer: Layer.Layer<Codec> = Codec.layerJson
