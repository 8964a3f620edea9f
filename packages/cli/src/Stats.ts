/**
 * `dogpile stats`: what a namespace holds in Redis, found with `SCAN` (never
 * `KEYS`) and sized with `MEMORY USAGE`, bounded by a number of keys.
 *
 * @since 0.1.0
 */
import type { BackendError } from "@dogpile-effect/core"
import type { RedisClient } from "@dogpile-effect/redis"
import { Effect, Option } from "effect"
import type { Cluster, Redis } from "ioredis"
import * as Failure from "./Failure.ts"
import type * as Layout from "./Layout.ts"
import * as Render from "./Render.ts"

/**
 * What `stats` found. Counts cover the keys scanned (all of them unless
 * `truncated`).
 *
 * @example
 * ```ts
 * import type { Stats } from "@dogpile-effect/cli"
 * const perEntry = (s: Stats.Report) => s.entries === 0 ? 0 : s.memoryBytes / s.entries
 * ```
 *
 * @category models
 * @since 0.1.0
 */
export interface Report {
  /** The namespace, or `undefined` for a region with verbatim keys. */
  readonly namespace: string | undefined
  /** The patterns scanned. */
  readonly patterns: ReadonlyArray<string>
  readonly scannedKeys: number
  /** Whether the scan stopped at the limit before covering the namespace. */
  readonly truncated: boolean
  readonly limit: number
  /** Plain string keys (one entry each). */
  readonly plainKeys: number
  /** Hashes (buckets) and the fields they hold. */
  readonly buckets: number
  readonly bucketFields: number
  /** HashBackend's overflow keys (values too long for a bucket field). */
  readonly overflowKeys: number
  readonly otherKeys: number
  /** Entries: plain keys plus bucket fields. */
  readonly entries: number
  /** `MEMORY USAGE` of the scanned keys, summed. */
  readonly memoryBytes: number
  /** Redis TTLs of the scanned keys: how many have none, and the spread of the others (ms). */
  readonly ttl: { readonly none: number; readonly min?: number; readonly median?: number; readonly max?: number }
  /** The region's invalidation marks (epoch ms), if set. */
  readonly marks: { readonly hard?: number; readonly soft?: number }
  /** Tag invalidation marks found (within the limit). */
  readonly tagMarks: number
  /** Dogpile locks held now (within the limit). */
  readonly locksHeld: number
}

/** One key as the pipeline described it. */
interface Described {
  readonly key: Buffer
  readonly type: string
  readonly bytes: number
  readonly pttl: number
  readonly fields: number
}

/** Keys per `SCAN` step (a hint to Redis) and per describing pipeline. */
const PAGE = 500

type Node = Redis

const nodesOf = (client: Redis | Cluster): ReadonlyArray<Node> => ("nodes" in client ? client.nodes("master") : [client])

/** Every key of `pattern` on every node, up to `limit` keys in all. */
const scan = (
  redis: RedisClient.RedisClient["Service"],
  pattern: string,
  limit: number,
  onPage: (node: Node, keys: ReadonlyArray<Buffer>) => Effect.Effect<void, BackendError>
): Effect.Effect<{ readonly seen: number; readonly truncated: boolean }, BackendError> =>
  Effect.gen(function*() {
    let seen = 0
    for (const node of nodesOf(redis.client)) {
      let cursor = "0"
      do {
        const [next, keys] = yield* redis.use("scan", () => node.scanBuffer(cursor, "MATCH", pattern, "COUNT", PAGE))
        cursor = String(next)
        const taken = keys.slice(0, Math.max(0, limit - seen))
        seen += taken.length
        if (taken.length > 0) yield* onPage(node, taken)
        if (seen >= limit && (taken.length < keys.length || cursor !== "0")) return { seen, truncated: true }
      } while (cursor !== "0")
    }
    return { seen, truncated: false }
  })

const numberOf = (reply: [Error | null, unknown] | undefined): number => {
  if (reply === undefined || reply[0] !== null) return 0
  const n = Number(reply[1])
  return Number.isFinite(n) ? n : 0
}

/** TYPE, MEMORY USAGE, PTTL and HLEN of each key, in one pipeline to the node that holds them. */
const describe = (
  redis: RedisClient.RedisClient["Service"],
  node: Node,
  keys: ReadonlyArray<Buffer>
): Effect.Effect<ReadonlyArray<Described>, BackendError> =>
  redis.use("memory usage", async () => {
    const pipeline = node.pipeline()
    for (const key of keys) {
      pipeline.type(key).call("MEMORY", "USAGE", key).pttl(key).hlen(key)
    }
    const replies = (await pipeline.exec()) ?? []
    return keys.map((key, i): Described => {
      const type = replies[4 * i]
      return {
        key,
        type: type === undefined || type[0] !== null ? "none" : String(type[1]),
        bytes: numberOf(replies[4 * i + 1]),
        pttl: numberOf(replies[4 * i + 2]),
        fields: numberOf(replies[4 * i + 3])
      }
    })
  })

