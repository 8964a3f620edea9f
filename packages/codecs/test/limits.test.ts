/**
 * Resource limits: every decode is bounded in time and memory, with the
 * documented defaults (docs/codecs.md, "Decode limits"), and every encode
 * refuses what the decoder would refuse.
 */
import { assert, describe, it } from "@effect/vitest"
import {
  Cbor,
  Compressed,
  IntegerAware,
  Json,
  Limits,
  Msgpack,
  PythonInterop,
  PythonJson,
  PythonMsgpack,
  RawBytes
} from "@dogpile-effect/codecs"
import { type CodecShape, InvalidOptionError } from "@dogpile-effect/core"
import { Effect, Exit, Layer } from "effect"
import * as fc from "fast-check"
import * as v8 from "node:v8"
import * as vm from "node:vm"
import * as zlib from "node:zlib"
import { cborValue, msgpackValue } from "./arbitraries.ts"

const hex = (s: string) => Uint8Array.from(s.split(" ").map((h) => Number.parseInt(h, 16)))
const utf8 = (s: string) => new TextEncoder().encode(s)
const concat = (...parts: ReadonlyArray<Uint8Array>) => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0))
  let at = 0
  for (const part of parts) {
    out.set(part, at)
    at += part.length
  }
  return out
}

/** How an effect ended: "success", the failure's tag, or "defect" (a throw or a die). */
const outcome = <A, E extends { readonly _tag: string }>(run: () => Effect.Effect<A, E>): string => {
  let exit: Exit.Exit<A, E>
  try {
    exit = Effect.runSyncExit(run())
  } catch {
    return "defect"
  }
  if (Exit.isSuccess(exit)) return "success"
  const error = Exit.findErrorOption(exit)
  return error._tag === "Some" ? error.value._tag : "defect"
}

const decodes = (codec: CodecShape, bytes: Uint8Array) => outcome(() => codec.decode(bytes))
const encodes = (codec: CodecShape, value: unknown) => outcome(() => codec.encode(value))
const reason = (codec: CodecShape, bytes: Uint8Array): string => {
  const exit = Effect.runSyncExit(codec.decode(bytes))
  const error = Exit.findErrorOption(exit)
  return error._tag === "Some" ? error.value.reason : "no error"
}
v8.setFlagsFromString("--expose-gc")
const gc = vm.runInNewContext("gc") as () => void

const build = (codec: Effect.Effect<CodecShape, InvalidOptionError>): CodecShape => Effect.runSync(codec)

/** The CBOR item of a positive bignum (tag 2) whose content is `length` bytes of 0xff. */
const cborBignum = (length: number): Uint8Array =>
  concat(
    hex("c2 5a"),
    Uint8Array.of(length >>> 24, (length >>> 16) & 0xff, (length >>> 8) & 0xff, length & 0xff),
    new Uint8Array(length).fill(0xff)
  )

/** `depth` nested arrays around an empty one, in each format. */
const deepCbor = (depth: number) => concat(new Uint8Array(depth).fill(0x81), hex("80"))
const deepMsgpack = (depth: number) => concat(new Uint8Array(depth).fill(0x91), hex("90"))
const deepCborMaps = (depth: number) => {
  const out = new Uint8Array(depth * 3 + 1)
  for (let i = 0; i < depth; i++) out.set(hex("a1 61 61"), i * 3)
  out[depth * 3] = 0xa0
  return out
}
const deepMsgpackMaps = (depth: number) => {
  const out = new Uint8Array(depth * 3 + 1)
  for (let i = 0; i < depth; i++) out.set(hex("81 a1 61"), i * 3)
  out[depth * 3] = 0x80
  return out
}
const deepArray = (depth: number): unknown => {
  let value: unknown = []
  for (let i = 0; i < depth; i++) value = [value]
  return value
}
const deepObject = (depth: number): unknown => {
  let value: unknown = {}
  for (let i = 0; i < depth; i++) value = { a: value }
  return value
}

