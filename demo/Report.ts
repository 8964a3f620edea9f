/**
 * The demo's outputs: a terminal table, a Markdown section, the JSON results
 * and an SVG bar chart of bytes per entry.
 */
import type { Result } from "./Measure.ts"

/** Facts about the run, stored with the results. */
export interface RunInfo {
  readonly date: string
  readonly redisVersion: string
  readonly node: string
  readonly cpus: number
  readonly scale: number
  readonly entries: number
  readonly totalSeconds: number
  readonly command: string
}

/** The best layout of dogpile_backend_redis_advanced's own demo (hash storage, msgpack), in bytes per entry. */
export const SEED_BEST_BYTES_PER_ENTRY = 19.6

/** The issue's goals, in bytes per entry (the run-time goal is in seconds). */
export const GOALS = { best: 8, bestWithEntryExpiry: 12, fullRunSeconds: 300 } as const

/** One table row, formatted. */
export interface Row {
  readonly strategy: string
  readonly bytes: string
  readonly human: string
  readonly relative: string
  readonly perEntry: string
  readonly ttl: string
  readonly envelopeExpiry: string
  readonly backend: string
  readonly codec: string
  readonly prime: string
}

const HEADERS: Row = {
  strategy: "strategy",
  bytes: "used_memory",
  human: "human",
  relative: "% of baseline",
  perEntry: "B/entry",
  ttl: "TTL in Redis?",
  envelopeExpiry: "expiry in envelope?",
  backend: "backend",
  codec: "envelope + codec",
  prime: "prime time"
}

/** `1234567` → `1.18M`, as Redis' used_memory_human writes it. */
export const human = (bytes: number): string => {
  const units = ["B", "K", "M", "G"]
  let value = bytes
  let unit = 0
  while (Math.abs(value) >= 1024 && unit < units.length - 1) {
    value /= 1024
    unit++
  }
  return unit === 0 ? `${value}B` : `${value.toFixed(2)}${units[unit]}`
}

const ttlText = (result: Result): string =>
  result.redisTtl === "key" ? "yes, per key" : result.redisTtl === "bucket" ? "yes, per bucket" : "no"

/** The rows of the table, in result order. */
export const rows = (results: ReadonlyArray<Result>, baseline: Result | undefined): ReadonlyArray<Row> =>
  results.map((result) => ({
    strategy: result.id,
    bytes: result.usedMemory.toLocaleString("en-US"),
    human: human(result.usedMemory),
    relative: baseline === undefined ? "–" : `${((result.usedMemory / baseline.usedMemory) * 100).toFixed(2)}%`,
    perEntry: result.bytesPerEntry.toFixed(1),
    ttl: ttlText(result),
    envelopeExpiry: result.entryExpiry ? `yes (${result.envelope})` : "no",
    backend: result.layout === "keys" ? result.backend : `${result.backend}, ${result.layout}`,
    codec: `${result.envelope} + ${result.codec}`,
    prime: `${(result.primeMs / 1000).toFixed(1)} s`
  }))

const COLUMNS = Object.keys(HEADERS) as ReadonlyArray<keyof Row>
const RIGHT: ReadonlySet<keyof Row> = new Set(["bytes", "human", "relative", "perEntry", "prime"])

/** A plain-text table for the terminal. */
export const table = (all: ReadonlyArray<Row>): string => {
  const lines = [HEADERS, ...all]
  const widths = COLUMNS.map((column) => Math.max(...lines.map((row) => row[column].length)))
  const format = (row: Row) =>
    COLUMNS.map((column, i) =>
      RIGHT.has(column) ? row[column].padStart(widths[i] ?? 0) : row[column].padEnd(widths[i] ?? 0)
    ).join("  ").trimEnd()
  return [format(HEADERS), widths.map((w) => "─".repeat(w)).join("  "), ...all.map(format)].join("\n")
}

/** A Markdown table. */
export const markdownTable = (all: ReadonlyArray<Row>): string => {
  const format = (row: Row) => `| ${COLUMNS.map((column) => row[column]).join(" | ")} |`
  const rule = `|${COLUMNS.map((column) => (RIGHT.has(column) ? "---:" : "---")).join("|")}|`
  return [format(HEADERS), rule, ...all.map(format)].join("\n")
}

/** The best strategy overall and the best one that keeps per-entry expiry. */
export const bests = (results: ReadonlyArray<Result>) => {
  const byBytes = [...results].sort((a, b) => a.usedMemory - b.usedMemory)
  return { best: byBytes[0], bestWithEntryExpiry: byBytes.find((result) => result.entryExpiry) }
}

