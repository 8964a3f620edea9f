import { assert, describe, it } from "@effect/vitest"
import { PythonInterop, PythonJson, PythonMsgpack } from "@dogpile-effect/codecs"
import { Effect } from "effect"

const fromHex = (s: string) => Uint8Array.from(s.match(/../g) ?? [], (h) => Number.parseInt(h, 16))
const toHex = (b: Uint8Array) => Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("")
const utf8 = (s: string) => new TextEncoder().encode(s)
const text = (b: Uint8Array) => new TextDecoder().decode(b)

// Bytes printed by Python 3.11 (`json.dumps(v)`, `msgpack.packb(v)` with msgpack 1.0.3) for the Python
// counterpart of each value; `undefined` where Python refuses the value.
const vectors: ReadonlyArray<{ name: string; value: unknown; json?: string; msgpack?: string }> = [
  { name: "str", value: "hello", json: "\"hello\"", msgpack: "a568656c6c6f" },
  {
    name: "unicode and escapes",
    value: "h\u00e9llo w\u00f6rld \u2713 \u{1d11e} \"q\" \\ \n\t\x7f",
    json: "\"h\\u00e9llo w\\u00f6rld \\u2713 \\ud834\\udd1e \\\"q\\\" \\\\ \\n\\t\\u007f\"",
    msgpack: "d92068c3a96c6c6f2077c3b6726c6420e29c9320f09d849e20227122205c200a097f"
  },
  { name: "int", value: 42, json: "42", msgpack: "2a" },
  { name: "negative int", value: -129, json: "-129", msgpack: "d1ff7f" },
  { name: "int beyond 64 bits", value: 2n ** 70n + 1n, json: "1180591620717411303425" },
  { name: "uint64 max", value: 2n ** 64n - 1n, json: "18446744073709551615", msgpack: "cfffffffffffffffff" },
  { name: "int64 min", value: -(2n ** 63n), json: "-9223372036854775808", msgpack: "d38000000000000000" },
  { name: "float", value: 3.14159, json: "3.14159", msgpack: "cb400921f9f01b866e" },
  { name: "None", value: null, json: "null", msgpack: "c0" },
  { name: "bool", value: true, json: "true", msgpack: "c3" },
  { name: "list", value: [1, "two", 3.5, null, false], json: "[1, \"two\", 3.5, null, false]", msgpack: "9501a374776fcb400c000000000000c0c2" },
  {
    name: "nested dict",
    value: { name: "ada", tags: ["x", "y"], nested: { n: 1, deep: { ok: true } } },
    json: "{\"name\": \"ada\", \"tags\": [\"x\", \"y\"], \"nested\": {\"n\": 1, \"deep\": {\"ok\": true}}}",
    msgpack: "83a46e616d65a3616461a47461677392a178a179a66e657374656482a16e01a46465657081a26f6bc3"
  },
  {
    name: "float reprs",
    value: [1e16, 1e-5, 0.0001, 123456789012345678, -0, 1e300, 5e-324, 0.1, 1.5e-7, 1e22, 12345.678],
    json: "[1e+16, 1e-05, 0.0001, 1.2345678901234568e+17, -0.0, 1e+300, 5e-324, 0.1, 1.5e-07, 1e+22, 12345.678]"
  },
  { name: "bytes", value: Uint8Array.of(0, 1, 0xff, 0x62, 0x69, 0x6e), msgpack: "c4060001ff62696e" }
]

