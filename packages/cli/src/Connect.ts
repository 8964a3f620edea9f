/**
 * From the shared flags to a live region: the Redis client, the backend
 * (`RedisBackend`, or `HashBackend` with `--hash-storage`), the `RedisLock`
 * and a `Region` configured like the application's, so that the CLI reads
 * and writes exactly the keys and marks the application does.
 *
 * @since 0.2.0
 */
import { type Backend, type BackendError, CacheKey, Codec, type CodecShape, Envelope, type Lock, type Options, Region } from "@dogpile-effect/core"
import { Cbor, Msgpack } from "@dogpile-effect/codecs"
import { Bucketing, HashBackend } from "@dogpile-effect/hstore"
import { RedisBackend, RedisClient, RedisLock } from "@dogpile-effect/redis"
import { Duration, Effect, Layer, Option, Redacted, type Scope } from "effect"
import * as Failure from "./Failure.ts"
import type { Settings } from "./Root.ts"

/**
 * What a command works on: the region, the Redis client under it, and the
 * region's namespace (the prefix of its keys and marks).
 *
 * @example
 * ```ts
 * import type { Connect } from "@dogpile-effect/cli"
 * const prefixOf = (target: Connect.Target) => `${target.namespace}:`
 * ```
 *
 * @category models
 * @since 0.2.0
 */
