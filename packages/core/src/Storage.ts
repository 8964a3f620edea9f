/**
 * Where a region keeps its entries, named in the region's own options
 * (`storage`): plain keys, a near cache, hash buckets, a Python preset or
 * memory. A storage is a value describing how to build the region's
 * `Backend` (and, for presets that bring their own, its `Lock`) from the
 * context, so N regions over one `RedisClient` share its connections. A
 * region without `storage` takes the `Backend` and `Lock` in context, as
 * before ({@link context}).
 *
 * @since 0.1.0
 */
import { Context, Effect, Layer, type Scope } from "effect"
import { Backend } from "./Backend.ts"
import { Codec, type CodecShape } from "./Codec.ts"
import { CurrentEnvelope, type EnvelopeShape } from "./Envelope.ts"
import { Lock } from "./Lock.ts"
import * as MemoryBackend from "./MemoryBackend.ts"
import type { InvalidOptionError } from "./CacheError.ts"
import type { Expiration } from "./RegionOptions.ts"

/**
 * The Redis key (a hash) where a region built over a storage that can write
 * one records its layout: `__dogpile__:layout:<region name>`. Namespaces
 * cannot start with `_`, so it never collides with a namespaced entry.
 *
 * @example
 * ```ts
 * import { Storage } from "@dogpile-effect/core"
 * const key = `${Storage.LAYOUT_KEY_PREFIX}users` // "__dogpile__:layout:users"
 * ```
 *
 * @category constants
 * @since 0.1.0
 */
export const LAYOUT_KEY_PREFIX = "__dogpile__:layout:"

/**
 * A region's layout as recorded: field name to value (`storage`,
 * `namespace`, `envelope`, `codec`, `bucketing`, `bucketSize`, `python`, …).
 *
 * @example
 * ```ts
 * import type { Storage } from "@dogpile-effect/core"
 * const layout: Storage.Layout = { storage: "plain", envelope: "full", codec: "json" }
 * ```
 *
 * @category models
 * @since 0.1.0
 */
export type Layout = Readonly<Record<string, string>>

/**
 * Region options a storage sets unless the region's own options say
 * otherwise (a Python preset keeps keys verbatim, for instance).
 *
 * @example
 * ```ts
 * import type { Storage } from "@dogpile-effect/core"
 * const verbatim: Storage.Defaults = { namespace: false }
 * ```
 *
 * @category models
 * @since 0.1.0
 */
export interface Defaults {
  readonly namespace?: string | false | undefined
  readonly storeTtl?: Expiration | undefined
  readonly envelope?: EnvelopeShape | undefined
  readonly codec?: CodecShape | undefined
}

/**
 * What a storage builds for one region.
 *
 * @example
 * ```ts
 * import type { Storage } from "@dogpile-effect/core"
 * const hasOwnLock = (built: Storage.Built) => built.lock !== undefined
 * ```
 *
 * @category models
 * @since 0.1.0
 */
export interface Built {
  readonly backend: Backend["Service"]
  /** The region's lock. */
  readonly lock: Lock["Service"]
  /** Overrides of the region's defaults found while building (a preset's codec and envelope). */
  readonly defaults: Defaults
  /** Writes the region's layout where tools can read it; the region ignores its failure. */
  readonly record: ((name: string, layout: Layout) => Effect.Effect<void, unknown>) | undefined
}

/**
 * A region's storage: how to build its backend and lock from the context
 * (`R`), once per region, in the region's scope.
 *
 * @example
 * ```ts
 * import { Region, Storage } from "@dogpile-effect/core"
 * import { Schema } from "effect"
 * class Answers extends Region.Service<Answers>()("app/Answers", {
 *   name: "answers", schema: Schema.Number, storage: Storage.memory()
 * }) {}
 * ```
 *
 * @category models
 * @since 0.1.0
 */
export interface Storage<E = never, R = never> {
  /** `plain`, `near`, `hash`, `memory`, `python:<preset>`, `context`. */
  readonly kind: string
  /** What the storage adds to the recorded layout (bucketing, preset, format…). */
  readonly layout: Layout
  readonly defaults: Defaults
  readonly build: Effect.Effect<Built, E, R | Scope.Scope>
}

/**
 * The default storage: the `Backend` and `Lock` in context. Records nothing.
 *
 * @example
 * ```ts
 * import { Storage } from "@dogpile-effect/core"
 * const kind = Storage.context.kind // "context"
 * ```
 *
 * @category constructors
 * @since 0.1.0
 */
