/**
 * The subcommands of `dogpile`: each reads the shared flags, opens the
 * region they describe, does one thing and prints what it found.
 *
 * @since 0.1.0
 */
import { Clock, Console, Effect, Option } from "effect"
import { Argument, Command, Flag } from "effect/cli"
import * as Connect from "./Connect.ts"
import * as Failure from "./Failure.ts"
import * as Render from "./Render.ts"
import * as Root from "./Root.ts"
import * as Stats from "./Stats.ts"

const keyArgument = Argument.String("key").pipe(
  Argument.withDescription("The key as the application gives it (without the namespace); HASH[FIELD] for a hash key")
)

const hardFlag = Flag.Boolean("hard").pipe(
  Flag.withDescription("Hard: the entries become misses (default soft: stale, one caller regenerates)"),
  Flag.withDefault(false)
)

const printed = (settings: Root.Settings, value: unknown, text: string) =>
  Console.log(settings.json ? Render.json(value) : text)

/**
 * `dogpile inspect KEY`: an entry's metadata, read from its headers without
 * decoding the value. Exit code 1 when there is no entry.
 *
 * @example
 * ```ts
 * import { Commands } from "@dogpile-effect/cli"
 * Commands.inspect.name // "inspect"
 * ```
 *
 * @category commands
 * @since 0.1.0
 */
export const inspect = Command.make(
  "inspect",
  { key: keyArgument },
  Effect.fn(function*({ key }) {
    const settings = yield* Root.command
    yield* Connect.withRegion(settings, (target) =>
      Effect.gen(function*() {
        const cacheKey = target.parseKey(key)
        const info = yield* target.region.inspect(cacheKey)
        if (Option.isNone(info)) return yield* Connect.missing(target, cacheKey, key)
        const redisTtlMs = yield* Connect.redisTtl(target, cacheKey)
        const now = yield* Clock.currentTimeMillis
        yield* printed(settings, { ...info.value, redisTtlMs }, Render.entry(info.value, redisTtlMs, now))
      }))
  })
).pipe(
  Command.withDescription("Show an entry's metadata: state, created at, expires at, version, size, tags, creator time"),
  Command.withExamples([{ command: "dogpile inspect user:42 --region users --expiration \"10 minutes\"", description: "The metadata of users:user:42, judged against a 10-minute expiration" }])
)

/**
 * `dogpile get KEY`: the decoded value as JSON, fresh or stale (not a
 * hard-invalidated one). Exit code 1 when there is none.
 *
 * @example
 * ```ts
 * import { Commands } from "@dogpile-effect/cli"
 * Commands.get.name // "get"
 * ```
 *
 * @category commands
 * @since 0.1.0
 */
export const get = Command.make(
  "get",
  { key: keyArgument },
  Effect.fn(function*({ key }) {
    const settings = yield* Root.command
    yield* Connect.withRegion(settings, (target) =>
      Effect.gen(function*() {
        const cacheKey = target.parseKey(key)
        const value = yield* target.region.get(cacheKey, { ignoreExpiration: true })
        if (Option.isSome(value)) return yield* Console.log(Render.json(value.value))
        const info = yield* target.region.inspect(cacheKey)
        return yield* Option.isNone(info)
          ? Connect.missing(target, cacheKey, key)
          : Failure.undecodable(key, info.value.state, target.layout.describe)
      }))
  })
).pipe(
  Command.withDescription("Print an entry's value as JSON (decoded with --envelope and --codec)"),
  Command.withExamples([{ command: "dogpile get user:42 --region users --codec msgpack", description: "The value of users:user:42, stored with MessagePack, as JSON" }])
)

/**
 * `dogpile delete KEY...`: deletes entries (keys without one are ignored).
 *
 * @example
 * ```ts
 * import { Commands } from "@dogpile-effect/cli"
 * Commands.remove.name // "delete"
 * ```
 *
 * @category commands
 * @since 0.1.0
 */
export const remove = Command.make(
  "delete",
  { keys: keyArgument.pipe(Argument.variadic({ min: 1 })) },
  Effect.fn(function*({ keys }) {
    const settings = yield* Root.command
    yield* Connect.withRegion(settings, ({ parseKey, region }) =>
      Effect.andThen(
        region.deleteMany(keys.map(parseKey)),
        printed(settings, { deleted: keys }, `deleted ${keys.join(" ")}`)
      ))
  })
).pipe(
  Command.withDescription("Delete entries"),
  Command.withExamples([{ command: "dogpile delete user:42 user:43 --region users", description: "Delete two entries" }])
)

/**
 * `dogpile invalidate [--hard]`: sets the region's invalidation mark, seen
 * by every process within its refresh window (1 s by default).
 *
 * @example
 * ```ts
 * import { Commands } from "@dogpile-effect/cli"
 * Commands.invalidate.name // "invalidate"
 * ```
 *
 * @category commands
 * @since 0.1.0
 */
