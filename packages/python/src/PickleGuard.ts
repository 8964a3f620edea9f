/**
 * Refuses to share a cache with a Python region that pickles. A dogpile.cache
 * region without a `serializer` (or the plugin 0.5.0 given only
 * `loads`/`dumps`, which it ignores) stores
 * `{"ct": …, "v": 2}|<pickle bytes>`; Python's `pickle.loads` then raises
 * `UnpicklingError` on every value TypeScript writes. Reading such a value
 * is therefore an error here, never a miss: `getOrCreate` stops before it
 * writes bytes the Python side would raise on, and the error says what to
 * change on the Python side.
 *
 * @since 0.1.0
 */
import { Backend, BackendError, type CacheKey } from "@dogpile-effect/core"
import { Effect, Layer, Option } from "effect"

const PIPE = 0x7c
const PICKLE_PROTO = 0x80
const PICKLE_STOP = 0x2e

/**
 * Whether `bytes` hold a pickle, bare or as the payload of dogpile's
 * `metadata|payload` layout: the PROTO opcode (0x80) with protocol 2–5 first
 * and the STOP opcode (`.`) last. No JSON document starts with 0x80, and a
 * MessagePack payload that starts with 0x80 is the empty map, one byte long,
 * so neither is mistaken for a pickle.
 *
 * @example
 * ```ts
 * import { PickleGuard } from "@dogpile-effect/python"
 * PickleGuard.isPickled(Uint8Array.of(0x80, 0x04, 0x4e, 0x2e)) // true: pickle.dumps(None, 4)
 * PickleGuard.isPickled(new TextEncoder().encode('{"ct": 1.5, "v": 2}|{}')) // false
 * ```
 *
 * @category predicates
 * @since 0.1.0
 */
export const isPickled = (bytes: Uint8Array): boolean => {
  const start = bytes[0] === PICKLE_PROTO ? 0 : bytes.indexOf(PIPE) + 1
  const protocol = bytes[start + 1] ?? 0
  return bytes[start] === PICKLE_PROTO && protocol >= 2 && protocol <= 5 && bytes.length >= start + 3 &&
    bytes[bytes.length - 1] === PICKLE_STOP
}

const refusal = (backend: string, key: CacheKey.CacheKey | undefined) =>
  new BackendError({
    backend,
    operation: "get",
    reason: `the Python region pickles${key === undefined ? "" : ` (found at ${typeof key === "string" ? key : `${key.hash} ${key.field}`})`}: ` +
      "give it serializer/deserializer for the preset's format (docs/python-interop.md); values TypeScript wrote would make it raise"
  })

const checkOne = (name: string, key: CacheKey.CacheKey | undefined) => (found: Option.Option<Uint8Array>) =>
  Option.isSome(found) && isPickled(found.value) ? Effect.fail(refusal(name, key)) : Effect.succeed(found)

const checkMany = (name: string, keys: ReadonlyArray<CacheKey.CacheKey>) => (found: ReadonlyArray<Option.Option<Uint8Array>>) => {
  const at = found.findIndex((one) => Option.isSome(one) && isPickled(one.value))
  return at < 0 ? Effect.succeed(found) : Effect.fail(refusal(name, keys[at]))
}

/**
 * The backend `inner`, failing every read that meets a pickled value with a
 * `BackendError` instead of returning it (the codec would read it as a miss,
 * and the region would overwrite it). Writes are unchanged. Every preset
 * applies it.
 *
 * @example
 * ```ts
 * import { Backend } from "@dogpile-effect/core"
 * import { PickleGuard } from "@dogpile-effect/python"
 * import { Effect } from "effect"
 * const guarded = Effect.map(Backend, PickleGuard.guard)
 * ```
 *
 * @category combinators
 * @since 0.1.0
 */
export const guard = (inner: Backend["Service"]): Backend["Service"] => {
  const { getManyFromStore } = inner
  return Backend.of({
    ...inner,
    get: (key) => Effect.flatMap(inner.get(key), checkOne(inner.name, key)),
    getMany: (keys) => Effect.flatMap(inner.getMany(keys), checkMany(inner.name, keys)),
    ...(getManyFromStore === undefined
      ? {}
      : { getManyFromStore: (keys) => Effect.flatMap(getManyFromStore(keys), checkMany(inner.name, keys)) }),
    // A synchronous peek cannot fail: a pickled value goes through `get`, which does.
    ...(inner.peek === undefined ? {} : {
      peek: (key: CacheKey.CacheKey, now: number) => {
        const bytes = inner.peek?.(key, now)
        return bytes === undefined || isPickled(bytes) ? undefined : bytes
      }
    })
  })
}

/**
 * A Layer that replaces `Backend` with its guarded version ({@link guard}).
 *
 * @example
 * ```ts
 * import { PickleGuard } from "@dogpile-effect/python"
 * import { RedisBackend } from "@dogpile-effect/redis"
 * import { Layer } from "effect"
 * const backend = PickleGuard.layer.pipe(Layer.provide(RedisBackend.layer()))
 * ```
 *
 * @category layers
 * @since 0.1.0
 */
export const layer: Layer.Layer<Backend, never, Backend> = Layer.effect(Backend, Effect.map(Backend, guard))
