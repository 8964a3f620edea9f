/**
 * Storages a region names in its own options (`storage`), over the one
 * `RedisClient` in context: plain keys ({@link plain}) and a near cache over
 * them ({@link near}). Each region builds its own backend from the shared
 * client, so N regions keep the client's connections: the near caches of
 * every region share one invalidation subscriber per client connection.
 * Every storage here records the region's layout in
 * `__dogpile__:layout:<name>` (see {@link recordLayout}) for the CLI.
 *
 * @since 0.1.0
 */
import { type InvalidOptionError, type Lock, Storage } from "@dogpile-effect/core"
import { Duration, Effect, Layer } from "effect"
import * as NearCache from "./NearCache.ts"
import * as RedisBackend from "./RedisBackend.ts"
import { RedisClient } from "./RedisClient.ts"
import type { BackendError } from "@dogpile-effect/core"

/** How long recording a layout may take before it is given up (it runs in the background). */
const RECORD_TIMEOUT = Duration.seconds(5)

/**
 * Writes a region's layout as the hash `__dogpile__:layout:<name>`
 * (replacing the previous one, in one `MULTI`), through the `RedisClient` in
 * context. Regions call it once when built and ignore its failure.
 *
 * @example
 * ```ts
 * import { Storage } from "@dogpile-effect/core"
 * import { MemoryBackend } from "@dogpile-effect/core"
 * import { RedisStorage } from "@dogpile-effect/redis"
 * const recorded = Storage.fromLayer("memory", MemoryBackend.layer(), { record: RedisStorage.recordLayout })
 * ```
 *
 * @category constructors
 * @since 0.1.0
 */
export const recordLayout: Effect.Effect<(name: string, layout: Storage.Layout) => Effect.Effect<void, unknown>, never, RedisClient> =
  Effect.map(Effect.service(RedisClient), (redis) => (name: string, layout: Storage.Layout) => {
    const key = `${Storage.LAYOUT_KEY_PREFIX}${name}`
    return redis.use("record layout", (client) => client.multi().del(key).hset(key, { ...layout }).exec()).pipe(
      Effect.timeout(RECORD_TIMEOUT),
      Effect.asVoid
    )
  })

/**
 * Plain Redis keys (`RedisBackend`) over the `RedisClient` in context; the
 * lock is the one in context.
 *
 * @example
 * ```ts
 * import { Region } from "@dogpile-effect/core"
 * import { RedisStorage } from "@dogpile-effect/redis"
 * import { Schema } from "effect"
 * class Sessions extends Region.Service<Sessions>()("app/Sessions", {
 *   name: "sessions", schema: Schema.String, expiration: "30 minutes", storage: RedisStorage.plain()
 * }) {}
 * ```
 *
 * @category constructors
 * @since 0.1.0
 */
export const plain = (
  options: RedisBackend.RedisBackendOptions = {}
): Storage.Storage<InvalidOptionError, RedisClient | Lock> =>
  Storage.fromLayer("plain", RedisBackend.layer(options), { record: recordLayout })

/**
 * A near cache (process memory, invalidated by `CLIENT TRACKING`) over plain
 * Redis keys, over the `RedisClient` in context. The invalidation subscriber
 * is shared by every near cache over the same client: one connection
 * however many regions use it.
 *
 * @example
 * ```ts
 * import { Region } from "@dogpile-effect/core"
 * import { RedisStorage } from "@dogpile-effect/redis"
 * import { Schema } from "effect"
 * class Users extends Region.Service<Users>()("app/Users", {
 *   name: "users", schema: Schema.String, expiration: "10 minutes", storage: RedisStorage.near({ maxEntries: 10_000 })
 * }) {}
 * ```
 *
 * @category constructors
 * @since 0.1.0
 */
export const near = (
  options: NearCache.NearCacheOptions = {},
  backend: RedisBackend.RedisBackendOptions = {}
): Storage.Storage<InvalidOptionError | BackendError, RedisClient | Lock> =>
  Storage.fromLayer("near", NearCache.layer(options).pipe(Layer.provide(RedisBackend.layer(backend))), {
    record: recordLayout
  })
