/**
 * `pnpm bench [name…]`: runs the benchmarks one after another, each in its own
 * process so they do not share a heap or JIT state. Without names it runs all
 * of them. Each prints its own table; the numbers in docs/ come from these.
 * The packages are measured as users run them: built (`pnpm build`, which
 * `pnpm bench` runs first), imported from their `dist/`.
 */
import { spawnSync } from "node:child_process"
import { existsSync } from "node:fs"

const all = ["core-hit", "core-miss", "codecs", "redis-hit", "redis-write", "stampede", "many-cold", "xfetch", "hstore-memory", "hstore-hit", "near-hit", "near-coherence", "tracing"]
const asked = process.argv.slice(2)
const names = asked.length > 0 ? asked : all

let failed = 0
for (const name of names) {
  const file = `bench/${name}.ts`
  if (!existsSync(file)) {
    console.error(`bench: no ${file}; known: ${all.join(", ")}`)
    failed++
    continue
  }
  console.log(`\n### ${name}\n`)
  const run = spawnSync("node", ["--import", "tsx", file], { stdio: "inherit" })
  if (run.status !== 0) failed++
}
process.exit(failed === 0 ? 0 : 1)