const OVERFLOW = Buffer.from("\u0000o:")

interface Tally {
  plainKeys: number
  buckets: number
  bucketFields: number
  overflowKeys: number
  otherKeys: number
  memoryBytes: number
  noTtl: number
  readonly ttls: Array<number>
}

const count = (tally: Tally, described: ReadonlyArray<Described>): void => {
  for (const key of described) {
    if (key.type === "none") continue
    tally.memoryBytes += key.bytes
    if (key.pttl >= 0) tally.ttls.push(key.pttl)
    else tally.noTtl++
    if (key.type === "hash") {
      tally.buckets++
      tally.bucketFields += key.fields
    } else if (key.type === "string" && key.key.includes(OVERFLOW)) tally.overflowKeys++
    else if (key.type === "string") tally.plainKeys++
    else tally.otherKeys++
  }
}

/**
 * Where `stats` looks: the key patterns to scan, the scope of the region's
 * marks, and the patterns of its locks.
 *
 * @example
 * ```ts
 * import type { Stats } from "@dogpile-effect/cli"
 * const scope: Stats.Scope = { namespace: "users", patterns: ["users:*", "users#*"], marks: "users", lockPatterns: ["_lock:users:*"] }
 * ```
 *
 * @category models
 * @since 0.1.0
 */
export interface Scope {
  readonly namespace: string | undefined
  readonly patterns: ReadonlyArray<string>
  /** What is between the braces of the region's marks, `__dogpile__:{…}:invalidated:`. */
  readonly marks: string
  readonly lockPatterns: ReadonlyArray<string>
}

/**
 * The scope of a region: its namespace's plain keys and buckets (and
 * HashBackend's overflow keys `{NS…`), or the keys of `match` (required for
 * regions with verbatim keys).
 *
 * @example
 * ```ts
 * import { Layout, Root, Stats } from "@dogpile-effect/cli"
 * import { Effect, Option } from "effect"
 * const scope = Effect.flatMap(Root.command, (settings) =>
 *   Effect.flatMap(Layout.resolve(settings), (layout) => Stats.scopeOf(layout, settings.region, Option.none())))
 * ```
 *
 * @category constructors
 * @since 0.1.0
 */
export const scopeOf = (
  layout: Layout.Layout,
  region: string,
  match: Option.Option<string>
): Effect.Effect<Scope, Failure.CliFailure> => {
  const { lockPrefix, namespace } = layout
  const marks = namespace ?? region
  if (Option.isSome(match)) {
    return Effect.succeed({ namespace, patterns: [match.value], marks, lockPatterns: [lockPrefix + match.value] })
  }
  if (namespace === undefined) {
    return Effect.fail(Failure.usage("this region keeps keys verbatim (no namespace): give stats --match PATTERN"))
  }
  const patterns = [`${namespace}:*`, `${namespace}#*`]
  return Effect.succeed({
    namespace,
    patterns: layout.hashKeys ? [...patterns, `{${namespace}:*`, `{${namespace}#*`] : patterns,
    marks,
    lockPatterns: [`${lockPrefix}${namespace}:*`, `${lockPrefix}{${namespace}#*`]
  })
}

const spread = (ttls: Array<number>, none: number): Report["ttl"] => {
  if (ttls.length === 0) return { none }
  const sorted = ttls.sort((a, b) => a - b)
  return {
    none,
    min: sorted[0] as number,
    median: sorted[Math.floor(sorted.length / 2)] as number,
    max: sorted[sorted.length - 1] as number
  }
}

const marksOf = (redis: RedisClient.RedisClient["Service"], namespace: string) =>
  redis.use("get marks", (client) =>
    client.mget(`__dogpile__:{${namespace}}:invalidated:hard`, `__dogpile__:{${namespace}}:invalidated:soft`)).pipe(
      Effect.map(([hard, soft]) => ({
        ...(hard == null || !(Number(hard) > 0) ? {} : { hard: Number(hard) }),
        ...(soft == null || !(Number(soft) > 0) ? {} : { soft: Number(soft) })
      }))
    )

/** How many keys match `pattern`, up to `limit`. */
const countKeys = (redis: RedisClient.RedisClient["Service"], pattern: string, limit: number) =>
  Effect.map(scan(redis, pattern, limit, () => Effect.void), ({ seen }) => seen)