describe("bignums", () => {
  it("a 160 KB CBOR bignum is a DecodeError at once (cbor-x would spend 16-26 s converting it)", () => {
    const bytes = cborBignum(160 * 1024)
    const started = performance.now()
    assert.strictEqual(decodes(Cbor.codec, bytes), "DecodeError")
    assert.strictEqual(decodes(Cbor.codec, concat(hex("c3"), bytes.subarray(1))), "DecodeError")
    assert.strictEqual(decodes(IntegerAware.codec, concat(hex("ff"), bytes)), "DecodeError")
    const elapsed = performance.now() - started
    console.log(`160 KB bignum rejected by cbor, cbor tag 3 and integer-aware in ${elapsed.toFixed(2)} ms`)
    assert.isBelow(elapsed, 2000, "no hang")
    assert.include(reason(Cbor.codec, bytes), "maxBignumBytes")
  })

  it("bignums up to maxBignumBytes round-trip; one byte more fails both ways", () => {
    const codec = build(Cbor.make({ maxBignumBytes: 16 }))
    const fits = 2n ** 128n - 1n // 16 bytes
    const over = 2n ** 128n // 17 bytes
    assert.strictEqual(Effect.runSync(codec.decode(Effect.runSync(codec.encode(fits)))), fits)
    assert.strictEqual(Effect.runSync(codec.decode(Effect.runSync(codec.encode(-fits)))), -fits)
    assert.strictEqual(encodes(codec, over), "EncodeError")
    assert.strictEqual(encodes(codec, [1, { a: -over }]), "EncodeError")
    assert.strictEqual(decodes(codec, cborBignum(17)), "DecodeError")
    assert.strictEqual(decodes(codec, cborBignum(16)), "success")
    // The default codec: 128 bytes (1024 bits).
    assert.strictEqual(encodes(Cbor.codec, 2n ** 1024n - 1n), "success")
    assert.strictEqual(encodes(Cbor.codec, 2n ** 1024n), "EncodeError")
    assert.strictEqual(decodes(Cbor.codec, cborBignum(128)), "success")
    assert.strictEqual(decodes(Cbor.codec, cborBignum(129)), "DecodeError")
  })

  it("integer-aware: a 160,000-digit integer is a DecodeError; integers within the limit read back", () => {
    assert.strictEqual(decodes(IntegerAware.codec, utf8("9".repeat(160_000))), "DecodeError")
    assert.strictEqual(decodes(IntegerAware.codec, utf8(`-${"9".repeat(310)}`)), "DecodeError")
    const largest = 2n ** 1024n - 1n // 309 digits
    const bytes = Effect.runSync(IntegerAware.codec.encode(largest))
    assert.strictEqual(bytes.length, 309)
    assert.strictEqual(Effect.runSync(IntegerAware.codec.decode(bytes)), largest)
    assert.strictEqual(Effect.runSync(IntegerAware.codec.decode(utf8("9".repeat(309)))), 10n ** 309n - 1n)
    assert.strictEqual(encodes(IntegerAware.codec, 2n ** 1024n), "EncodeError")
    // A string of digits is stored tagged, so it is never mistaken for a long integer.
    const digits = "9".repeat(1000)
    assert.strictEqual(Effect.runSync(IntegerAware.codec.decode(Effect.runSync(IntegerAware.codec.encode(digits)))), digits)
  })
})

