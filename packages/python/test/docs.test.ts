/**
 * docs/python-interop.md's Python configurations are the ones the interop
 * tests run (fixtures/driver.py executes the blocks verbatim); this checks
 * that every config the tests use has its block, and that the doc's table
 * pairs each with the TypeScript preset the tests pair it with.
 */
import { assert, describe, it } from "@effect/vitest"
import { type Config, docBlocks, docText, presetSource } from "./configs.ts"

const configs = Object.keys(presetSource) as ReadonlyArray<Config>

describe("docs/python-interop.md", () => {
  it("has a Python block for every config the tests run, the serializers and the two negative configs", () => {
    const blocks = docBlocks()
    const missing = [...configs, "json", "msgpack", "hstore-plugin-defaults", "stock-pickle"].filter((name) => !blocks.has(name))
    assert.deepStrictEqual(missing, [])
    // Every region block defines `region` from the doc's URL, nothing else bound.
    for (const name of configs) assert.match(blocks.get(name) ?? "", /^region = make_region\(/m, name)
  })

  it("pairs each config with the preset the tests use", () => {
    const rows = new Map<string, string>()
    for (const match of docText().matchAll(/^\| `([\w.-]+)` \| [^|]+ \| `(Presets\.[^`]+)` \|$/gm)) {
      rows.set(match[1] as string, match[2] as string)
    }
    for (const config of configs) assert.strictEqual(rows.get(config), presetSource[config], config)
  })

  it("names the plugin 0.5.0's backends, never the 0.4.x hstore name in a config", () => {
    for (const [name, block] of docBlocks()) assert.notInclude(block, "dogpile_backend_redis_advanced_hstore", name)
  })
})
