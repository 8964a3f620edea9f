/**
 * The byte-level store behind a region.
 *
 * @since 0.1.0
 */
import { Context, type Duration, type Effect, type Option } from "effect"
import type { CacheKey } from "./CacheKey.ts"
import type { BackendError, UnsupportedKeyError } from "./CacheError.ts"

/**
 * One entry to write. `ttl` is the store TTL the region chose (its
 * `storeTtl`): stores that can expire entries themselves (Redis `PX`, bucket
 * and field TTLs) honour it by default; none means "keep it until evicted".
 *
 * @since 0.1.0
 */
export interface BackendEntry {
  readonly key: CacheKey
  readonly value: Uint8Array
  readonly ttl?: Duration.Duration | undefined
}

/**
 * One entry to renew in place ({@link Backend} `restampMany`): if the entry
 * stored at `key` is `length` bytes long and starts with `expected`, its first
 * bytes are overwritten with `header` (as long as `expected`), the rest left
 * as it is, and its store TTL set to `ttl` (none: no expiry). Otherwise
 * nothing changes. A conditional refresh's "not modified" renews an entry
 * this way: only its header (the metadata and the envelope's creation time)
 * crosses the wire, never its value.
 *
 * @example
 * ```ts
 * import type { BackendRestamp } from "@dogpile-effect/core"
 * const renewal: BackendRestamp = {
 *   key: "user:42",
 *   length: 1_009,
 *   expected: new Uint8Array([0xfe, 0, 1, 0, 0, 0, 0, 0, 1]),
 *   header: new Uint8Array([0xfe, 0, 1, 0, 0, 0, 0, 0, 2])
 * }
 * ```
 *
 * @since 0.1.0
 */
export interface BackendRestamp {
  readonly key: CacheKey
  /** The stored entry's whole length, in bytes. */
  readonly length: number
  /** The bytes the stored entry must start with. */
  readonly expected: Uint8Array
  /** What replaces them: exactly as many bytes. */
  readonly header: Uint8Array
  readonly ttl?: Duration.Duration | undefined
}

/**
 * The errors a backend operation can fail with.
 *
 * @since 0.1.0
 */
export type BackendFailure = BackendError | UnsupportedKeyError

/**
 * What a backend can do, so that regions and tests can adapt.
 *
 * @since 0.1.0
 */
export interface BackendCapabilities {
  /** Accepts {@link CacheKey.HashKey} keys. */
  readonly hashKeys: boolean
  /** Honours the `ttl` hint of {@link BackendEntry}. */
  readonly ttl: boolean
}

/**
 * The Backend service: `get`/`set`/`delete` of raw bytes, one key or many.
 * `getMany` returns results in input order, one per input key, duplicates
 * included. Implementations: `MemoryBackend` here, `RedisBackend` in
 * `@dogpile-effect/redis`, `HashBackend` in `@dogpile-effect/hstore`.
 *
 * @example
 * ```ts
 * import { Backend, MemoryBackend } from "@dogpile-effect/core"
 * import { Effect } from "effect"
 *
 * const program = Effect.gen(function*() {
 *   const backend = yield* Backend
 *   yield* backend.set("k", new TextEncoder().encode("v"))
 *   return yield* backend.get("k")
 * }).pipe(Effect.provide(MemoryBackend.layer()))
 * ```
 *
 * @since 0.1.0
 */
export class Backend extends Context.Service<Backend, {
  readonly name: string
  readonly capabilities: BackendCapabilities
  get(key: CacheKey): Effect.Effect<Option.Option<Uint8Array>, BackendFailure>
  /**
   * Optional, for stores that hold values in this process (the in-memory
   * backend, a near cache): the stored bytes of `key` at `now`, answered
   * synchronously with no I/O, or `undefined` when it cannot tell that way.
   * While the value is unchanged it must return the same `Uint8Array`
   * instance, so the region can keep what it decoded from it. It never
   * fails: anything unusual is `undefined`, and the region reads with `get`.
   */
  peek?(key: CacheKey, now: number): Uint8Array | undefined
  getMany(keys: ReadonlyArray<CacheKey>): Effect.Effect<ReadonlyArray<Option.Option<Uint8Array>>, BackendFailure>
  /**
   * Optional, for backends with a tier in this process (a near cache):
   * `getMany` from the store itself, past that tier. The dogpile re-reads
   * with it after taking a lock or waiting for another creator, where a local
   * copy whose invalidation is still on its way would make it create again,
   * or serve the value it waited to replace. Without it, `getMany`.
   */
  getManyFromStore?(keys: ReadonlyArray<CacheKey>): Effect.Effect<ReadonlyArray<Option.Option<Uint8Array>>, BackendFailure>
  set(key: CacheKey, value: Uint8Array, ttl?: Duration.Duration): Effect.Effect<void, BackendFailure>
  setMany(entries: ReadonlyArray<BackendEntry>): Effect.Effect<void, BackendFailure>
  /**
   * Optional: renews entries in place ({@link BackendRestamp}), each one
   * checked and rewritten atomically, and answers per entry, in order,
   * whether it applied (`false`: the key holds another entry, or none). A
   * conditional refresh uses it to renew an entry its creator answered "not
   * modified" for in one round trip that carries only headers; without it,
   * the region re-reads the entry and writes it whole with `set`.
   */
  restampMany?(entries: ReadonlyArray<BackendRestamp>): Effect.Effect<ReadonlyArray<boolean>, BackendFailure>
  delete(key: CacheKey): Effect.Effect<void, BackendFailure>
  deleteMany(keys: ReadonlyArray<CacheKey>): Effect.Effect<void, BackendFailure>
}>()("@dogpile-effect/core/Backend") {}

/**
 * `bytes`, or a copy of them when they are a view into a larger buffer. A
 * backend that keeps bytes in memory (an in-process store, a near cache) calls
 * it first: Node hands short buffers out of a shared 8 KiB pool, and ioredis
 * hands each reply back as a view into the socket read it came in, so a kept
 * view would keep that whole buffer alive.
 *
 * @example
 * ```ts
 * import { ownBytes } from "@dogpile-effect/core"
 * const read = new Uint8Array(64 * 1024)
 * ownBytes(read.subarray(0, 3)).buffer.byteLength // 3
 * ```
 *
 * @category utilities
 * @since 0.1.0
 */
export const ownBytes = (bytes: Uint8Array): Uint8Array =>
  bytes.byteLength === bytes.buffer.byteLength ? bytes : new Uint8Array(bytes)
