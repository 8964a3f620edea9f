/**
 * From the shared flags to a live region: the Redis client, the backend and
 * lock of its {@link Layout}, and a `Region` configured like the
 * application's, so that the CLI reads and writes exactly the keys and marks
 * the application does.
 *
 * @since 0.1.0
 */
import { type BackendError, CacheKey, type Options, Region } from "@dogpile-effect/core"
import { RedisClient } from "@dogpile-effect/redis"
import { Duration, Effect, Option, Redacted } from "effect"
import * as Failure from "./Failure.ts"
import * as Layout from "./Layout.ts"
import * as RecordedLayout from "./RecordedLayout.ts"
import type { Settings } from "./Root.ts"
import * as TlsProbe from "./TlsProbe.ts"

/**
 * What a command works on: the region, the Redis client under it, and how
 * the region stores its entries.
 *
 * @example
 * ```ts
 * import type { Connect } from "@dogpile-effect/cli"
 * const prefixOf = (target: Connect.Target) => target.layout.namespace ?? "(verbatim keys)"
 * ```
 *
 * @category models
 * @since 0.1.0
 */
export interface Target {
  readonly region: Region.Region<unknown>
  readonly redis: RedisClient.RedisClient["Service"]
  readonly settings: Settings
  readonly layout: Layout.Layout
  /** A key as typed, as the region takes it. */
  readonly parseKey: (text: string) => CacheKey.CacheKey
}

/**
 * The secrets a message must never show: the URL itself and its password
 * (as typed, and percent-decoded).
 *
 * @example
 * ```ts
 * import { Connect } from "@dogpile-effect/cli"
 * import { Redacted } from "effect"
 * Connect.secretsOf(Redacted.make("redis://:s3cret@localhost:6379")).includes("s3cret") // true
 * ```
 *
 * @category secrets
 * @since 0.1.0
 */
export const secretsOf = (url: Redacted.Redacted<string>): ReadonlyArray<string> => {
  const raw = Redacted.value(url)
  const userInfo = /^[A-Za-z][A-Za-z0-9+.-]*:\/\/([^@/]*)@/.exec(raw)?.[1]
  const password = userInfo === undefined || !userInfo.includes(":") ? undefined : userInfo.slice(userInfo.indexOf(":") + 1)
  const decoded = password === undefined ? undefined : safeDecode(password)
  return [raw, password, decoded].filter((s): s is string => s !== undefined && s.length > 0)
}

const safeDecode = (text: string): string | undefined => {
  try {
    return decodeURIComponent(text)
  } catch {
    return undefined
  }
}

/** `--expiration`: "never", a number of milliseconds, or a duration such as "10 minutes". */
const expirationOf = (text: Option.Option<string>): Effect.Effect<Options.DurationOption, Failure.CliFailure> => {
  if (Option.isNone(text) || text.value === "never") return Effect.succeed("never")
  if (/^\d+$/.test(text.value)) return Effect.succeed(Number(text.value))
  // A string Duration.fromInput does not recognise is None: it is checked here, not trusted.
  const input = text.value as Duration.Input
  return Option.isSome(Duration.fromInput(input))
    ? Effect.succeed(input)
    : Effect.fail(
      Failure.usage(`--expiration must be "never", milliseconds or a duration such as "10 minutes", got ${JSON.stringify(text.value)}`)
    )
}

/**
 * A key as typed: `HASH[FIELD]` is a hash key where the layout has hash
 * keys; anything else is a plain key.
 *
 * @example
 * ```ts
 * import { Connect } from "@dogpile-effect/cli"
 * Connect.parseKey("users[42]", true) // CacheKey.hash("users", "42")
 * Connect.parseKey("users[42]", false) // "users[42]"
 * ```
 *
 * @category parsing
 * @since 0.1.0
 */