export const context: Storage<never, Backend | Lock> = {
  kind: "context",
  layout: {},
  defaults: {},
  build: Effect.gen(function*() {
    const backend = yield* Backend
    const lock = yield* Lock
    return { backend, lock, defaults: {}, record: undefined }
  })
}

/**
 * Options of {@link fromLayer} and {@link fromLayerWithLock}.
 *
 * @example
 * ```ts
 * import type { Storage } from "@dogpile-effect/core"
 * const options: Storage.LayerOptions<never> = { layout: { bucketing: "none" } }
 * ```
 *
 * @category models
 * @since 0.1.0
 */
export interface LayerOptions<RR> {
  /** Fields added to the recorded layout. */
  readonly layout?: Layout | undefined
  readonly defaults?: Defaults | undefined
  /** Reads, from the context, how to write the layout; without it nothing is recorded. */
  readonly record?: Effect.Effect<(name: string, layout: Layout) => Effect.Effect<void, unknown>, never, RR> | undefined
}

const buildFrom = <ROut, E, R, RR, RL>(
  layer: Layer.Layer<Backend | ROut, E, R>,
  options: LayerOptions<RR>,
  lockOf: (built: Context.Context<Backend | ROut>) => Effect.Effect<Lock["Service"], never, RL>
): Effect.Effect<Built, E, R | RR | RL | Scope.Scope> =>
  Effect.gen(function*() {
    const built = yield* Layer.build(layer)
    const lock = yield* lockOf(built)
    const record = options.record === undefined ? undefined : yield* options.record
    const codec = Context.getOrUndefined(built, Codec)
    const envelope = Context.getOrUndefined(built, CurrentEnvelope)
    return { backend: Context.get(built, Backend), lock, defaults: { codec, envelope }, record }
  })

/**
 * A storage from a Layer providing the `Backend` (and possibly `Codec` and
 * `Envelope.CurrentEnvelope`, which become the region's defaults), built
 * once per region over the context: what the Layer needs (a `RedisClient`)
 * is shared, not rebuilt. The lock is the one in context.
 *
 * @example
 * ```ts
 * import { MemoryBackend, Storage } from "@dogpile-effect/core"
 * const inMemory = Storage.fromLayer("memory", MemoryBackend.layer())
 * ```
 *
 * @category constructors
 * @since 0.1.0
 */
export const fromLayer = <ROut, E, R, RR = never>(
  kind: string,
  layer: Layer.Layer<Backend | ROut, E, R>,
  options: LayerOptions<RR> = {}
): Storage<E, R | RR | Lock> => ({
  kind,
  layout: { storage: kind, ...options.layout },
  defaults: options.defaults ?? {},
  build: buildFrom(layer, options, () => Effect.service(Lock))
})

/**
 * {@link fromLayer} for a Layer that brings its own `Lock` too (a Python
 * preset's lock names): the region needs no `Lock` in context.
 *
 * @example
 * ```ts
 * import { Lock, MemoryBackend, Storage } from "@dogpile-effect/core"
 * import { Layer } from "effect"
 * const own = Storage.fromLayerWithLock("memory", Layer.mergeAll(MemoryBackend.layer(), Lock.layerLocal))
 * ```
 *
 * @category constructors
 * @since 0.1.0
 */
export const fromLayerWithLock = <ROut, E, R, RR = never>(
  kind: string,
  layer: Layer.Layer<Backend | Lock | ROut, E, R>,
  options: LayerOptions<RR> = {}
): Storage<E, R | RR> => ({
  kind,
  layout: { storage: kind, ...options.layout },
  defaults: options.defaults ?? {},
  build: buildFrom(layer, options, (built) => Effect.succeed(Context.get(built, Lock)))
})

/**
 * A storage in this process's memory (`MemoryBackend`), for tests and
 * single-process apps; the lock is the one in context.
 *
 * @example
 * ```ts
 * import { Storage } from "@dogpile-effect/core"
 * const local = Storage.memory({ maxEntries: 1000 })
 * ```
 *
 * @category constructors
 * @since 0.1.0
 */
export const memory = (options?: MemoryBackend.MemoryBackendOptions): Storage<InvalidOptionError, Lock> =>
  fromLayer("memory", MemoryBackend.layer(options))
