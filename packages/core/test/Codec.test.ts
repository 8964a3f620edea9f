/**
 * The JSON codec's limits (16 MiB, 512 levels, 1,000,000 values): deep, huge
 * or hostile values are typed errors, never a stack overflow or an unbounded
 * allocation.
 */
import { assert, describe, it } from "@effect/vitest"
import { Codec } from "@dogpile-effect/core"
import { Effect, Exit } from "effect"

const utf8 = (s: string) => new TextEncoder().encode(s)

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
const encodes = (value: unknown) => outcome(() => Codec.json.encode(value))
const decodes = (text: string | Uint8Array) =>
  outcome(() => Codec.json.decode(typeof text === "string" ? utf8(text) : text))

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
const nested = (depth: number) => `${"[".repeat(depth)}${"]".repeat(depth)}`

describe("JSON codec limits", () => {
  it("a 10,000-deep value is an EncodeError, not a stack overflow", () => {
    assert.strictEqual(encodes(deepArray(10_000)), "EncodeError")
    assert.strictEqual(encodes(deepObject(10_000)), "EncodeError")
    assert.strictEqual(encodes({ list: [deepObject(100_000)] }), "EncodeError")
  })

  it("10,000-deep JSON is a DecodeError", () => {
    assert.strictEqual(decodes(nested(10_000)), "DecodeError")
    assert.strictEqual(decodes(`${"{\"a\":".repeat(10_000)}null${"}".repeat(10_000)}`), "DecodeError")
    assert.strictEqual(decodes(`[1, ${"[ ".repeat(10_000)}${" ]".repeat(10_000)}]`), "DecodeError")
  })

  it("512 nested arrays or objects round-trip; 513 are refused both ways", () => {
    for (const value of [deepArray(511), deepObject(511)]) {
      const bytes = Effect.runSync(Codec.json.encode(value))
      assert.deepStrictEqual(Effect.runSync(Codec.json.decode(bytes)), value)
    }
    assert.strictEqual(encodes(deepArray(512)), "EncodeError")
    assert.strictEqual(encodes(deepObject(512)), "EncodeError")
    assert.strictEqual(decodes(nested(512)), "success")
    assert.strictEqual(decodes(nested(513)), "DecodeError")
  })

  it("brackets, commas and escaped quotes inside strings are not structure", () => {
    const tricky = [
      "[".repeat(10_000),
      "\\\"[[[[".repeat(100),
      `${"x".repeat(100)}\\"${"{".repeat(600)}`,
      `${"y".repeat(60)}\\\\`,
      ",".repeat(2_000_000)
    ]
    const bytes = Effect.runSync(Codec.json.encode(tricky))
    assert.deepStrictEqual(Effect.runSync(Codec.json.decode(bytes)), tricky)
    // After a string ending in an escaped backslash, brackets count again.
    assert.strictEqual(decodes(`["${"z".repeat(100)}\\\\", ${nested(600)}]`), "DecodeError")
  })

  it("1,000,000 values round-trip; one more is refused both ways", () => {
    const million = new Array<number>(999_999).fill(0) // the array and its 999,999 elements
    const bytes = Effect.runSync(Codec.json.encode(million))
    assert.isTrue(Array.isArray(Effect.runSync(Codec.json.decode(bytes))))
    assert.strictEqual(encodes([...million, 0]), "EncodeError")
    assert.strictEqual(decodes(`[${new Array(1_000_000).fill("0").join(",")}]`), "DecodeError")
    // Whitespace and empty containers count as the values they are.
    assert.strictEqual(decodes(`[ ${new Array(999_999).fill("[ ]").join(" , ")} ]`), "success")
    assert.strictEqual(decodes(`[ ${new Array(1_000_000).fill("{ }").join(" , ")} ]`), "DecodeError")
    assert.strictEqual(encodes({ rows: new Array(999_998).fill(1) }), "success")
    assert.strictEqual(encodes({ rows: new Array(999_999).fill(1) }), "EncodeError")
  })

  it("more than 16 MiB is refused both ways", () => {
    assert.strictEqual(decodes(new Uint8Array(16 * 1024 * 1024 + 1).fill(0x20)), "DecodeError")
    assert.strictEqual(encodes("x".repeat(16 * 1024 * 1024)), "EncodeError")
    assert.strictEqual(encodes("x".repeat(16 * 1024 * 1024 - 2)), "success")
  })

  it("a value whose getter throws is an EncodeError, not a defect", () => {
    const value = {
      get boom(): number {
        throw new Error("getter failed")
      }
    }
    assert.strictEqual(encodes(value), "EncodeError")
  })
})