describe("PythonJson", () => {
  for (const vector of vectors) {
    if (vector.json === undefined) continue
    const json = vector.json
    it.effect(`${vector.name}: the bytes of json.dumps, and back`, () =>
      Effect.gen(function*() {
        assert.strictEqual(text(yield* PythonJson.codec.encode(vector.value)), json)
        assert.deepStrictEqual(yield* PythonJson.codec.decode(utf8(json)), vector.value)
      }))
  }

  it.effect("refuses what Python cannot read back, as EncodeError", () =>
    Effect.gen(function*() {
      const refused = [
        Uint8Array.of(1),
        undefined,
        new Date(0),
        new Map(),
        "\uD800",
        [1, , 3],
        10n ** 4300n,
        { f: () => 1 }
      ]
      for (const value of refused) {
        const error = yield* Effect.flip(PythonJson.codec.encode(value))
        assert.strictEqual(error._tag, "EncodeError", String(value))
      }
      let deep: unknown = 1
      for (let i = 0; i < PythonJson.MAX_DEPTH + 1; i++) deep = [deep]
      assert.strictEqual((yield* Effect.flip(PythonJson.codec.encode(deep)))._tag, "EncodeError")
      const cyclic: Record<string, unknown> = {}
      cyclic["self"] = cyclic
      assert.strictEqual((yield* Effect.flip(PythonJson.codec.encode(cyclic)))._tag, "EncodeError")
    }))

  it.effect("reads NaN, the infinities, -0 as Python does; refuses malformed text", () =>
    Effect.gen(function*() {
      const back = (yield* PythonJson.codec.decode(utf8("[NaN, Infinity, -Infinity, -0, -0.0, 2.0]"))) as Array<number>
      assert.isNaN(back[0])
      assert.deepStrictEqual(back.slice(1), [Infinity, -Infinity, 0, -0, 2])
      assert.isFalse(Object.is(back[3], -0))
      assert.strictEqual(text(yield* PythonJson.codec.encode([Number.NaN, -Infinity, -0, 2])), "[NaN, -Infinity, -0.0, 2]")
      const own = (yield* PythonJson.codec.decode(utf8("{\"__proto__\": {\"x\": 1}}"))) as Record<string, unknown>
      assert.isTrue(Object.hasOwn(own, "__proto__"))
      assert.strictEqual(Object.getPrototypeOf(own), Object.prototype)
      for (const bad of ["[1,]", "{\"a\" 1}", "\"\u0001\"", "01", "[1] x", "\"\\x\"", "tru", "", "1.", "\xff"]) {
        assert.strictEqual((yield* Effect.flip(PythonJson.codec.decode(utf8(bad))))._tag, "DecodeError", bad)
      }
      const long = `${"9".repeat(PythonJson.MAX_INT_DIGITS + 1)}`
      assert.strictEqual((yield* Effect.flip(PythonJson.codec.decode(utf8(long))))._tag, "DecodeError")
    }))

  it("floatRepr matches Python's repr at the notation boundaries", () => {
    const cases: Array<[number, string]> = [
      [1e15, "1000000000000000.0"],
      [9999999999999998, "9999999999999998.0"],
      [0.001, "0.001"],
      [1.25e-5, "1.25e-05"],
      [-1.5e100, "-1.5e+100"],
      [1796149243.437805, "1796149243.437805"]
    ]
    for (const [x, repr] of cases) assert.strictEqual(PythonJson.floatRepr(x), repr)
  })
})

describe("PythonMsgpack", () => {
  for (const vector of vectors) {
    if (vector.msgpack === undefined) continue
    const hex = vector.msgpack
    it.effect(`${vector.name}: the bytes of msgpack.packb, and back`, () =>
      Effect.gen(function*() {
        assert.strictEqual(toHex(yield* PythonMsgpack.codec.encode(vector.value)), hex)
        assert.deepStrictEqual(yield* PythonMsgpack.codec.decode(fromHex(hex)), vector.value)
      }))
  }

  it.effect("writes floats as float64 and the smallest integer formats; long containers and buffers grow", () =>
    Effect.gen(function*() {
      assert.strictEqual(toHex(yield* PythonMsgpack.codec.encode(-0)), "cb8000000000000000")
      assert.strictEqual(toHex(yield* PythonMsgpack.codec.encode([-32, -33, 255, 256, 65536])), "95e0d0dfccffcd0100ce00010000")
      const many = Array.from({ length: 70_000 }, (_, i) => i)
      const bytes = yield* PythonMsgpack.codec.encode(many)
      assert.strictEqual(toHex(bytes.subarray(0, 5)), "dd00011170")
      assert.deepStrictEqual(yield* PythonMsgpack.codec.decode(bytes), many)
    }))

  it.effect("refuses what Python cannot read back, and extensions and trailing bytes on read", () =>
    Effect.gen(function*() {
      for (const value of [2n ** 64n, -(2n ** 63n) - 1n, undefined, new Date(0), "\uDC00", new Set()]) {
        assert.strictEqual((yield* Effect.flip(PythonMsgpack.codec.encode(value)))._tag, "EncodeError", String(value))
      }
      // a timestamp, msgpackr's undefined, and a pickled value (0x80 is also an empty fixmap)
      for (const hex of ["d6ff00000001", "d40000", "8004950a000000"]) {
        assert.strictEqual((yield* Effect.flip(PythonMsgpack.codec.decode(fromHex(hex))))._tag, "DecodeError", hex)
      }
    }))
})