export const parseKey = (text: string, hashKeys: boolean): CacheKey.CacheKey => {
  const match = hashKeys ? /^([^[]+)\[(.+)\]$/s.exec(text) : null
  return match === null ? text : CacheKey.hash(match[1] as string, match[2] as string)
}

/**
 * A Redis failure over a `rediss://` URL whose server speaks plain Redis,
 * with the message naming that cause (see {@link TlsProbe}); any other
 * failure as it is.
 */
const explainTls = (settings: Settings) => (failure: Failure.CliFailure): Effect.Effect<never, Failure.CliFailure> =>
  failure.exitCode !== Failure.ExitCode.redis
    ? Effect.fail(failure)
    : Effect.flatMap(TlsProbe.explain(settings.url), (why) =>
      Effect.fail(
        Option.match(why, {
          onNone: () => failure,
          onSome: (reason) => Failure.fromError(new Failure.CliFailure({ exitCode: failure.exitCode, reason }), secretsOf(settings.url))
        })
      ))

/**
 * Runs `use` with the region the flags describe, then closes the connection.
 * The region has no store TTL, so the tag marks it writes never expire
 * before the entries they invalidate (its own marks never expire either).
 * Every failure, of `use` included, becomes a {@link Failure.CliFailure}
 * whose message carries no secret; a Redis failure of a `rediss://` URL
 * whose server speaks plain Redis says so.
 *
 * @example
 * ```ts
 * import { Connect, Root } from "@dogpile-effect/cli"
 * import { Effect } from "effect"
 * const hasAnswer = Effect.flatMap(Root.command, (settings) =>
 *   Connect.withRegion(settings, (target) => target.region.has("answer")))
 * ```
 *
 * @category running
 * @since 0.1.0
 */
export const withRegion = <A, E, R>(
  given: Settings,
  use: (target: Target) => Effect.Effect<A, E, R>
) =>
  Effect.gen(function*() {
    const recorded = yield* Effect.provide(RecordedLayout.read(given.region), Layout.client(given))
    const settings = RecordedLayout.merge(given, recorded)
    const layout = yield* Layout.resolve(settings)
    const expiration = yield* expirationOf(settings.expiration)
    const connected = Effect.gen(function*() {
      const redis = yield* RedisClient.RedisClient
      const region = yield* Region.make<unknown>({ ...layout.region, name: settings.region, expiration })
      return yield* use({ region, redis, settings, layout, parseKey: (text) => parseKey(text, layout.hashKeys) })
    })
    return yield* Effect.provide(connected, layout.layer)
  }).pipe(
    Effect.scoped,
    Effect.mapError((error) => Failure.fromError(error, secretsOf(given.url))),
    Effect.catch(explainTls(given))
  )

/** The Redis key a plain key lives in, or the bucket of a hash key (before any `--bucketing`). */
const redisKeyOf = (layout: Layout.Layout, key: CacheKey.CacheKey): string => {
  const { namespace } = layout
  if (typeof key === "string") return namespace === undefined ? key : `${namespace}:${key}`
  return namespace === undefined ? key.hash : `${namespace}#${key.hash}`
}

/**
 * The Redis TTL (ms) of the key an entry lives in: its own key, or the
 * bucket of a hash key. `-1`: none; `-2`: no such key (e.g. a plain key that
 * `--bucketing` keeps in a bucket).
 *
 * @example
 * ```ts
 * import { Connect } from "@dogpile-effect/cli"
 * const ttlOf = Connect.redisTtl
 * ```
 *
 * @category running
 * @since 0.1.0
 */
export const redisTtl = (target: Target, key: CacheKey.CacheKey): Effect.Effect<number, BackendError> =>
  target.redis.use("pttl", (client) => client.pttl(redisKeyOf(target.layout, key)))

/** Whether Redis holds anything under the key an entry would live in (unknown under `--bucketing`). */
const stored = (target: Target, key: CacheKey.CacheKey): Effect.Effect<boolean, BackendError> => {
  if (Layout.bucketingName(target.settings) !== "none") return Effect.succeed(false)
  const redisKey = redisKeyOf(target.layout, key)
  return Effect.map(
    target.redis.use(
      "exists",
      (client) => typeof key === "string" ? client.exists(redisKey) : client.hexists(redisKey, key.field)
    ),
    (n) => n > 0
  )
}

/**
 * Why a key has no readable entry: none at all, or one that does not decode
 * with the layout given (exit code 1 either way).
 *
 * @example
 * ```ts
 * import { Connect } from "@dogpile-effect/cli"
 * const explain = Connect.missing
 * ```
 *
 * @category running
 * @since 0.1.0
 */
export const missing = (
  target: Target,
  key: CacheKey.CacheKey,
  typed: string
): Effect.Effect<never, Failure.CliFailure | BackendError> =>
  Effect.flatMap(
    stored(target, key),
    (found) => Effect.fail(found ? Failure.undecodable(typed, "fresh", target.layout.describe) : Failure.notFound(typed))
  )
