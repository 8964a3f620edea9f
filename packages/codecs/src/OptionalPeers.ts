/**
 * `cbor-x` and `msgpackr` are optional peer dependencies: a user of the CBOR
 * codec installs only `cbor-x`, a user of MessagePack only `msgpackr`, and
 * importing `@dogpile-effect/codecs` needs neither.
 *
 * A peer comes from one of two places:
 *
 * - **provided**: the entry points `@dogpile-effect/codecs/msgpack` and
 *   `@dogpile-effect/codecs/cbor` import their library statically (so a
 *   bundler such as esbuild includes it) and hand it over here with
 *   {@link provideMsgpackr} / {@link provideCborX};
 * - **loaded**: otherwise, on first use, a synchronous `require` from this
 *   file (both libraries ship a CommonJS build for Node), which a bundler
 *   cannot see.
 *
 * A peer found in neither place is replaced by a stand-in whose encoder and
 * decoder throw an error naming the install command and the bundler entry
 * point; the codecs catch it and turn it into an `EncodeError` or
 * `DecodeError`, so the first use of a codec whose library is missing fails
 * with that message.
 *
 * @since 0.1.0
 */
import type * as CborX from "cbor-x"
import type * as Msgpackr from "msgpackr"
import { createRequire } from "node:module"

/** The parts of cbor-x the CBOR codec uses. */
export type CborXParts = Pick<typeof CborX, "Encoder" | "Decoder" | "isNativeAccelerationEnabled">

/** The parts of msgpackr the MessagePack codec uses. */
export type MsgpackrParts = Pick<typeof Msgpackr, "Packr" | "Unpackr" | "isNativeAccelerationEnabled">

/** The error a stand-in throws, naming the command that installs `name` and the entry point a bundle imports. */
const missing = (name: string, entry: string): Error =>
  new Error(
    `${name} is not installed; it is an optional peer dependency of @dogpile-effect/codecs: run \`npm install ${name}\`` +
      ` (in a bundle, also import "@dogpile-effect/codecs/${entry}" so the bundler includes ${name})`
  )

const isModuleNotFound = (error: unknown, name: string): boolean =>
  error instanceof Error && "code" in error && error.code === "MODULE_NOT_FOUND" && error.message.includes(`'${name}'`)

/**
 * `require(name)` from this file, or undefined when the package is not
 * installed or `require` cannot be made here (a CommonJS bundle has no
 * `import.meta.url`); any other load error is rethrown.
 */
const load = <M>(name: string): M | undefined => {
  let require: NodeJS.Require
  try {
    require = createRequire(import.meta.url)
  } catch {
    return undefined
  }
  try {
    return require(name) as M
  } catch (error) {
    if (isModuleNotFound(error, name)) return undefined
    throw error
  }
}

/** An encoder/decoder class whose instances throw {@link missing} on every call. */
const standIn = (name: string, entry: string) =>
  class Missing {
    constructor(_options?: unknown) {}
    encode(_value: unknown): never {
      throw missing(name, entry)
    }
    decode(_bytes: unknown): never {
      throw missing(name, entry)
    }
    pack(_value: unknown): never {
      throw missing(name, entry)
    }
    unpack(_bytes: unknown): never {
      throw missing(name, entry)
    }
  }

const missingCborX = (): CborXParts => {
  const Missing = standIn("cbor-x", "cbor")
  return {
    Encoder: Missing as unknown as CborXParts["Encoder"],
    Decoder: Missing as unknown as CborXParts["Decoder"],
    isNativeAccelerationEnabled: false
  }
}

const missingMsgpackr = (): MsgpackrParts => {
  const Missing = standIn("msgpackr", "msgpack")
  return {
    Packr: Missing as unknown as MsgpackrParts["Packr"],
    Unpackr: Missing as unknown as MsgpackrParts["Unpackr"],
    isNativeAccelerationEnabled: false
  }
}

let providedCborX: CborXParts | undefined
let loadedCborX: CborXParts | undefined
let providedMsgpackr: MsgpackrParts | undefined
let loadedMsgpackr: MsgpackrParts | undefined

/**
 * Hands cbor-x to the codecs; called by `@dogpile-effect/codecs/cbor`, which
 * imports it statically. Takes precedence over the `require` fallback.
 *
 * @example
 * ```ts
 * import { Decoder, Encoder, isNativeAccelerationEnabled } from "cbor-x"
 * provideCborX({ Decoder, Encoder, isNativeAccelerationEnabled })
 * ```
 *
 * @since 0.1.0
 */
export const provideCborX = (parts: CborXParts): void => {
  providedCborX = parts
}

/**
 * Hands msgpackr to the codecs; called by `@dogpile-effect/codecs/msgpack`,
 * which imports it statically. Takes precedence over the `require` fallback.
 *
 * @example
 * ```ts
 * import { isNativeAccelerationEnabled, Packr, Unpackr } from "msgpackr"
 * provideMsgpackr({ isNativeAccelerationEnabled, Packr, Unpackr })
 * ```
 *
 * @since 0.1.0
 */
export const provideMsgpackr = (parts: MsgpackrParts): void => {
  providedMsgpackr = parts
}

/**
 * cbor-x as provided, else as `require` finds it (once), else a stand-in that
 * fails every call.
 *
 * @example
 * ```ts
 * const { Encoder } = cborX()
 * new Encoder({ useRecords: false }).encode(1) // Uint8Array [0x01], or throws "cbor-x is not installed; ..."
 * ```
 *
 * @since 0.1.0
 */
export const cborX = (): CborXParts => providedCborX ?? (loadedCborX ??= load<CborXParts>("cbor-x") ?? missingCborX())

/**
 * msgpackr as provided, else as `require` finds it (once), else a stand-in
 * that fails every call.
 *
 * @example
 * ```ts
 * const { Packr } = msgpackr()
 * new Packr({ useRecords: false }).pack(1) // Uint8Array [0x01], or throws "msgpackr is not installed; ..."
 * ```
 *
 * @since 0.1.0
 */
export const msgpackr = (): MsgpackrParts =>
  providedMsgpackr ?? (loadedMsgpackr ??= load<MsgpackrParts>("msgpackr") ?? missingMsgpackr())

/**
 * A value built from a peer (an encoder, a decoder), rebuilt only when the
 * peer changes: the first call after {@link provideMsgpackr} or
 * {@link provideCborX} builds it from the provided library even when an
 * earlier call built it from the fallback.
 *
 * @example
 * ```ts
 * const packr = memoByPeer(msgpackr, ({ Packr }) => new Packr({ useRecords: false }))
 * packr().pack(1)
 * ```
 *
 * @since 0.1.0
 */
export const memoByPeer = <P, A>(peer: () => P, build: (parts: P) => A): () => A => {
  let builtFrom: P | undefined
  let built: A | undefined
  return () => {
    const parts = peer()
    if (builtFrom !== parts || built === undefined) {
      built = build(parts)
      builtFrom = parts
    }
    return built
  }
}
