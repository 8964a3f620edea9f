/**
 * `@dogpile-effect/codecs/cbor`: the CBOR and integer-aware codecs with cbor-x
 * imported statically, for applications that are bundled (esbuild, Rollup,
 * webpack). The root `@dogpile-effect/codecs` loads its optional peers with a
 * `require` a bundler cannot see, so a bundle built from it alone fails at the
 * first write with "cbor-x is not installed". Importing this entry point once
 * makes the bundler include cbor-x and hands it to every codec of the package
 * that uses it (`Cbor`, `IntegerAware`), whichever entry point they are
 * imported from. It requires cbor-x to be installed.
 *
 * @example
 * ```ts
 * import { Cbor } from "@dogpile-effect/codecs/cbor"
 * import { Effect } from "effect"
 *
 * const bytes = Effect.runSync(Cbor.codec.encode(new Map([[1n, "one"]])))
 * ```
 *
 * @since 0.1.0
 */
import { Decoder, Encoder, isNativeAccelerationEnabled } from "cbor-x"
import { provideCborX } from "../OptionalPeers.ts"

provideCborX({ Decoder, Encoder, isNativeAccelerationEnabled })

export * as Cbor from "../Cbor.ts"
export * as IntegerAware from "../IntegerAware.ts"