export interface Target {
  readonly region: Region.Region<unknown>
  readonly redis: RedisClient.RedisClient["Service"]
  readonly namespace: string
  readonly settings: Settings
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
 * @since 0.2.0
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

const envelopeOf = (name: Settings["envelope"]) => {
  switch (name) {
    case "full":
      return Envelope.full()
    case "compact":
      return Envelope.compact()
    case "packed":
      return Envelope.packed()
    case "raw":
      return Envelope.raw
  }
}

const codecOf = (name: Settings["codec"]): CodecShape => {
  switch (name) {
    case "json":
      return Codec.json
    case "msgpack":
      return Msgpack.codec
    case "cbor":
      return Cbor.codec
  }
}

const bucketingOf = (settings: Settings): Effect.Effect<Bucketing.Bucketing | undefined, Failure.CliFailure> => {
  if (settings.bucketing === "none") {
    return Option.isSome(settings.bucketSize)
      ? Effect.fail(Failure.usage("--bucket-size needs --bucketing id or number"))
      : Effect.succeed(undefined)
  }
  if (!settings.hashStorage) return Effect.fail(Failure.usage("--bucketing needs --hash-storage"))
  if (settings.bucketing === "id") return Effect.succeed(Bucketing.byId(Option.match(settings.bucketSize, { onNone: () => ({}), onSome: (size) => ({ size }) })))
  return Option.match(settings.bucketSize, {
    onNone: () => Effect.fail(Failure.usage("--bucketing number needs --bucket-size")),
    onSome: (size) => Effect.succeed(Bucketing.byNumber({ size }))
  })
}

const backendLayer = (settings: Settings, bucketing: Bucketing.Bucketing | undefined) =>
  settings.hashStorage
    ? HashBackend.layer(bucketing === undefined ? {} : { bucketing })
    : RedisBackend.layer()

const storage = (settings: Settings, bucketing: Bucketing.Bucketing | undefined) =>
  Layer.mergeAll(backendLayer(settings, bucketing), RedisLock.layer()).pipe(
    Layer.provideMerge(RedisClient.layer({ url: settings.url, cluster: settings.cluster }))
  )

/**
 * The region the flags describe, over the backend and lock in context. Its
 * `storeTtl` is `"never"`, so the tag marks it writes never expire before
 * the entries they invalidate (the region's own marks never expire either).
 *
 * @example
 * ```ts
 * import { Connect } from "@dogpile-effect/cli"
 * const build = Connect.makeRegion
 * ```
 *
 * @category constructors
 * @since 0.2.0
 */
export const makeRegion = (
  settings: Settings
): Effect.Effect<Region.Region<unknown>, Failure.CliFailure, Backend | Lock | Scope.Scope> =>
  Effect.gen(function*() {
    const expiration = yield* expirationOf(settings.expiration)
    return yield* Region.make<unknown>({
      name: settings.region,
      namespace: Option.getOrElse(settings.namespace, () => settings.region),
      envelope: envelopeOf(settings.envelope),
      codec: codecOf(settings.codec),
      expiration,
      storeTtl: "never"
    })
  }).pipe(Effect.mapError((error) => Failure.fromError(error, [])))

/** `--expiration`: "never", a number of milliseconds, or a duration such as "10 minutes". */
const expirationOf = (text: Option.Option<string>): Effect.Effect<Options.DurationOption, Failure.CliFailure> => {
  if (Option.isNone(text) || text.value === "never") return Effect.succeed("never")
  if (/^\d+$/.test(text.value)) return Effect.succeed(Number(text.value))
  // A string Duration.fromInput does not recognise is None: it is checked here, not trusted.
  const input = text.value as Duration.Input
  return Option.isSome(Duration.fromInput(input))
    ? Effect.succeed(input)
    : Effect.fail(Failure.usage(`--expiration must be "never", milliseconds or a duration such as "10 minutes", got ${JSON.stringify(text.value)}`))
}

/**
 * Runs `use` with the region the flags describe, then closes the connection.
 * Every failure, of `use` included, becomes a {@link Failure.CliFailure}
 * whose message carries no secret.
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
 * @since 0.2.0
 */
export const withRegion = <A, E, R>(
  settings: Settings,
  use: (target: Target) => Effect.Effect<A, E, R>
): Effect.Effect<A, Failure.CliFailure, Exclude<R, Scope.Scope>> => {
  const secrets = secretsOf(settings.url)
  const namespace = Option.getOrElse(settings.namespace, () => settings.region)
  const connected = Effect.gen(function*() {
    const redis = yield* RedisClient.RedisClient
    const region = yield* makeRegion(settings)
    return yield* use({ region, redis, namespace, settings })
  })
  return bucketingOf(settings).pipe(
    Effect.flatMap((bucketing) => Effect.provide(connected, storage(settings, bucketing))),
    Effect.scoped,
    Effect.mapError((error) => Failure.fromError(error, secrets))
  )
}

/**
 * A key as typed: `HASH[FIELD]` is a hash key under `--hash-storage`;
 * anything else is a plain key.
 *
 * @example
 * ```ts
 * import { Connect } from "@dogpile-effect/cli"
 * Connect.parseKey("users[42]", true) // CacheKey.hash("users", "42")
 * Connect.parseKey("users[42]", false) // "users[42]"
 * ```
 *
 * @category parsing
 * @since 0.2.0
 */
export const parseKey = (text: string, hashStorage: boolean): CacheKey.CacheKey => {
  const match = hashStorage ? /^([^[]+)\[(.+)\]$/s.exec(text) : null
  return match === null ? text : CacheKey.hash(match[1] as string, match[2] as string)
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
 * @since 0.2.0
 */
export const redisTtl = (
  target: Target,
  key: CacheKey.CacheKey,
  info: Region.EntryInfo
): Effect.Effect<number, BackendError> =>
  target.redis.use("pttl", (client) =>
    client.pttl(typeof key === "string" ? info.backendKey : `${target.namespace}#${key.hash}`))

/** Whether Redis holds anything under the key an entry would live in (unknown under `--bucketing`). */
const stored = (target: Target, key: CacheKey.CacheKey): Effect.Effect<boolean, BackendError> => {
  if (target.settings.bucketing !== "none") return Effect.succeed(false)
  return typeof key === "string"
    ? Effect.map(target.redis.use("exists", (client) => client.exists(`${target.namespace}:${key}`)), (n) => n > 0)
    : Effect.map(
      target.redis.use("hexists", (client) => client.hexists(`${target.namespace}#${key.hash}`, key.field)),
      (n) => n > 0
    )
}

/**
 * Why a key has no readable entry: none at all, or one that does not decode
 * with the `--envelope` and `--codec` given (exit code 1 either way).
 *
 * @example
 * ```ts
 * import { Connect } from "@dogpile-effect/cli"
 * const explain = Connect.missing
 * ```
 *
 * @category running
 * @since 0.2.0
 */
export const missing = (
  target: Target,
  key: CacheKey.CacheKey,
  typed: string
): Effect.Effect<never, Failure.CliFailure | BackendError> =>
  Effect.flatMap(
    stored(target, key),
    (found) => Effect.fail(found ? Failure.undecodable(typed, "fresh", target.settings) : Failure.notFound(typed))
  )
