/**
 * How the region the flags describe stores its entries: the backend and lock
 * (with the Redis client under them), the region options that go with them,
 * and where its keys live. Every combination of flags that would be ignored
 * is refused as a usage error.
 *
 * @since 0.1.0
 */
import { type Backend, Codec, type CodecShape, Envelope, type Lock, type Region } from "@dogpile-effect/core"
import { Cbor, Msgpack } from "@dogpile-effect/codecs"
import { Bucketing, HashBackend } from "@dogpile-effect/hstore"
import { LockNaming, Presets } from "@dogpile-effect/python"
import { RedisBackend, RedisClient, RedisLock } from "@dogpile-effect/redis"
import { Effect, Layer, Option } from "effect"
import * as Failure from "./Failure.ts"
import type { Settings } from "./Root.ts"

/**
 * A region's storage, resolved from the flags.
 *
 * @example
 * ```ts
 * import type { Layout } from "@dogpile-effect/cli"
 * const verbatim = (layout: Layout.Layout) => layout.namespace === undefined
 * ```
 *
 * @category models
 * @since 0.1.0
 */
export interface Layout {
  /** Backend and lock, over the client built from `--url`, which stays in the context too. */
  readonly layer: Layer.Layer<Backend | Lock | RedisClient.RedisClient, unknown>
  /** The region options beyond its name and expiration. */
  readonly region: Pick<Region.RegionOptions<unknown>, "namespace" | "envelope" | "codec" | "storeTtl">
  /** The key prefix, or `undefined` when keys are verbatim (`--python`). */
  readonly namespace: string | undefined
  /** Whether keys may be given as `HASH[FIELD]`. */
  readonly hashKeys: boolean
  /** The Redis key of a plain key's lock (for `stats`' count of held locks). */
  readonly lockPrefix: string
  /** For messages: the envelope and codec in use. */
  readonly describe: string
}

type EnvelopeName = "full" | "compact" | "packed" | "raw"

const envelopeOf = (name: EnvelopeName) => {
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

/** The codec the flags (or the recorded layout) name, json by default. */
const codecName = (settings: Settings) => Option.getOrElse(settings.codec, () => "json" as const)

/**
 * The bucketing the flags (or the recorded layout) name, none by default.
 *
 * @example
 * ```ts
 * import { Layout, Root } from "@dogpile-effect/cli"
 * import { Effect } from "effect"
 * const bucketing = Effect.map(Root.command, Layout.bucketingName)
 * ```
 *
 * @category models
 * @since 0.1.0
 */
export const bucketingName = (settings: Settings): "none" | "id" | "number" =>
  Option.getOrElse(settings.bucketing, () => "none" as const)

const codecOf = (name: "json" | "msgpack" | "cbor"): CodecShape => {
  switch (name) {
    case "json":
      return Codec.json
    case "msgpack":
      return Msgpack.codec
    case "cbor":
      return Cbor.codec
  }
}

/**
 * The Redis client the flags describe (`--url`, `--cluster`).
 *
 * @example
 * ```ts
 * import { Layout, Root } from "@dogpile-effect/cli"
 * import { Effect } from "effect"
 * const client = Effect.map(Root.command, Layout.client)
 * ```
 *
 * @category layers
 * @since 0.1.0
 */
export const client = (settings: Settings) => RedisClient.layer({ url: settings.url, cluster: settings.cluster })

const bucketingOf = (settings: Settings): Effect.Effect<Bucketing.Bucketing | undefined, Failure.CliFailure> => {
  const bucketing = bucketingName(settings)
  if (bucketing === "none") {
    return Option.isSome(settings.bucketSize)
      ? Effect.fail(Failure.usage("--bucket-size needs --bucketing id or number"))
      : Effect.succeed(undefined)
  }
  if (!settings.hashStorage) return Effect.fail(Failure.usage("--bucketing needs --hash-storage"))
  if (bucketing === "id") {
    return Effect.succeed(Bucketing.byId(Option.match(settings.bucketSize, { onNone: () => ({}), onSome: (size) => ({ size }) })))
  }
  return Option.match(settings.bucketSize, {
    onNone: () => Effect.fail(Failure.usage("--bucketing number needs --bucket-size")),
    onSome: (size) => Effect.succeed(Bucketing.byNumber({ size }))
  })
}

/** The library's own layouts: `--envelope`, `--codec`, `--hash-storage`, `--bucketing`. */
const native = (settings: Settings): Effect.Effect<Layout, Failure.CliFailure> =>
  Effect.map(bucketingOf(settings), (bucketing) => {
    const envelope = Option.getOrElse(settings.envelope, (): EnvelopeName => "full")
    const backend = settings.hashStorage
      ? HashBackend.layer(bucketing === undefined ? {} : { bucketing })
      : RedisBackend.layer()
    const namespace = Option.getOrElse(settings.namespace, () => settings.region)
    return {
      layer: Layer.mergeAll(backend, RedisLock.layer()).pipe(Layer.provideMerge(client(settings))),
      region: { namespace, envelope: envelopeOf(envelope), codec: codecOf(codecName(settings)), storeTtl: "never" },
      namespace,
      hashKeys: settings.hashStorage,
      lockPrefix: "_lock:",
      describe: `--envelope ${envelope} --codec ${codecName(settings)}`
    }
  })

const refuse = (settings: Settings, preset: string): string | undefined => {
  if (codecName(settings) === "cbor") return "--python needs --codec json or msgpack (Python's serializers)"
  if (Option.isSome(settings.namespace)) return "--python regions keep keys verbatim: drop --namespace"
  if (Option.isSome(settings.envelope)) return "--python sets Python's envelope: drop --envelope"
  if (bucketingName(settings) !== "none") return "--python presets do not bucket keys: drop --bucketing"
  if (settings.hashStorage) return `--python ${preset} sets the backend: drop --hash-storage`
  return undefined
}

/** A region shared with Python: one of `@dogpile-effect/python`'s presets. */
const python = (
  settings: Settings,
  preset: "dogpile-redis" | "redis-advanced" | "redis-advanced-hstore"
): Effect.Effect<Layout, Failure.CliFailure> => {
  const problem = refuse(settings, preset)
  if (problem !== undefined) return Effect.fail(Failure.usage(problem))
  const format = codecName(settings) === "msgpack" ? "msgpack" : "json"
  const chosen = preset === "dogpile-redis"
    ? Presets.dogpileRedis({ format })
    : preset === "redis-advanced"
    ? Presets.redisAdvanced({ format })
    : Presets.redisAdvancedHstore({ format })
  return Effect.succeed({
    layer: chosen.layer.pipe(Layer.provideMerge(client(settings))),
    region: chosen.region,
    namespace: undefined,
    hashKeys: preset === "redis-advanced-hstore",
    lockPrefix: preset === "dogpile-redis" ? "_lock" : LockNaming.ADVANCED_PREFIX,
    describe: `--python ${preset} --codec ${format}`
  })
}

/**
 * Resolves the flags into a {@link Layout}, or a usage error naming the
 * flag that does not fit.
 *
 * @example
 * ```ts
 * import { Layout, Root } from "@dogpile-effect/cli"
 * import { Effect } from "effect"
 * const layout = Effect.flatMap(Root.command, Layout.resolve)
 * ```
 *
 * @category constructors
 * @since 0.1.0
 */
export const resolve = (settings: Settings): Effect.Effect<Layout, Failure.CliFailure> =>
  Option.match(settings.python, { onNone: () => native(settings), onSome: (preset) => python(settings, preset) })
