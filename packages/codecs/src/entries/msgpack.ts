/**
 * `@dogpile-effect/codecs/msgpack`: the MessagePack codec with msgpackr
 * imported statically, for applications that are bundled (esbuild, Rollup,
 * webpack). The root `@dogpile-effect/codecs` loads its optional peers with a
 * `require` a bundler cannot see, so a bundle built from it alone fails at the
 * first write with "msgpackr is not installed". Importing this entry point once
 * makes the bundler include msgpackr and hands it to every codec of the package
 * that uses it (`Msgpack`, `PythonMsgpack`, `PythonInterop`, ...), whichever
 * entry point they are imported from. It requires msgpackr to be installed.
 *
 * @example
 * ```ts
 * import { Msgpack } from "@dogpile-effect/codecs/msgpack"
 * import { Effect } from "effect"
 *
 * const bytes = Effect.runSync(Msgpack.codec.encode({ id: 1 }))
 * ```
 *
 * @since 0.1.0
 */
import { isNativeAccelerationEnabled, Packr, Unpackr } from "msgpackr"
import { provideMsgpackr } from "../OptionalPeers.ts"

provideMsgpackr({ isNativeAccelerationEnabled, Packr, Unpackr })

export * as Msgpack from "../Msgpack.ts"