/** The goals, met or not, as sentences. */
export const goalLines = (results: ReadonlyArray<Result>, info: RunInfo): ReadonlyArray<string> => {
  const { best, bestWithEntryExpiry } = bests(results)
  const mark = (ok: boolean) => (ok ? "met" : "NOT met")
  const lines: Array<string> = []
  if (best !== undefined) {
    lines.push(
      `Best strategy: ${best.id}, ${best.bytesPerEntry.toFixed(2)} B/entry ` +
        `(goal ≤ ${GOALS.best}: ${mark(best.bytesPerEntry <= GOALS.best)})`
    )
  }
  if (bestWithEntryExpiry !== undefined) {
    lines.push(
      `Best with per-entry expiry: ${bestWithEntryExpiry.id}, ${bestWithEntryExpiry.bytesPerEntry.toFixed(2)} B/entry ` +
        `(goal ≤ ${GOALS.bestWithEntryExpiry}: ${mark(bestWithEntryExpiry.bytesPerEntry <= GOALS.bestWithEntryExpiry)})`
    )
  }
  lines.push(
    `Full run: ${info.totalSeconds.toFixed(0)} s on ${info.cpus} cores ` +
      `(goal < ${GOALS.fullRunSeconds} s: ${mark(info.totalSeconds < GOALS.fullRunSeconds)}${
        info.scale === 1 ? "" : `; this run was at scale ${info.scale}`
      })`
  )
  return lines
}

const escapeXml = (text: string): string =>
  text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;")

/** A horizontal bar chart of bytes per entry, with the seed plugin's best layout as the reference line. */
export const svg = (results: ReadonlyArray<Result>, info: RunInfo): string => {
  const labelWidth = 230
  const chartWidth = 560
  const rowHeight = 22
  const top = 62
  const width = labelWidth + chartWidth + 90
  const height = top + results.length * rowHeight + 40
  const max = Math.max(...results.map((result) => result.bytesPerEntry), SEED_BEST_BYTES_PER_ENTRY)
  const x = (value: number) => labelWidth + (value / max) * chartWidth
  const colour = (result: Result) =>
    result.layout === "keys" ? (result.redisTtl === "key" ? "#c0504d" : "#e8a33d") : result.entryExpiry ? "#4f81bd" : "#3a9a5b"
  const bars = results.map((result, i) => {
    const y = top + i * rowHeight
    const w = Math.max(1, x(result.bytesPerEntry) - labelWidth)
    return [
      `<text x="${labelWidth - 8}" y="${y + 15}" text-anchor="end">${escapeXml(result.id)}</text>`,
      `<rect x="${labelWidth}" y="${y + 3}" width="${w.toFixed(1)}" height="${rowHeight - 6}" fill="${colour(result)}"/>`,
      `<text x="${(labelWidth + w + 6).toFixed(1)}" y="${y + 15}">${result.bytesPerEntry.toFixed(1)}</text>`
    ].join("")
  })
  const reference = (value: number, label: string, anchor: "start" | "end") => {
    const gx = x(value)
    const tx = anchor === "end" ? gx - 3 : gx + 3
    return `<line x1="${gx.toFixed(1)}" y1="${top - 14}" x2="${gx.toFixed(1)}" y2="${top + results.length * rowHeight}" ` +
      `stroke="#555" stroke-dasharray="4 3"/><text x="${tx.toFixed(1)}" y="${top - 6}" text-anchor="${anchor}" ` +
      `font-size="11">${escapeXml(label)}</text>`
  }
  const legend = [
    ["#c0504d", "keys + TTL"],
    ["#e8a33d", "keys, no TTL"],
    ["#4f81bd", "buckets, per-entry expiry"],
    ["#3a9a5b", "buckets, payload only"]
  ].map(([fill, text], i) =>
    `<rect x="${labelWidth + i * 165}" y="${height - 24}" width="12" height="12" fill="${fill}"/>` +
    `<text x="${labelWidth + i * 165 + 16}" y="${height - 14}" font-size="11">${escapeXml(text ?? "")}</text>`
  )
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" ` +
    `font-family="sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="#fff"/>`,
    `<text x="${width / 2}" y="20" text-anchor="middle" font-size="14" font-weight="bold">` +
    `Redis used_memory per cache entry (bytes), ${info.entries.toLocaleString("en-US")} entries, Redis ${
      escapeXml(info.redisVersion)
    }</text>`,
    reference(SEED_BEST_BYTES_PER_ENTRY, `dogpile_backend_redis_advanced's best layout: ${SEED_BEST_BYTES_PER_ENTRY} B/entry`, "start"),
    ...bars,
    ...legend,
    `</svg>`,
    ""
  ].join("\n")
}

/** Text for a Markdown table cell (a `|` would end the cell, even inside backticks). */
const cell = (text: string): string => text.replace(/\|/g, "\\|")

