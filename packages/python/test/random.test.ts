/**
 * Random values both ways through the real Python library: whatever one side
 * stores, the other reads exactly (checked by serializing what was read
 * again and comparing bytes), and Python never raises on what TypeScript
 * stored.
 */
import { assert, describe, it } from "@effect/vitest"
import { PythonInterop } from "@dogpile-effect/codecs"
import { Region } from "@dogpile-effect/core"
import { Presets } from "@dogpile-effect/python"
import { RedisClient } from "@dogpile-effect/redis"
import { Effect, Layer, Option } from "effect"
import * as fc from "fast-check"
import { inject } from "vitest"
import { dogpileVersion, run } from "./python.ts"

const url = inject("redisUrl")
const unique = `py-random:${process.pid}:${Date.now().toString(36)}`
const COUNT = 200

type Format = PythonInterop.Format
const formats: ReadonlyArray<Format> = ["json", "msgpack"]

const isWellFormed = (s: string) => !/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/.test(s)
const text = fc.string({ unit: "binary", maxLength: 12 }).filter(isWellFormed)
const key = text.filter((k) => k !== "__proto__")

/** The values both sides share, per format (see docs/python-interop.md). */
const pythonValue = (format: Format): fc.Arbitrary<unknown> => {
  const bigint = format === "json"
    ? fc.bigInt({ min: -(2n ** 200n), max: 2n ** 200n })
    : fc.bigInt({ min: -(2n ** 63n), max: 2n ** 64n - 1n })
  const leaf = fc.oneof(
    text,
    fc.integer(),
    fc.maxSafeInteger(),
    bigint,
    fc.double(),
    fc.boolean(),
    fc.constant(null),
    ...(format === "msgpack" ? [fc.uint8Array({ maxLength: 20 })] : [])
  )
  return fc.letrec<{ value: unknown }>((tie) => ({
    value: fc.oneof(
      { depthSize: "small" },
      leaf,
      fc.array(tie("value"), { maxLength: 5 }),
      fc.dictionary(key, tie("value"), { maxKeys: 5, noNullPrototype: true })
    )
  })).value
}

const stack = (format: Format) => {
  const preset = Presets.dogpileRedis({ format })
  return { preset, layer: Layer.provideMerge(preset.layer, RedisClient.layer({ url })) }
}

const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString("hex")
const describePython = dogpileVersion !== undefined ? describe : describe.skip

describePython("random values", () => {
  for (const format of formats) {
    const { layer, preset } = stack(format)
    const codec = PythonInterop.codec(format)

    it.live(`${format}: ${COUNT} random values TypeScript stores are read exactly by Python, which never raises`, () =>
      Effect.gen(function*() {
        const region = yield* Region.make<unknown>({ ...preset.region, name: "interop-random" })
        const values = fc.sample(pythonValue(format), { numRuns: COUNT, seed: 4242 })
        const keys = values.map((_, i) => `${unique}:ts:${format}:${i}`)
        for (let i = 0; i < values.length; i++) yield* region.set(keys[i] as string, values[i])
        const reply = yield* Effect.promise(() => run({ cmd: "echo", preset: "dogpile", format, url, keys }))
        const echoes = reply["echoes"] as Array<{ echo?: string | null; error?: string }>
        const failures: Array<string> = []
        for (let i = 0; i < values.length; i++) {
          const mine = hex(yield* codec.encode(values[i]))
          const theirs = echoes[i]
          if (theirs?.error !== undefined) failures.push(`${i}: Python raised ${theirs.error}`)
          else if (theirs?.echo !== mine) failures.push(`${i}: ${mine} came back as ${String(theirs?.echo)}`)
        }
        assert.deepStrictEqual(failures.slice(0, 5), [])
      }).pipe(Effect.scoped, Effect.provide(layer)))

    it.live(`${format}: ${COUNT} random values Python stores are read exactly by TypeScript`, () =>
      Effect.gen(function*() {
        const prefix = `${unique}:py:${format}:`
        const reply = yield* Effect.promise(() =>
          run({ cmd: "write-random", preset: "dogpile", format, url, prefix, count: COUNT, seed: 4242 })
        )
        const payloads = reply["payloads"] as Array<string>
        assert.strictEqual(payloads.length, COUNT)
        const region = yield* Region.make<unknown>({ ...preset.region, name: "interop-random" })
        const failures: Array<string> = []
        for (let i = 0; i < COUNT; i++) {
          const read = yield* region.get(`${prefix}${i}`)
          if (Option.isNone(read)) {
            failures.push(`${i}: a miss (${payloads[i]})`)
            continue
          }
          const again = hex(yield* codec.encode(read.value))
          if (again !== payloads[i]) failures.push(`${i}: ${payloads[i]} read and written again as ${again}`)
        }
        assert.deepStrictEqual(failures.slice(0, 5), [])
      }).pipe(Effect.scoped, Effect.provide(layer)))
  }
})
