/**
 * The storage strategies the demo compares: an envelope, a codec, a backend
 * and a key layout each, mapped where possible onto the seed's demo rows.
 */
import { Backend, CacheKey, type CodecShape, Envelope, type InvalidOptionError, type Region } from "@dogpile-effect/core"
import { Cbor, IntegerAware, Json, Msgpack } from "@dogpile-effect/codecs"
import { Bucketing, HashBackend, HashExpiry, ListBackend, ListLayout } from "@dogpile-effect/hstore"
import { RedisBackend, type RedisClient } from "@dogpile-effect/redis"
import type { Layer } from "effect"
import type * as Dataset from "./Dataset.ts"
import * as DemoValue from "./DemoValue.ts"

/** The region's expiration in every strategy. */
export const EXPIRATION = "1 hour"
/** The Redis TTL of keys/buckets in the strategies that set one (longer than the expiration, as dogpile advises). */
export const REDIS_TTL = "2 hours"

/** How keys are laid out in Redis. */
export type Layout =
  | { readonly _tag: "Keys" }
  | { readonly _tag: "SeedBuckets" }
  | { readonly _tag: "AutoBuckets"; readonly size: number }
  | { readonly _tag: "NumericBuckets"; readonly size: number }
  | { readonly _tag: "Lists"; readonly size: number }

/** One strategy. */
export interface Strategy {
  readonly id: string
  /** The seed demo's row this one reproduces, if any. */
  readonly seedRow: string | undefined
  readonly envelope: Envelope.EnvelopeShape
  readonly codec: CodecShape
  readonly layout: Layout
  /** Redis TTL: per key, per bucket (hash or list), or none. */
  readonly redisTtl: "key" | "bucket" | "none"
  /** Whether each entry's creation time is stored (dogpile's own expiry works per entry). */
  readonly entryExpiry: boolean
  /** Region options beyond name/expiration/envelope. */
  readonly storeTtl: Region.Expiration | undefined
  readonly backend:
    | Layer.Layer<Backend, InvalidOptionError, RedisClient.RedisClient>
    | Layer.Layer<Backend | HashBackend.HashStore, InvalidOptionError, RedisClient.RedisClient>
  readonly note: string
}

const compact = Envelope.compact({ resolution: "1 second" })
const packed = Envelope.packed()

const keysBackend = RedisBackend.layer({ batchSize: 1000 })

const hashBackend = (options: { readonly ttl: boolean; readonly entryExpiry?: Envelope.EnvelopeShape }) =>
  HashBackend.layer({
    hashExpiry: options.ttl ? HashExpiry.onEveryWrite(REDIS_TTL) : HashExpiry.never,
    ...(options.entryExpiry === undefined ? {} : {
      entryExpiry: { maxAge: EXPIRATION, envelope: options.entryExpiry, sweeper: "manual" as const }
    })
  })

const plain = (options: {
  readonly id: string
  readonly seedRow?: string
  readonly envelope: Envelope.EnvelopeShape
  readonly codec: CodecShape
  readonly ttl: boolean
  readonly note: string
}): Strategy => ({
  id: options.id,
  seedRow: options.seedRow,
  envelope: options.envelope,
  codec: options.codec,
  layout: { _tag: "Keys" },
  redisTtl: options.ttl ? "key" : "none",
  entryExpiry: options.envelope.storesCreatedAt,
  // Envelopes with a time get a longer Redis TTL when asked; raw ones get the
  // expiration itself (the region's default). "No TTL" rows say so explicitly.
  storeTtl: options.envelope.storesCreatedAt ? (options.ttl ? REDIS_TTL : "never") : (options.ttl ? undefined : "never"),
  backend: keysBackend,
  note: options.note
})

const hashed = (options: {
  readonly id: string
  readonly seedRow?: string
  readonly envelope: Envelope.EnvelopeShape
  readonly codec: CodecShape
  readonly layout: Layout
  readonly ttl: boolean
  readonly note: string
}): Strategy => ({
  id: options.id,
  seedRow: options.seedRow,
  envelope: options.envelope,
  codec: options.codec,
  layout: options.layout,
  redisTtl: options.ttl ? "bucket" : "none",
  entryExpiry: options.envelope.storesCreatedAt,
  // Buckets get their TTL from the backend's hashExpiry policy, not from per-entry hints.
  storeTtl: "never",
  backend: hashBackend(
    options.envelope.storesCreatedAt ? { ttl: options.ttl, entryExpiry: options.envelope } : { ttl: options.ttl }
  ),
  note: options.note
})

