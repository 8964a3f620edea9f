/**
 * The layout a region recorded in Redis when it was built
 * (`__dogpile__:layout:<name>`, see `Storage.LAYOUT_KEY_PREFIX` in
 * `@dogpile-effect/core`): storage, namespace, envelope, codec, bucketing,
 * Python preset. It fills in the layout flags the operator left out, so
 * `dogpile inspect --region users user:42` needs no others; a flag given
 * always wins, and a flag that shapes the storage (`--python`,
 * `--hash-storage`, `--bucketing`) makes the recorded storage ignored.
 *
 * @since 0.1.0
 */
import { Storage } from "@dogpile-effect/core"
import { RedisClient } from "@dogpile-effect/redis"
import { type BackendError } from "@dogpile-effect/core"
import { Effect, Option } from "effect"
import type { Settings } from "./Root.ts"

/**
 * The recorded layout of `region`: its fields, empty when none was recorded.
 *
 * @example
 * ```ts
 * import { RecordedLayout } from "@dogpile-effect/cli"
 * const users = RecordedLayout.read("users") // needs a RedisClient
 * ```
 *
 * @category constructors
 * @since 0.1.0
 */
export const read = (region: string): Effect.Effect<Storage.Layout, BackendError, RedisClient.RedisClient> =>
  Effect.flatMap(
    Effect.service(RedisClient.RedisClient),
    (redis) => redis.use("read layout", (client) => client.hgetall(`${Storage.LAYOUT_KEY_PREFIX}${region}`))
  )

const oneOf = <const T extends string>(value: string | undefined, allowed: ReadonlyArray<T>): Option.Option<T> =>
  Option.fromNullishOr(allowed.find((candidate) => candidate === value))

const PRESETS = ["dogpile-redis", "redis-advanced", "redis-advanced-hstore"] as const

/** The codec flag of a recorded codec name (Python's codecs by their format). */
const codecOf = (name: string | undefined) =>
  oneOf(name === "python-json" ? "json" : name === "python-msgpack" ? "msgpack" : name, ["json", "msgpack", "cbor"])

/** Settings with the storage (`--python`, `--hash-storage`, `--bucketing`) from `layout`. */
const withStorage = (settings: Settings, layout: Storage.Layout): Settings => {
  const given = Option.isSome(settings.python) || settings.hashStorage || Option.isSome(settings.bucketing)
  if (given) return settings
  const python = oneOf(layout["python"], PRESETS)
  const hash = Option.isNone(python) && layout["storage"] === "hash"
  const bucketing = hash ? oneOf(layout["bucketing"], ["none", "id", "number"]) : Option.none()
  const size = Number(layout["bucketSize"])
  return {
    ...settings,
    python,
    hashStorage: hash,
    bucketing,
    bucketSize: Option.isNone(settings.bucketSize) && Option.isSome(bucketing) && bucketing.value !== "none" &&
        Number.isInteger(size)
      ? Option.some(size)
      : settings.bucketSize
  }
}

/**
 * `settings` completed by the recorded `layout`: each layout flag left out
 * takes the recorded value; a flag given wins.
 *
 * @example
 * ```ts
 * import { RecordedLayout, Root } from "@dogpile-effect/cli"
 * import { Effect } from "effect"
 * const complete = Effect.map(Root.command, (settings) => RecordedLayout.merge(settings, { codec: "msgpack" }))
 * ```
 *
 * @category combinators
 * @since 0.1.0
 */
export const merge = (settings: Settings, layout: Storage.Layout): Settings => {
  if (Object.keys(layout).length === 0) return settings
  const stored = withStorage(settings, layout)
  const codec = Option.orElse(settings.codec, () => codecOf(layout["codec"]))
  if (Option.isSome(stored.python)) return { ...stored, codec }
  const verbatim = layout["verbatim"] === "1"
  return {
    ...stored,
    codec,
    envelope: Option.orElse(settings.envelope, () => oneOf(layout["envelope"], ["full", "compact", "packed", "raw"])),
    namespace: Option.orElse(
      settings.namespace,
      () => verbatim ? Option.none() : Option.fromNullishOr(layout["namespace"] === "" ? undefined : layout["namespace"])
    )
  }
}
