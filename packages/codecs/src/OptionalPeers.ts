/**
 * `cbor-x` and `msgpackr` are optional peer dependencies: a user of the CBOR
 * codec installs only `cbor-x`, a user of MessagePack only `msgpackr`, and
 * importing `@dogpile-effect/codecs` needs neither. Each is loaded once, when
 * this module is first evaluated, with a synchronous `require` (both ship a
 * CommonJS build for Node). A missing one is replaced by a stand-in whose
 * encoder and decoder throw an error naming the install command; the codecs
 * catch it and turn it into an `EncodeError` or `DecodeError`, so the first
 * use of a codec whose library is missing fails with that message.
 *
 * @since 0.2.0
 */
import type * as CborX from "cbor-x"
import type * as Msgpackr from "msgpackr"
import { createRequire } from "node:module"

const require = createRequire(import.meta.url)

/** The error a stand-in throws, naming the command that installs `name`. */
const missing = (name: string): Error =>
  new Error(`${name} is not installed; it is an optional peer dependency of @dogpile-effect/codecs: run \`npm install ${name}\``)

const isModuleNotFound = (error: unknown, name: string): boolean =>
  error instanceof Error && "code" in error && error.code === "MODULE_NOT_FOUND" && error.message.includes(`'${name}'`)

/** `require(name)`, or undefined when the package is not installed (any other load error is rethrown). */
const load = <M>(name: string): M | undefined => {
  try {
    return require(name) as M
  } catch (error) {
    if (isModuleNotFound(error, name)) return undefined
    throw error
  }
}

/** An encoder/decoder class whose instances throw {@link missing} on every call. */
const standIn = (name: string) =>
  class Missing {
    constructor(_options?: unknown) {}
    encode(_value: unknown): never {
      throw missing(name)
    }
    decode(_bytes: unknown): never {
      throw missing(name)
    }
    pack(_value: unknown): never {
      throw missing(name)
    }
    unpack(_bytes: unknown): never {
      throw missing(name)
    }
  }

/** The parts of cbor-x the CBOR codec uses. */
type CborXParts = Pick<typeof CborX, "Encoder" | "Decoder" | "isNativeAccelerationEnabled">

/** The parts of msgpackr the MessagePack codec uses. */
type MsgpackrParts = Pick<typeof Msgpackr, "Packr" | "Unpackr" | "isNativeAccelerationEnabled">

const missingCborX = (): CborXParts => {
  const Missing = standIn("cbor-x")
  return {
    Encoder: Missing as unknown as CborXParts["Encoder"],
    Decoder: Missing as unknown as CborXParts["Decoder"],
    isNativeAccelerationEnabled: false
  }
}

const missingMsgpackr = (): MsgpackrParts => {
  const Missing = standIn("msgpackr")
  return {
    Packr: Missing as unknown as MsgpackrParts["Packr"],
    Unpackr: Missing as unknown as MsgpackrParts["Unpackr"],
    isNativeAccelerationEnabled: false
  }
}

/**
 * cbor-x, or a stand-in that fails every call when it is not installed.
 *
 * @example
 * ```ts
 * const { Encoder } = cborX
 * new Encoder({ useRecords: false }).encode(1) // Uint8Array [0x01], or throws "cbor-x is not installed; ..."
 * ```
 *
 * @since 0.2.0
 */
export const cborX: CborXParts = load<CborXParts>("cbor-x") ?? missingCborX()

/**
 * msgpackr, or a stand-in that fails every call when it is not installed.
 *
 * @example
 * ```ts
 * const { Packr } = msgpackr
 * new Packr({ useRecords: false }).pack(1) // Uint8Array [0x01], or throws "msgpackr is not installed; ..."
 * ```
 *
 * @since 0.2.0
 */
export const msgpackr: MsgpackrParts = load<MsgpackrParts>("msgpackr") ?? missingMsgpackr()