const listed = (options: {
  readonly id: string
  readonly envelope: Envelope.EnvelopeShape
  readonly codec: CodecShape
  readonly note: string
}): Strategy => ({
  id: options.id,
  seedRow: undefined,
  envelope: options.envelope,
  codec: options.codec,
  layout: { _tag: "Lists", size: ListLayout.DEFAULT_SIZE },
  redisTtl: "bucket",
  entryExpiry: options.envelope.storesCreatedAt,
  // Lists get their TTL from the backend's listExpiry policy, not from per-entry hints.
  storeTtl: "never",
  backend: ListBackend.layer({ size: ListLayout.DEFAULT_SIZE, listExpiry: HashExpiry.onEveryWrite(REDIS_TTL) }),
  note: options.note
})

const seed = { _tag: "SeedBuckets" } as const

/** The default fields per bucket of the numeric-bucketing strategies. */
export const DEFAULT_BUCKET_SIZE = 205

/** Every strategy, baseline first; `bucketSize` is the numeric buckets' size. */
export const all = (bucketSize: number = DEFAULT_BUCKET_SIZE): ReadonlyArray<Strategy> => [
  plain({ id: "full-json-ttl", seedRow: "region_json", envelope: Envelope.full(), codec: Json.codec, ttl: true,
    note: "dogpile's default layout: full envelope, JSON, one key per entry, Redis TTL (the baseline)" }),
  plain({ id: "full-msgpack-ttl", seedRow: "region_msgpack", envelope: Envelope.full(), codec: Msgpack.codec, ttl: true,
    note: "MessagePack instead of JSON" }),
  plain({ id: "full-cbor-ttl", envelope: Envelope.full(), codec: Cbor.codec, ttl: true, note: "CBOR instead of JSON" }),
  plain({ id: "full-json", seedRow: "region_json_local", envelope: Envelope.full(), codec: Json.codec, ttl: false,
    note: "no Redis TTL: expiry only in the envelope" }),
  plain({ id: "full-msgpack", seedRow: "region_msgpack_local", envelope: Envelope.full(), codec: Msgpack.codec,
    ttl: false, note: "no Redis TTL, MessagePack" }),
  plain({ id: "compact-json", seedRow: "region_json_local_int", envelope: compact, codec: Json.codec, ttl: false,
    note: "compact envelope: 5-byte header with the creation second" }),
  plain({ id: "compact-msgpack", seedRow: "region_msgpack_local_int", envelope: compact, codec: Msgpack.codec,
    ttl: false, note: "compact envelope, MessagePack" }),
  plain({ id: "raw-json-ttl", seedRow: "region_json_raw", envelope: Envelope.raw, codec: Json.codec, ttl: true,
    note: "payload only; Redis TTL does the expiring" }),
  plain({ id: "raw-msgpack-ttl", seedRow: "region_msgpack_raw", envelope: Envelope.raw, codec: Msgpack.codec,
    ttl: true, note: "payload only, MessagePack" }),
  plain({ id: "raw-intaware-ttl", envelope: Envelope.raw, codec: IntegerAware.codec, ttl: true,
    note: "integer-aware codec: integers as decimal text, which Redis stores as integers" }),
  plain({ id: "raw-json", seedRow: "region_json_raw_local", envelope: Envelope.raw, codec: Json.codec, ttl: false,
    note: "payload only, no expiry at all (only with an LRU policy)" }),
  plain({ id: "raw-msgpack", seedRow: "region_msgpack_raw_local", envelope: Envelope.raw, codec: Msgpack.codec,
    ttl: false, note: "payload only, MessagePack, no expiry at all" }),
  hashed({ id: "raw-msgpack-hash", seedRow: "region_msgpack_raw_hash", envelope: Envelope.raw, codec: Msgpack.codec,
    layout: seed, ttl: true, note: "the seed's hash layout: 100 integers per hash, one hash per prefix" }),
  hashed({ id: "raw-json-hash", seedRow: "region_json_raw_hash", envelope: Envelope.raw, codec: Json.codec,
    layout: seed, ttl: true, note: "the seed's best row" }),
  hashed({ id: "raw-intaware-hash", envelope: Envelope.raw, codec: IntegerAware.codec, layout: seed, ttl: true,
    note: "the seed's hash layout with the integer-aware codec" }),
  hashed({ id: "compact-json-hash", envelope: compact, codec: Json.codec, layout: seed, ttl: true,
    note: "the seed's hash layout keeping per-entry expiry (compact envelope)" }),
  hashed({ id: "raw-intaware-autobucket", envelope: Envelope.raw, codec: IntegerAware.codec,
    layout: { _tag: "AutoBuckets", size: 100 }, ttl: true,
    note: "automatic bucketing (Bucketing.byId, 100 per bucket) for every key" }),
  hashed({ id: "compact-intaware-autobucket", envelope: compact, codec: IntegerAware.codec,
    layout: { _tag: "AutoBuckets", size: 100 }, ttl: true,
    note: "automatic bucketing with per-entry expiry (compact envelope)" }),
  hashed({ id: "packed-intaware-numbucket", envelope: packed, codec: IntegerAware.codec,
    layout: { _tag: "NumericBuckets", size: bucketSize }, ttl: true,
    note: "per-entry expiry: packed envelope (integer + creation second in one 64-bit integer)" }),
  hashed({ id: "raw-intaware-numbucket", envelope: Envelope.raw, codec: IntegerAware.codec,
    layout: { _tag: "NumericBuckets", size: bucketSize }, ttl: true,
    note: "numeric bucketing: fields 0…size−1 as listpack integers, values as listpack integers" }),
  hashed({ id: "packed-schema-numbucket", envelope: packed, codec: DemoValue.codec,
    layout: { _tag: "NumericBuckets", size: bucketSize }, ttl: true,
    note: "per-entry expiry, packed envelope, Schema codec storing records positionally ([one, two])" }),
  hashed({ id: "raw-schema-numbucket", envelope: Envelope.raw, codec: DemoValue.codec,
    layout: { _tag: "NumericBuckets", size: bucketSize }, ttl: true,
    note: "numeric bucketing with a Schema codec storing records positionally ([one, two])" }),
  hashed({ id: "raw-intaware-numbucket-lru", envelope: Envelope.raw, codec: IntegerAware.codec,
    layout: { _tag: "NumericBuckets", size: bucketSize }, ttl: false,
    note: "as raw-intaware-numbucket without any Redis TTL: only for a server with an LRU eviction policy" }),
  listed({ id: "packed-intaware-lists", envelope: packed, codec: IntegerAware.codec,
    note: "per-entry expiry in list positions (ListBackend, 1,000 per list): packed envelope, no field names" }),
  listed({ id: "raw-intaware-lists", envelope: Envelope.raw, codec: IntegerAware.codec,
    note: "list positions (ListBackend, 1,000 per list): each entry is only its value's listpack bytes" }),
  listed({ id: "packed-schema-lists", envelope: packed, codec: DemoValue.codec,
    note: "per-entry expiry in list positions, packed envelope, Schema codec storing records positionally" }),
  listed({ id: "raw-schema-lists", envelope: Envelope.raw, codec: DemoValue.codec,
    note: "list positions with a Schema codec storing records positionally ([one, two])" })
]