describe("PythonInterop dogpile layout", () => {
  // `region._serialized_payload(value, {"ct": 1796149243.437805, "v": 2})` in dogpile.cache 1.1.8.
  const ct = 1796149243.437805
  const cases = [
    { format: "json", bytes: utf8("{\"ct\": 1796149243.437805, \"v\": 2}|[1, \"two\", 3.5, null, false]") },
    {
      format: "msgpack",
      bytes: new Uint8Array([...utf8("{\"ct\": 1796149243.437805, \"v\": 2}|"), ...fromHex("9501a374776fcb400c000000000000c0c2")])
    }
  ] as const

  for (const { bytes, format } of cases) {
    it.effect(`${format}: decodes dogpile's bytes and writes them back identically`, () =>
      Effect.gen(function*() {
        const envelope = PythonInterop.envelope({ format, layout: "dogpile" })
        const codec = PythonInterop.codec(format)
        const entry = yield* envelope.decode(bytes, 0, codec)
        assert.deepStrictEqual(entry.value, [1, "two", 3.5, null, false])
        assert.strictEqual(entry.createdAt, ct * 1000)
        assert.strictEqual(toHex(yield* envelope.encode(entry.value, entry.createdAt, codec)), toHex(bytes))
      }))
  }

  it.effect("another version, a pickled payload, or no metadata is a DecodeError", () =>
    Effect.gen(function*() {
      const json = PythonInterop.envelope({ format: "json", layout: "dogpile" })
      const v1 = PythonInterop.envelope({ format: "json", layout: "dogpile", version: 1 })
      const mismatch = yield* Effect.flip(v1.decode(cases[0].bytes, 0, PythonJson.codec))
      assert.include(mismatch.reason, "version mismatch")
      const bad = [
        new Uint8Array([...utf8("{\"ct\": 1.5, \"v\": 2}|"), 0x80, 0x04, 0x95, 0x05]),
        utf8("[1, {\"ct\": 1.5, \"v\": 2}]"),
        utf8("{\"ct\": \"x\", \"v\": 2}|1"),
        utf8("{\"v\": 2}|1"),
        utf8("{\"ct\": 1.5, \"v\": 2|1"),
        new Uint8Array(0)
      ]
      for (const bytes of bad) {
        assert.strictEqual((yield* Effect.flip(json.decode(bytes, 0, PythonJson.codec)))._tag, "DecodeError", text(bytes))
      }
      const msgpack = PythonInterop.envelope({ format: "msgpack", layout: "dogpile" })
      const pickled = new Uint8Array([...utf8("{\"ct\": 1.5, \"v\": 2}|"), 0x80, 0x04, 0x95, 0x05])
      assert.strictEqual((yield* Effect.flip(msgpack.decode(pickled, 0, PythonMsgpack.codec)))._tag, "DecodeError")
    }))

  it.effect("make, envelope and layer refuse invalid options with InvalidOptionError", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(
        Effect.provide(Effect.void, PythonInterop.layer({ format: "json", layout: "dogpile", version: -1 }))
      )
      assert.strictEqual(error._tag, "InvalidOptionError")
      for (const options of [
        { format: "pickle", layout: "dogpile" },
        { format: "json", layout: "tuple" },
        { format: "json", layout: "full", version: 2.5 }
      ]) {
        const invalid = options as PythonInterop.Options
        assert.strictEqual((yield* Effect.flip(PythonInterop.make(invalid)))._tag, "InvalidOptionError")
        assert.throws(() => PythonInterop.envelope(invalid))
      }
    }))
})