export const invalidate = Command.make(
  "invalidate",
  { hard: hardFlag },
  Effect.fn(function*({ hard }) {
    const settings = yield* Root.command
    yield* Connect.withRegion(settings, ({ region }) =>
      Effect.andThen(
        region.invalidate({ hard }),
        printed(settings, { region: settings.region, hard }, `invalidated region ${settings.region} (${hard ? "hard" : "soft"})`)
      ))
  })
).pipe(
  Command.withDescription("Invalidate every entry of the region created before now"),
  Command.withExamples([{ command: "dogpile invalidate --hard --region users", description: "Every entry of users created until now becomes a miss" }])
)

/**
 * `dogpile invalidate-tags TAG... [--hard]`: invalidates every entry
 * created before now that carries one of the tags.
 *
 * @example
 * ```ts
 * import { Commands } from "@dogpile-effect/cli"
 * Commands.invalidateTags.name // "invalidate-tags"
 * ```
 *
 * @category commands
 * @since 0.1.0
 */
export const invalidateTags = Command.make(
  "invalidate-tags",
  { tags: Argument.String("tag").pipe(Argument.withDescription("A tag"), Argument.variadic({ min: 1 })), hard: hardFlag },
  Effect.fn(function*({ hard, tags }) {
    const settings = yield* Root.command
    yield* Connect.withRegion(settings, ({ region }) =>
      Effect.andThen(
        region.invalidateTags(tags, { hard }),
        printed(settings, { tags, hard }, `invalidated tags ${tags.join(" ")} (${hard ? "hard" : "soft"})`)
      ))
  })
).pipe(
  Command.withDescription("Invalidate every entry created before now that carries one of the tags"),
  Command.withExamples([{ command: "dogpile invalidate-tags team:7 --region users", description: "Entries tagged team:7 become stale: one caller regenerates each" }])
)

/**
 * `dogpile lock KEY`: whether the key's dogpile lock is held, and the lease
 * left (from the lock key's `PTTL`).
 *
 * @example
 * ```ts
 * import { Commands } from "@dogpile-effect/cli"
 * Commands.lock.name // "lock"
 * ```
 *
 * @category commands
 * @since 0.1.0
 */
export const lock = Command.make(
  "lock",
  { key: keyArgument },
  Effect.fn(function*({ key }) {
    const settings = yield* Root.command
    yield* Connect.withRegion(settings, ({ parseKey, region }) =>
      Effect.flatMap(
        region.lockStatus(parseKey(key)),
        (status) => printed(settings, status, Render.lock(status))
      ))
  })
).pipe(
  Command.withDescription("Show whether a key's dogpile lock is held, and the lease left"),
  Command.withExamples([{ command: "dogpile lock user:42 --region users", description: "Is a creator of users:user:42 running somewhere?" }])
)

const limitFlag = Flag.Int("limit").pipe(
  Flag.withDescription("Most keys to scan (each is sized with MEMORY USAGE)"),
  Flag.withDefault(10_000)
)

const matchFlag = Flag.String("match").pipe(
  Flag.withDescription("Scan the keys of this SCAN pattern instead of the namespace's (needed for --python regions)"),
  Flag.optional
)

const progress = (settings: Root.Settings) =>
  settings.json || process.stderr.isTTY !== true
    ? undefined
    : (scanned: number) => Effect.sync(() => void process.stderr.write(`\rscanned ${scanned} keys`))

/**
 * `dogpile stats [--limit N] [--match PATTERN]`: counts and sizes the namespace's keys with
 * `SCAN` and `MEMORY USAGE` (never `KEYS`), at most `--limit` keys.
 *
 * @example
 * ```ts
 * import { Commands } from "@dogpile-effect/cli"
 * Commands.stats.name // "stats"
 * ```
 *
 * @category commands
 * @since 0.1.0
 */
export const stats = Command.make(
  "stats",
  { limit: limitFlag, match: matchFlag },
  Effect.fn(function*({ limit, match }) {
    const settings = yield* Root.command
    if (limit < 1) return yield* Failure.usage(`--limit must be at least 1, got ${limit}`)
    const onProgress = progress(settings)
    yield* Connect.withRegion(settings, ({ layout, redis }) =>
      Effect.gen(function*() {
        const scope = yield* Stats.scopeOf(layout, settings.region, match)
        const report = yield* Stats.collect(redis, scope, {
          limit,
          ...(onProgress === undefined ? {} : { onProgress })
        })
        if (onProgress !== undefined) yield* Effect.sync(() => process.stderr.write("\r\u001b[K"))
        const now = yield* Clock.currentTimeMillis
        yield* printed(settings, report, Stats.render(report, now))
      }))
  })
).pipe(
  Command.withDescription("Count and size the namespace's keys, buckets, marks and locks (SCAN + MEMORY USAGE)"),
  Command.withExamples([{ command: "dogpile stats --region users --limit 50000", description: "Count and size up to 50,000 keys of the users namespace" }])
)
