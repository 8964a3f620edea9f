/**
 * An in-process Backend: a Map with optional LRU capacity and TTL via Clock.
 *
 * @since 0.1.0
 */
import { Clock, Duration, Effect, Exit, Layer, Option } from "effect"
import { Backend, type BackendEntry, type BackendRestamp, ownBytes } from "./Backend.ts"
import * as CacheKey from "./CacheKey.ts"
import { type InvalidOptionError, UnsupportedKeyError } from "./CacheError.ts"
import * as Eager from "./internal/eager.ts"
import * as Lru from "./internal/lru.ts"
import * as Options from "./Options.ts"

/**
 * Options of the in-memory backend.
 *
 * @since 0.1.0
 */
export interface MemoryBackendOptions {
  /** Maximum number of entries; the least recently used entry is evicted past it. Unbounded by default. */
  readonly capacity?: number | undefined
  /** Accept hash-addressed keys (default `true`); `false` rejects them like a plain key-value store. */
  readonly hashKeys?: boolean | undefined
}

interface Slot {
  readonly value: Uint8Array
  readonly expiresAt: number
}

/**
 * Builds the in-memory backend. Time comes from the `Clock` of the calling
 * fiber, so entry TTLs are testable with `TestClock`.
 *
 * @since 0.1.0
 */
export const make = (options: MemoryBackendOptions = {}): Effect.Effect<Backend["Service"], InvalidOptionError> =>
  options.capacity === undefined
    ? Effect.succeed(build(options, Number.POSITIVE_INFINITY))
    : Effect.map(Options.integer("MemoryBackend", "capacity", options.capacity, 1, { min: 1 }), (capacity) =>
      build(options, capacity))

const build = (options: MemoryBackendOptions, capacity: number): Backend["Service"] => {
  const hashKeys = options.hashKeys ?? true
  const store = Lru.make<string, Slot>(capacity)

  const idOf = (key: CacheKey.CacheKey): Effect.Effect<string, UnsupportedKeyError> =>
    !hashKeys && CacheKey.isHashKey(key)
      ? Effect.fail(
        new UnsupportedKeyError({
          key: CacheKey.display(key),
          backend: "memory",
          reason: "hash-addressed keys are disabled on this backend"
        })
      )
      : Effect.succeed(CacheKey.render(key))

  /** The live value of `id` at `now` (touched for the LRU order), or `undefined`. */
  const lookup = (id: string, now: number): Uint8Array | undefined => {
    const slot = store.get(id)
    if (slot === undefined) return undefined
    if (slot.expiresAt <= now) {
      store.delete(id)
      return undefined
    }
    return slot.value
  }
  const read = (id: string, now: number): Option.Option<Uint8Array> => Option.fromUndefinedOr(lookup(id, now))

  const write = (id: string, value: Uint8Array, ttl: Duration.Duration | undefined, now: number): void => {
    const expiresAt = ttl === undefined || !Duration.isFinite(ttl)
      ? Number.POSITIVE_INFINITY
      : now + Duration.toMillis(ttl)
    store.set(id, { value: ownBytes(value), expiresAt })
  }

  /**
   * Renews `id` in place if it holds `restamp`'s entry: a new array (the same instance would keep
   * a region's decoding of the old header), the payload copied as it is, the TTL reset.
   */
  const restampOne = (id: string, restamp: BackendRestamp, now: number): boolean => {
    const current = lookup(id, now)
    const { expected, header } = restamp
    if (current === undefined || current.length !== restamp.length || header.length !== expected.length) return false
    for (let i = 0; i < expected.length; i++) if (current[i] !== expected[i]) return false
    const renewed = current.slice()
    renewed.set(header, 0)
    write(id, renewed, restamp.ttl, now)
    return true
  }

  const ids = (keys: ReadonlyArray<CacheKey.CacheKey>): Effect.Effect<ReadonlyArray<string>, UnsupportedKeyError> => {
    const all: Array<string> = []
    for (const key of keys) {
      const id = idOf(key)
      if (Exit.isExit(id) && Exit.isSuccess(id)) all.push(id.value as string)
      else return Effect.as(id, all)
    }
    return Exit.succeed(all)
  }

  return Backend.of({
    name: "memory",
    capabilities: { hashKeys, ttl: true },
    get: (key) =>
      Eager.flatMap(idOf(key), (id) => Clock.clockWith((clock) => Exit.succeed(read(id, clock.currentTimeMillisUnsafe())))),
    peek: (key, now) => {
      if (typeof key === "string") return lookup(key, now)
      return hashKeys ? lookup(CacheKey.render(key), now) : undefined
    },
    getMany: (keys) =>
      Eager.flatMap(ids(keys), (all) =>
        Clock.clockWith((clock) => {
          const now = clock.currentTimeMillisUnsafe()
          return Exit.succeed(all.map((id) => read(id, now)))
        })),
    set: (key, value, ttl) =>
      Eager.flatMap(idOf(key), (id) =>
        Clock.clockWith((clock) => Exit.succeed(write(id, value, ttl, clock.currentTimeMillisUnsafe())))),
    setMany: (entries: ReadonlyArray<BackendEntry>) =>
      Effect.flatMap(ids(entries.map((entry) => entry.key)), (all) =>
        Clock.clockWith((clock) =>
          Effect.sync(() => {
            const now = clock.currentTimeMillisUnsafe()
            all.forEach((id, i) => {
              // Index is within bounds: `all` was built from `entries` one-to-one.
              const entry = entries[i] as BackendEntry
              write(id, entry.value, entry.ttl, now)
            })
          })
        )),
    restampMany: (entries: ReadonlyArray<BackendRestamp>) =>
      Effect.flatMap(ids(entries.map((entry) => entry.key)), (all) =>
        Clock.clockWith((clock) =>
          Effect.sync(() => {
            const now = clock.currentTimeMillisUnsafe()
            // Index is within bounds: `all` was built from `entries` one-to-one.
            return all.map((id, i) => restampOne(id, entries[i] as BackendRestamp, now))
          })
        )),
    delete: (key) => Effect.flatMap(idOf(key), (id) => Effect.sync(() => void store.delete(id))),
    deleteMany: (keys) => Effect.flatMap(ids(keys), (all) => Effect.sync(() => all.forEach((id) => store.delete(id))))
  })
}

/**
 * The in-memory backend as a Layer. Each build of the Layer has its own store.
 *
 * @example
 * ```ts
 * import { MemoryBackend } from "@dogpile-effect/core"
 * const BackendLive = MemoryBackend.layer({ capacity: 10_000 })
 * ```
 *
 * @since 0.1.0
 */
export const layer = (options?: MemoryBackendOptions): Layer.Layer<Backend, InvalidOptionError> =>
  Layer.effect(Backend, make(options))