/** Samples of how each strategy stores a few entries, as Markdown. */
export const samplesMarkdown = (results: ReadonlyArray<Result>): string =>
  results.map((result) =>
    [
      `**${result.id}** (${result.note}; ${result.redisKeys.toLocaleString("en-US")} Redis keys)`,
      "",
      "| key | stored at | bytes | stored value | Redis encoding | TTL |",
      "|---|---|---:|---|---|---|",
      ...result.samples.map((s) =>
        `| \`${cell(s.key)}\` | \`${cell(s.location)}\` | ${s.storedLength} | \`${cell(s.stored)}\` | ${s.encoding} | ${s.ttl} |`
      ),
      ""
    ].join("\n")
  ).join("\n")

/** The whole docs/demo.md. */
export const markdown = (results: ReadonlyArray<Result>, baseline: Result | undefined, info: RunInfo): string =>
  [
    "# Demo: Redis memory per storage strategy",
    "",
    `Reproduce with \`${info.command}\` (starts its own \`redis-server\` unless \`REDIS_URL\` is set; ` +
    "`--scale 0.01` for a quick run).",
    "",
    `Run of ${info.date}: Redis ${info.redisVersion}, Node ${info.node}, ${info.cpus} cores, ` +
    `${info.entries.toLocaleString("en-US")} entries (scale ${info.scale}), ${info.totalSeconds.toFixed(0)} s in all.`,
    "",
    "The dataset is the seed's demo: the integers 0 … 999,999 with value `i × 10`; for each of 6 prefixes " +
    "10,000 entries `prefix|i` → `{ one: i × 399, two: prefix }`; for each of 4 more prefixes 10,000 entries " +
    "`prefix|i` → the prefix. Each strategy starts from a flushed server and primes the dataset with " +
    "`region.setMany`; used_memory is `INFO memory` after priming minus before. Baseline (100%) is " +
    "dogpile's default layout: full envelope, JSON, one key per entry, Redis TTL.",
    "",
    markdownTable(rows(results, baseline)),
    "",
    "![bytes per entry](demo-chart.svg)",
    "",
    "## Goals",
    "",
    ...goalLines(results, info).map((line) => `- ${line}`),
    "",
    "## What the new rows do",
    "",
    "- **integer-aware codec** (`IntegerAware`): integers are stored as their decimal text, strings as UTF-8, " +
    "anything else as `0xFF` + CBOR. Redis stores integer-looking text as an integer (in a hash listpack: " +
    "1–9 bytes), which binary codecs (MessagePack, CBOR) lose.",
    "- **byNumber buckets** (`Bucketing.byNumber` in `@dogpile-effect/hstore`): a key ending in a " +
    "number `n` goes to the hash `prefix#⌊n / size⌋`, field `n mod size`. Fields below 128 cost 2 bytes in a " +
    "listpack and every bucket stays below Redis 7.0's 512-entry listpack limit. `Bucketing.byId` (the hstore " +
    "package's automatic bucketing) splits decimal digits instead, so buckets hold 100 fields and fields like `07` " +
    "are strings. The size (default 205, `--bucket-size` to change) was chosen by a sweep on this dataset " +
    "(100 … 512 fields: 10.2 – 11.2 B/entry for raw-intaware-numbucket); jemalloc's size classes make the cost " +
    "of a listpack jump in steps, so the best size depends on the value sizes.",
    "- **list positions** (`ListBackend` in `@dogpile-effect/hstore`): a key ending in a number `n` is position " +
    "`n mod 1000` of the Redis list `prefix#⌊n / 1000⌋`, so an entry costs only its value's listpack bytes (a " +
    "listpack integer for `\"9999990\"`: 5 bytes) and no field name (2–3 bytes in a hash), and a list of 1,000 " +
    "small entries spreads its key, TTL and allocator rounding over 1,000 entries. Every row here uses Redis' " +
    "default configuration (lists are quicklists of 8 KB listpack nodes, `list-max-listpack-size -2`).",
    "- **packed envelope** (`Envelope.packed` in `@dogpile-effect/core`): an integer payload " +
    "(32-bit) and its creation second (31 bits since 2024) in one 63-bit integer, so an entry with per-entry " +
    "expiry is still one listpack integer (10 bytes); other payloads fall back to the compact envelope.",
    "- **schema codec** (`demo/DemoValue.ts`, `SchemaCodec` over the integer-aware codec): the dataset's records " +
    "`{ one, two }` are stored positionally as `[one, two]`, so the field names live in the schema instead of in " +
    "60,000 stored values.",
    "- Rows ending in `-lru` have no Redis TTL at all: only for a server with an eviction policy.",
    "",
    "## Seed rows",
    "",
    "| seed demo row | ours |",
    "|---|---|",
    ...results.filter((result) => result.seedRow !== null).map((result) => `| ${result.seedRow} | ${result.id} |`),
    "",
    "## How each strategy stores a few entries",
    "",
    samplesMarkdown(results)
  ].join("\n")
