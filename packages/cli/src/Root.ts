/**
 * The `dogpile` root command and the flags every subcommand shares: where
 * Redis is, and how the region whose entries it looks at is configured.
 *
 * @since 0.1.0
 */
import { Config, Option, Redacted } from "effect"
import { Command, Flag } from "effect/cli"

/** The default server, as in `RedisClient.layerConfig`. */
const DEFAULT_URL = "redis://127.0.0.1:6379"

/**
 * The shared flags, parsed.
 *
 * @example
 * ```ts
 * import type { Root } from "@dogpile-effect/cli"
 * const regionOf = (settings: Root.Settings) => settings.region
 * ```
 *
 * @category models
 * @since 0.1.0
 */
export interface Settings {
  readonly url: Redacted.Redacted<string>
  readonly cluster: boolean
  readonly region: string
  readonly namespace: Option.Option<string>
  readonly envelope: Option.Option<"full" | "compact" | "packed" | "raw">
  /** None: the region's recorded layout, else json. */
  readonly codec: Option.Option<"json" | "msgpack" | "cbor">
  readonly hashStorage: boolean
  readonly python: Option.Option<"dogpile-redis" | "redis-advanced" | "redis-advanced-hstore">
  /** None: the region's recorded layout, else none. */
  readonly bucketing: Option.Option<"none" | "id" | "number">
  readonly bucketSize: Option.Option<number>
  readonly expiration: Option.Option<string>
  readonly json: boolean
}

const flags = {
  url: Flag.Redacted("url").pipe(
    Flag.withDescription(`Redis URL, redis://[user:password@]host:port[/db] or rediss:// (else REDIS_URL, else ${DEFAULT_URL})`),
    Flag.withFallbackConfig(Config.Redacted("REDIS_URL")),
    Flag.withDefault(Redacted.make(DEFAULT_URL))
  ),
  cluster: Flag.Boolean("cluster").pipe(Flag.withDescription("The URL names a Redis Cluster node"), Flag.withDefault(false)),
  region: Flag.String("region").pipe(Flag.withDescription("The region's name")),
  namespace: Flag.String("namespace").pipe(
    Flag.withDescription("The region's key prefix (default: the region's name)"),
    Flag.optional
  ),
  envelope: Flag.Literals("envelope", ["full", "compact", "packed", "raw"]).pipe(
    Flag.withDescription("The region's envelope (Envelope.full(), compact(), packed() with their defaults, or raw; default full)"),
    Flag.optional
  ),
  codec: Flag.Literals("codec", ["json", "msgpack", "cbor"]).pipe(
    Flag.withDescription("The region's codec (default: the region's recorded layout, else json)"),
    Flag.optional
  ),
  hashStorage: Flag.Boolean("hash-storage").pipe(
    Flag.withDescription("The region stores through HashBackend (keys may then be given as HASH[FIELD]; default: the region's recorded layout)"),
    Flag.withDefault(false)
  ),
  python: Flag.Literals("python", ["dogpile-redis", "redis-advanced", "redis-advanced-hstore"]).pipe(
    Flag.withDescription(
      "A region shared with Python (@dogpile-effect/python's Presets): keys verbatim, Python's envelope, codec (--codec json or msgpack) and lock names"
    ),
    Flag.optional
  ),
  bucketing: Flag.Literals("bucketing", ["none", "id", "number"]).pipe(
    Flag.withDescription(
      "HashBackend's bucketing: none, Bucketing.byId or Bucketing.byNumber (with --hash-storage; default: the region's recorded layout, else none)"
    ),
    Flag.optional
  ),
  bucketSize: Flag.Int("bucket-size").pipe(
    Flag.withDescription("The bucketing's size (byId: a power of ten, default 100; byNumber: required)"),
    Flag.optional
  ),
  expiration: Flag.String("expiration").pipe(
    Flag.withDescription("The region's expiration, to tell fresh from stale (\"10 minutes\"; default never)"),
    Flag.optional
  ),
  json: Flag.Boolean("json").pipe(Flag.withDescription("Print JSON instead of text"), Flag.withDefault(false))
}

/**
 * The root command, `dogpile`, with the shared flags. Subcommands read them
 * with `yield* Root.command`.
 *
 * @example
 * ```ts
 * import { Root } from "@dogpile-effect/cli"
 * import { Effect } from "effect"
 * const regionName = Effect.map(Root.command, (settings) => settings.region)
 * ```
 *
 * @category commands
 * @since 0.1.0
 */
export const command = Command.make("dogpile").pipe(
  Command.withSharedFlags(flags),
  Command.withDescription("Look at and operate dogpile-effect regions in Redis")
)