/**
 * Scans a namespace: at most `limit` keys of its plain keys and buckets
 * (each described with `TYPE`, `MEMORY USAGE`, `PTTL`, `HLEN` in pipelines),
 * then its invalidation marks, tag marks and held locks. `onProgress` hears
 * the running count after every page.
 *
 * @example
 * ```ts
 * import { Stats } from "@dogpile-effect/cli"
 * import { RedisClient } from "@dogpile-effect/redis"
 * import { Effect } from "effect"
 * const report = Effect.flatMap(RedisClient.RedisClient.asEffect(), (redis) =>
 *   Stats.collect(redis, { namespace: "users", patterns: ["users:*"], marks: "users", lockPatterns: ["_lock:users:*"] }, { limit: 10_000 }))
 * ```
 *
 * @category running
 * @since 0.1.0
 */
export const collect = (
  redis: RedisClient.RedisClient["Service"],
  scope: Scope,
  options: {
    readonly limit: number
    readonly onProgress?: ((scanned: number) => Effect.Effect<void>) | undefined
  }
): Effect.Effect<Report, BackendError> =>
  Effect.gen(function*() {
    const tally: Tally = { plainKeys: 0, buckets: 0, bucketFields: 0, overflowKeys: 0, otherKeys: 0, memoryBytes: 0, noTtl: 0, ttls: [] }
    const { namespace, patterns } = scope
    let scannedKeys = 0
    let truncated = false
    for (const pattern of patterns) {
      if (scannedKeys >= options.limit) {
        truncated = true
        break
      }
      const before = scannedKeys
      let inPattern = 0
      const result = yield* scan(redis, pattern, options.limit - scannedKeys, (node, keys) =>
        describe(redis, node, keys).pipe(
          Effect.tap((described) =>
            Effect.sync(() => {
              count(tally, described)
              inPattern += keys.length
            })
          ),
          Effect.andThen(Effect.suspend(() => options.onProgress?.(before + inPattern) ?? Effect.void))
        ))
      scannedKeys += result.seen
      truncated = truncated || result.truncated
    }
    const marks = yield* marksOf(redis, scope.marks)
    const tagMarks = yield* countKeys(redis, `__dogpile__:{${scope.marks}}:invalidated:tag:*`, options.limit)
    let locksHeld = 0
    for (const pattern of scope.lockPatterns) locksHeld += yield* countKeys(redis, pattern, options.limit)
    const { noTtl, ttls, ...counts } = tally
    return {
      namespace,
      patterns,
      scannedKeys,
      truncated,
      limit: options.limit,
      ...counts,
      entries: counts.plainKeys + counts.bucketFields,
      ttl: spread(ttls, noTtl),
      marks,
      tagMarks,
      locksHeld
    }
  })

const markText = (at: number | undefined, now: number): string => (at === undefined ? "never" : Render.time(at, now))

/**
 * What `dogpile stats` prints for a report.
 *
 * @example
 * ```ts
 * import { Stats } from "@dogpile-effect/cli"
 * const print = (report: Stats.Report) => Stats.render(report, Date.now())
 * ```
 *
 * @category formatting
 * @since 0.1.0
 */
export const render = (report: Report, now: number): string => {
  const { ttl } = report
  const spreadText = ttl.min === undefined
    ? ""
    : `; min ${Render.duration(ttl.min)}, median ${Render.duration(ttl.median ?? 0)}, max ${Render.duration(ttl.max ?? 0)}`
  return Render.lines([
    ["namespace", `${report.namespace ?? "(verbatim keys)"} (${report.patterns.join(" ")})`],
    ["scanned", `${report.scannedKeys} keys${report.truncated ? `, stopped at --limit ${report.limit}` : ", all of them"}`],
    ["entries", String(report.entries)],
    ["plain keys", String(report.plainKeys)],
    ["buckets", `${report.buckets} hashes, ${report.bucketFields} fields`],
    ["overflow keys", String(report.overflowKeys)],
    ["other keys", String(report.otherKeys)],
    ["memory", Render.bytes(report.memoryBytes)],
    ["per entry", report.entries === 0 ? "-" : `${(report.memoryBytes / report.entries).toFixed(1)} B`],
    ["redis ttl", `none on ${ttl.none} keys${spreadText}`],
    ["invalidated", `hard ${markText(report.marks.hard, now)}; soft ${markText(report.marks.soft, now)}`],
    ["tag marks", String(report.tagMarks)],
    ["locks held", String(report.locksHeld)]
  ])
}