describe("compression bombs", () => {
  /** The bomb: 58 KB of deflate-raw that inflate to a 60 MB JSON string. */
  const jsonBomb = () => {
    const text = new Uint8Array(60_000_002).fill(0x61)
    text[0] = 0x22
    text[text.length - 1] = 0x22
    return concat(hex("01"), zlib.deflateRawSync(text, { level: 9 }))
  }

  /** Heap and buffer memory still held after `decode`, garbage included (no collection in between). */
  const heapGrowth = (decode: () => string): { readonly outcome: string; readonly mb: number } => {
    // Twice: freed ArrayBuffers are only released to the count on the collection after.
    gc()
    gc()
    const before = process.memoryUsage()
    const result = decode()
    const after = process.memoryUsage()
    const grown = after.heapUsed + after.arrayBuffers - (before.heapUsed + before.arrayBuffers)
    return { outcome: result, mb: grown / 2 ** 20 }
  }

  it("58 KB that inflate to 60 MB are a DecodeError and the heap stays bounded", () => {
    const bomb = jsonBomb()
    assert.isBelow(bomb.length, 64 * 1024)
    const codec = Compressed.makeUnsafe(Json.codec)
    const started = performance.now()
    const { mb, outcome: result } = heapGrowth(() => decodes(codec, bomb))
    const elapsed = performance.now() - started
    console.log(`${bomb.length}-byte deflate bomb: ${result} in ${elapsed.toFixed(0)} ms, heap+buffers ${mb.toFixed(1)} MB`)
    assert.strictEqual(result, "DecodeError")
    assert.include(reason(codec, bomb), "maxDecodedBytes")
    assert.isBelow(mb, 64)
  })

  it("a few KB of brotli past the limit are a DecodeError and the heap stays bounded", () => {
    const zeros = new Uint8Array(48 * 1024 * 1024)
    const bomb = concat(hex("02"), zlib.brotliCompressSync(zeros, { params: { [zlib.constants.BROTLI_PARAM_QUALITY]: 5 } }))
    assert.isBelow(bomb.length, 16 * 1024)
    for (const inner of [Msgpack.codec, RawBytes.codec]) {
      const { mb, outcome: result } = heapGrowth(() => decodes(Compressed.makeUnsafe(inner), bomb))
      console.log(`${bomb.length}-byte brotli bomb (48 MiB) through ${inner.name}: ${result}, heap+buffers ${mb.toFixed(1)} MB`)
      assert.strictEqual(result, "DecodeError")
      assert.isBelow(mb, 64)
    }
  })

  it("a payload just under maxDecodedBytes still decodes", () => {
    const codec = Compressed.makeUnsafe(RawBytes.codec, { maxDecodedBytes: 1024 * 1024 })
    const exact = concat(hex("01"), zlib.deflateRawSync(new Uint8Array(1024 * 1024)))
    const over = concat(hex("01"), zlib.deflateRawSync(new Uint8Array(1024 * 1024 + 1)))
    assert.strictEqual(decodes(codec, exact), "success")
    assert.strictEqual(decodes(codec, over), "DecodeError")
  })
})

describe("nesting", () => {
  it("10,000-deep arrays and maps are DecodeErrors in every structured codec, never a stack overflow", () => {
    const cases: Array<[CodecShape, Uint8Array]> = [
      [Json.codec, utf8(`${"[".repeat(10_000)}${"]".repeat(10_000)}`)],
      [Json.codec, utf8(`${"{\"a\":".repeat(10_000)}{}${"}".repeat(10_000)}`)],
      [Cbor.codec, deepCbor(10_000)],
      [Cbor.codec, deepCborMaps(10_000)],
      [Msgpack.codec, deepMsgpack(10_000)],
      [Msgpack.codec, deepMsgpackMaps(10_000)],
      [IntegerAware.codec, concat(hex("ff"), deepCbor(10_000))]
    ]
    for (const [codec, bytes] of cases) assert.strictEqual(decodes(codec, bytes), "DecodeError", codec.name)
  })

  it("10,000-deep values are EncodeErrors in every structured codec", () => {
    for (const codec of [Json.codec, Cbor.codec, Msgpack.codec, IntegerAware.codec]) {
      assert.strictEqual(encodes(codec, deepArray(10_000)), "EncodeError", codec.name)
      assert.strictEqual(encodes(codec, deepObject(10_000)), "EncodeError", codec.name)
    }
  })

  it("maxDepth levels are accepted both ways and one more is refused both ways", () => {
    for (const codec of [Json.codec, Cbor.codec, Msgpack.codec, IntegerAware.codec]) {
      const bytes = Effect.runSync(codec.encode(deepArray(511))) // 512 arrays
      assert.deepStrictEqual(Effect.runSync(codec.decode(bytes)), deepArray(511), codec.name)
      assert.strictEqual(encodes(codec, deepArray(512)), "EncodeError", codec.name)
    }
    assert.strictEqual(decodes(Json.codec, utf8(`${"[".repeat(513)}${"]".repeat(513)}`)), "DecodeError")
    assert.strictEqual(decodes(Cbor.codec, deepCbor(512)), "DecodeError")
    assert.strictEqual(decodes(Msgpack.codec, deepMsgpack(512)), "DecodeError")
    const shallow = build(Msgpack.make({ maxDepth: 2 }))
    assert.strictEqual(decodes(shallow, hex("91 90")), "success")
    assert.strictEqual(decodes(shallow, hex("91 91 90")), "DecodeError")
    assert.strictEqual(encodes(shallow, [[]]), "success")
    assert.strictEqual(encodes(shallow, [[[]]]), "EncodeError")
  })

  it.effect("the largest maxDepth allowed (1024) works both ways inside a fiber, without exhausting the stack", () =>
    Effect.gen(function*() {
      for (const make of [Cbor.make, Msgpack.make, IntegerAware.make]) {
        const codec = yield* make({ maxDepth: 1024 })
        const deepest = { a: [deepObject(1021)] } // 1024 containers
        const bytes = yield* codec.encode(deepest)
        assert.deepStrictEqual(yield* codec.decode(bytes), deepest, codec.name)
        assert.strictEqual(yield* Effect.flip(codec.encode([deepest])).pipe(Effect.map((e) => e._tag)), "EncodeError")
      }
    }))

  it("a Set, Map, Date or bignum tag does not count as a level of its own", () => {
    const codec = build(Cbor.make({ maxDepth: 1 }))
    for (const value of [new Set([1]), new Map([[1, 2]]), [new Date(0), 2n ** 100n]]) {
      const bytes = Effect.runSync(codec.encode(value))
      assert.deepStrictEqual(Effect.runSync(codec.decode(bytes)), value)
    }
    assert.strictEqual(encodes(codec, [new Set()]), "EncodeError")
  })
})