/** The strategy whose used_memory is 100%. */
export const BASELINE = "full-json-ttl"

/** Maps a dataset entry to its cache key under a layout. */
export const keyMapper = (layout: Layout): (entry: Dataset.Entry) => CacheKey.CacheKey => {
  switch (layout._tag) {
    case "Keys":
    case "Lists":
      // ListBackend places plain keys itself (ListLayout.locate).
      return (entry) => entry.key
    case "SeedBuckets":
      // The seed's bucketing: integers in hashes of 100 named by their first
      // member, every prefix in one hash; the field is the number.
      return (entry) =>
        entry.prefix === undefined
          ? CacheKey.hash(String(entry.i - (entry.i % 100)), String(entry.i))
          : CacheKey.hash(entry.prefix, String(entry.i))
    case "AutoBuckets": {
      const bucket = Bucketing.byId({ size: layout.size })
      return (entry) => bucket(entry.key)
    }
    case "NumericBuckets": {
      const bucket = Bucketing.byNumber({ size: layout.size })
      return (entry) => bucket(entry.key)
    }
  }
}

/** A short description of a layout for the table. */
export const describeLayout = (layout: Layout): string => {
  switch (layout._tag) {
    case "Keys":
      return "keys"
    case "SeedBuckets":
      return "hash (seed buckets)"
    case "AutoBuckets":
      return `hash (byId ${layout.size})`
    case "NumericBuckets":
      return `hash (byNumber ${layout.size})`
    case "Lists":
      return `list (${layout.size})`
  }
}
