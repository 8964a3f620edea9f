/**
 * Hash buckets as a storage a region names in its own options (`storage`),
 * over the `RedisClient` in context: the region's entries are fields of
 * Redis hashes (`HashBackend`), its lock the one in context. The bucketing
 * is given by name, so the region can record it in its layout
 * (`__dogpile__:layout:<name>`) for the CLI.
 *
 * @since 0.1.0
 */
import type { BackendError, InvalidOptionError, Lock, Storage as CoreStorage } from "@dogpile-effect/core"
import { Storage } from "@dogpile-effect/core"
import { RedisStorage, type RedisClient } from "@dogpile-effect/redis"
import * as Bucketing from "./Bucketing.ts"
import * as HashBackend from "./HashBackend.ts"

/**
 * Options of {@link storage}: those of `HashBackend.layer` but the bucketing,
 * named here: `{ by: "id", size? }` for `Bucketing.byId`, `{ by: "number",
 * size }` for `Bucketing.byNumber`; none keeps keys as given.
 *
 * @example
 * ```ts
 * import type { HashStorage } from "@dogpile-effect/hstore"
 * const options: HashStorage.HashStorageOptions = { bucketing: { by: "id", size: 100 } }
 * ```
 *
 * @category models
 * @since 0.1.0
 */
export interface HashStorageOptions extends Omit<HashBackend.HashBackendOptions, "bucketing"> {
  readonly bucketing?:
    | { readonly by: "id"; readonly size?: number | undefined }
    | { readonly by: "number"; readonly size: number }
    | undefined
}

const bucketingOf = (option: HashStorageOptions["bucketing"]): Bucketing.Bucketing | undefined => {
  if (option === undefined) return undefined
  return option.by === "id"
    ? Bucketing.byId(option.size === undefined ? {} : { size: option.size })
    : Bucketing.byNumber({ size: option.size })
}

const layoutOf = (option: HashStorageOptions["bucketing"]): CoreStorage.Layout =>
  option === undefined
    ? { bucketing: "none" }
    : { bucketing: option.by, bucketSize: String(option.size ?? Bucketing.DEFAULT_BUCKET_SIZE) }

/**
 * Hash buckets over the `RedisClient` in context.
 *
 * @example
 * ```ts
 * import { Region } from "@dogpile-effect/core"
 * import { HashStorage } from "@dogpile-effect/hstore"
 * import { Schema } from "effect"
 * class Prices extends Region.Service<Prices>()("app/Prices", {
 *   name: "prices", schema: Schema.Number, storage: HashStorage.storage({ bucketing: { by: "id" } })
 * }) {}
 * ```
 *
 * @category constructors
 * @since 0.1.0
 */
export const storage = (
  options: HashStorageOptions = {}
): CoreStorage.Storage<InvalidOptionError | BackendError, RedisClient.RedisClient | Lock> => {
  const { bucketing, ...rest } = options
  const mapper = bucketingOf(bucketing)
  return Storage.fromLayer("hash", HashBackend.layer(mapper === undefined ? rest : { ...rest, bucketing: mapper }), {
    layout: layoutOf(bucketing),
    record: RedisStorage.recordLayout
  })
}