describe("sizes and counts", () => {
  it("1,000,001 values are a DecodeError before anything is built (default maxItems)", () => {
    const n = 1_000_001
    // The outer array and 1,000,000 empty arrays in it.
    const cbor = concat(hex("9a"), Uint8Array.of(0, 0x0f, 0x42, 0x40), new Uint8Array(n - 1).fill(0x80))
    const msgpack = concat(hex("dd"), Uint8Array.of(0, 0x0f, 0x42, 0x40), new Uint8Array(n - 1).fill(0x90))
    const json = utf8(`[${new Array(n - 1).fill("[]").join(",")}]`)
    for (const [codec, bytes] of [[Cbor.codec, cbor], [Msgpack.codec, msgpack], [Json.codec, json]] as const) {
      gc()
      const { heapUsed } = process.memoryUsage()
      assert.strictEqual(decodes(codec, bytes), "DecodeError", codec.name)
      const grown = (process.memoryUsage().heapUsed - heapUsed) / 2 ** 20
      assert.include(reason(codec, bytes), "1000000", codec.name)
      // The growth counts garbage not yet collected, whose timing differs between Node versions
      // (Node 22: under 32 MB; Node 24: up to ~54 MB for CBOR); nothing is kept afterwards.
      assert.isBelow(grown, 64, codec.name)
      gc()
      assert.isBelow((process.memoryUsage().heapUsed - heapUsed) / 2 ** 20, 8, `${codec.name}: nothing retained`)
    }
    // One fewer value (the outer array plus 999,999 elements) decodes.
    assert.strictEqual(decodes(Msgpack.codec, concat(hex("dd"), Uint8Array.of(0, 0x0f, 0x42, 0x3f), new Uint8Array(999_999).fill(0xc0))), "success")
  })

  it("maxItems counts values the same way on encode and decode", () => {
    // 6 values: the array, the Set, its element, the Map, its key and its value.
    const value = [new Set([1]), new Map([["k", 2]])]
    const bytes = Effect.runSync(Cbor.codec.encode(value))
    const six = build(Cbor.make({ maxItems: 6 }))
    const five = build(Cbor.make({ maxItems: 5 }))
    assert.strictEqual(encodes(six, value), "success")
    assert.strictEqual(decodes(six, bytes), "success")
    assert.strictEqual(encodes(five, value), "EncodeError")
    assert.strictEqual(decodes(five, bytes), "DecodeError")
    // Objects: the object and its values, not its keys.
    const msgpack = build(Msgpack.make({ maxItems: 3 }))
    assert.strictEqual(encodes(msgpack, { a: 1, b: 2 }), "success")
    assert.strictEqual(decodes(msgpack, Effect.runSync(Msgpack.codec.encode({ a: 1, b: 2 }))), "success")
    assert.strictEqual(encodes(msgpack, { a: 1, b: 2, c: 3 }), "EncodeError")
    assert.strictEqual(decodes(msgpack, Effect.runSync(Msgpack.codec.encode({ a: 1, b: 2, c: 3 }))), "DecodeError")
  })

  it("maxBytes bounds the input of a decode and the output of an encode", () => {
    for (const make of [Cbor.make, Msgpack.make, IntegerAware.make]) {
      const codec = build(make({ maxBytes: 100 }))
      assert.strictEqual(encodes(codec, "x".repeat(90)), "success", codec.name)
      assert.strictEqual(encodes(codec, "x".repeat(101)), "EncodeError", codec.name)
      const big = Effect.runSync(build(make()).encode(["x".repeat(100)]))
      assert.strictEqual(decodes(codec, big), "DecodeError", codec.name)
    }
    const huge = new Uint8Array(16 * 1024 * 1024 + 1)
    for (const codec of [Json.codec, Cbor.codec, Msgpack.codec, IntegerAware.codec]) {
      assert.strictEqual(decodes(codec, huge), "DecodeError", codec.name)
    }
  })

  it("whatever a codec with small limits writes, it reads back (never writes what it refuses)", () => {
    const limits = { maxDepth: 3, maxItems: 12, maxBytes: 200, maxBignumBytes: 8 }
    const pairs: Array<[CodecShape, fc.Arbitrary<unknown>]> = [
      [build(Cbor.make(limits)), cborValue],
      [build(IntegerAware.make(limits)), cborValue],
      [build(Msgpack.make(limits)), msgpackValue]
    ]
    for (const [codec, arbitrary] of pairs) {
      let written = 0
      fc.assert(
        fc.property(arbitrary, (value) => {
          const exit = Effect.runSyncExit(codec.encode(value))
          if (Exit.isFailure(exit)) return
          written++
          assert.deepStrictEqual(Effect.runSync(codec.decode(exit.value)), value)
        }),
        { numRuns: 500 }
      )
      assert.isAbove(written, 100, codec.name)
    }
  })
})

describe("limits are validated when a codec is built", () => {
  const invalid = (effect: Effect.Effect<unknown, InvalidOptionError>): string => {
    const exit = Effect.runSyncExit(effect)
    const error = Exit.findErrorOption(exit)
    assert.isTrue(error._tag === "Some" && error.value instanceof InvalidOptionError, String(exit))
    return error._tag === "Some" ? error.value.message : ""
  }

  it("out-of-range or non-integer limits are InvalidOptionErrors naming the option", () => {
    for (const make of [Cbor.make, Msgpack.make, IntegerAware.make]) {
      assert.include(invalid(make({ maxDepth: 0 })), "maxDepth")
      assert.include(invalid(make({ maxDepth: 1025 })), "maxDepth")
      assert.include(invalid(make({ maxBytes: 1.5 })), "maxBytes")
      assert.include(invalid(make({ maxBytes: 513 * 1024 * 1024 })), "maxBytes")
      assert.include(invalid(make({ maxItems: -1 })), "maxItems")
      assert.include(invalid(make({ maxItems: Number.NaN })), "maxItems")
      assert.include(invalid(make({ maxBignumBytes: 4 })), "maxBignumBytes")
      assert.include(invalid(make({ maxBignumBytes: "64" as unknown as number })), "maxBignumBytes")
      assert.include(invalid(make({ maxDepht: 3 } as unknown as Limits.CodecLimits)), "maxDepht is not a limit")
      assert.include(invalid(make({ toString: 3 } as unknown as Limits.CodecLimits)), "toString is not a limit")
      assert.include(invalid(make(7 as unknown as Limits.CodecLimits)), "limits must be an object")
    }
  })

  it("Compressed options are validated", () => {
    assert.include(invalid(Compressed.make(Json.codec, { level: 10 })), "level")
    assert.include(invalid(Compressed.make(Json.codec, { algorithm: "brotli", level: 12 })), "level")
    assert.include(invalid(Compressed.make(Json.codec, { algorithm: "gzip" as "brotli" })), "algorithm")
    assert.include(invalid(Compressed.make(Json.codec, { threshold: -1 })), "threshold")
    assert.include(invalid(Compressed.make(Json.codec, { maxDecodedBytes: 0 })), "maxDecodedBytes")
    assert.include(
      invalid(Compressed.make(Json.codec, { treshold: 10 } as unknown as Compressed.CompressedOptions)),
      "treshold is not an option"
    )
    assert.throws(() => Compressed.makeUnsafe(Json.codec, { level: 99 }), InvalidOptionError)
    assert.strictEqual(Effect.runSync(Compressed.make(Json.codec, { algorithm: "brotli", level: 11 })).name, "brotli(json)")
  })

  it("layers fail to build with the InvalidOptionError", () => {
    for (const layer of [Cbor.layerWith({ maxDepth: -1 }), Compressed.layer(Json.codec, { threshold: 0.5 })]) {
      const exit = Effect.runSyncExit(Effect.scoped(Layer.build(layer)))
      const error = Exit.findErrorOption(exit)
      assert.isTrue(error._tag === "Some" && error.value._tag === "InvalidOptionError")
    }
  })

  it("defaults are the documented ones", () => {
    assert.deepStrictEqual(Limits.defaults, {
      maxBytes: 16 * 1024 * 1024,
      maxDepth: 512,
      maxItems: 1_000_000,
      maxBignumBytes: 128
    })
    assert.strictEqual(Compressed.defaultMaxDecodedBytes, 16 * 1024 * 1024)
    assert.deepStrictEqual(Effect.runSync(Limits.make("test")), Limits.defaults)
  })
})

describe("Python codecs and envelopes", () => {
  const million = () => `[${new Array(1_000_000).fill("0").join(", ")}]` // 1,000,001 values

  it("PythonJson: more than 1,000,000 values or 16 MiB are refused both ways; deep text is a DecodeError", () => {
    assert.strictEqual(decodes(PythonJson.codec, utf8(million())), "DecodeError")
    assert.strictEqual(decodes(PythonJson.codec, new Uint8Array(16 * 1024 * 1024 + 1).fill(0x20)), "DecodeError")
    assert.strictEqual(decodes(PythonJson.codec, utf8(`${"[".repeat(10_000)}${"]".repeat(10_000)}`)), "DecodeError")
    assert.strictEqual(encodes(PythonJson.codec, new Array(1_000_000).fill(0)), "EncodeError")
    assert.strictEqual(encodes(PythonJson.codec, "x".repeat(16 * 1024 * 1024)), "EncodeError")
    assert.strictEqual(encodes(PythonJson.codec, new Array(999_999).fill(0)), "success")
  })

  it("PythonMsgpack writes nothing the reader would refuse", () => {
    assert.strictEqual(encodes(PythonMsgpack.codec, new Array(1_000_000).fill(0)), "EncodeError")
    const fits = Effect.runSync(PythonMsgpack.codec.encode({ rows: new Array(999_998).fill(0) }))
    assert.strictEqual(decodes(PythonMsgpack.codec, fits), "success")
    assert.strictEqual(encodes(PythonMsgpack.codec, { rows: new Array(999_999).fill(0) }), "EncodeError")
    assert.strictEqual(decodes(PythonMsgpack.codec, deepMsgpack(10_000)), "DecodeError")
  })

  it("an envelope whose metadata is longer than 256 bytes is a DecodeError before it is parsed", () => {
    const json = PythonInterop.envelope({ format: "json", layout: "full" })
    const hostile = utf8(`[1, ${"[".repeat(100_000)}${"]".repeat(100_000)}]`)
    const exit = Effect.runSyncExit(json.decode(hostile, 0, PythonJson.codec))
    const error = Exit.findErrorOption(exit)
    assert.isTrue(error._tag === "Some" && error.value.reason.includes("256 bytes"), String(exit))
    const msgpack = PythonInterop.envelope({ format: "msgpack", layout: "compact" })
    const packed = concat(hex("92 01"), deepMsgpack(400))
    const exit2 = Effect.runSyncExit(msgpack.decode(packed, 0, PythonMsgpack.codec))
    const error2 = Exit.findErrorOption(exit2)
    assert.isTrue(error2._tag === "Some" && error2.value.reason.includes("256 bytes"), String(exit2))
  })
})
