/**
 * A region's operations, wired from its settings, backend, lock and storage.
 * The decisions of get-or-create live in `Dogpile.ts`; this module reads,
 * writes and counts around them.
 *
 * @internal
 */
import { Clock, Context, Effect, Exit, type Fiber, FiberSet, Option, Tracer } from "effect"
import type { Backend } from "../Backend.ts"
import type * as CacheKey from "../CacheKey.ts"
import { type CacheError, InvalidKeyError, RegionClosedError } from "../CacheError.ts"
import * as Dogpile from "../Dogpile.ts"
import * as EntryMeta from "../EntryMeta.ts"
import { CurrentInvalidation } from "../Invalidation.ts"
import type { Lock } from "../Lock.ts"
import type { GetOptions, GetOrCreateOptions, Region, SetOptions } from "../Region.ts"
import * as RegionEvent from "../RegionEvent.ts"
import * as RegionMetrics from "../RegionMetrics.ts"
import * as Bypass from "./bypass.ts"
import * as FastPath from "./fastPath.ts"
import * as HotCounter from "./hotCounter.ts"
import * as Inspect from "./inspect.ts"
import * as Keys from "./keys.ts"
import * as Reads from "./reads.ts"
import * as Settings from "./settings.ts"
import * as Stored from "./stored.ts"
import * as TagMarks from "./tagMarks.ts"
import * as Writes from "./writes.ts"

/** A built region and what closes it. */
export interface Operations<A> {
  readonly region: Region<A>
  readonly close: Effect.Effect<void>
}

/** A creator's value without the expiration it may carry (for the bypass path, which stores nothing). */
const unwrap = <A>(value: A | EntryMeta.Expiring<A>): A => (EntryMeta.isExpiring(value) ? value.value as A : value as A)

/** Builds the operations of one region. */
export const make = <A>(
  settings: Settings.RegionSettings<A>,
  backend: Backend["Service"],
  lock: Lock["Service"],
  background: FiberSet.FiberSet<unknown, unknown>
): Effect.Effect<Operations<A>> =>
  Effect.gen(function*() {
    const strategy = yield* CurrentInvalidation
    const hub = yield* RegionEvent.makeHub()
    const { name, keySpace } = settings
    const metrics = RegionMetrics.forRegion(name)
    // The counters of every single-key read: found in the registry once per context, not per read.
    const hitCounter = HotCounter.make(metrics.hits)
    const missCounter = HotCounter.make(metrics.misses)
    // Only a backend that answers in process hands back the same bytes again: decoded entries are kept for it.
    const storage = Stored.make(settings, metrics, backend.peek !== undefined)
    const invalidation = strategy({ region: name, backend, markerPrefix: settings.marksPrefix })
    const tagMarks = TagMarks.make(backend, settings.marksPrefix, settings.defaults.storeTtl)
    const early = settings.earlyRefresh
    const inspector: Inspect.Inspector = {
      settings: settings as Settings.RegionSettings<unknown>,
      backend,
      lock,
      invalidation,
      tagMarks
    }
    /** Emits one event per key read: hits and misses. */
    const emitReads = (targets: ReadonlyArray<Keys.Target>, hits: ReadonlyArray<boolean>) =>
      hub.listening()
        ? Effect.forEach(targets, (t, i) =>
          hub.emit(() => ({ _tag: hits[i] ? "Hit" : "Miss", region: name, key: Keys.display(t) })), { discard: true })
        : Effect.void
    let closed = false
    const spanOptions = { attributes: { region: name }, captureStackTrace: false } as const
    // Data-first on purpose: effect 4.1's data-last `withSpan` ignores `captureStackTrace`
    // and captures a stack trace on every call, which dominated the hit path.
    const span = <X, E, R>(spanName: string, self: Effect.Effect<X, E, R>) =>
      Effect.withSpan(self, spanName, spanOptions)
    /**
     * Whether spans are exported: Effect's native tracer exports nothing (and a span costs more than a whole
     * hit), so under it, or with tracing turned off, no operation opens one.
     */
    const exporting = (fiber: Fiber.Fiber<unknown, unknown>): boolean => {
      const cache = fiber.cache
      return cache.tracer !== undefined && cache.tracer !== Tracer.nativeTracer && cache.tracerEnabled
    }
    /** Every operation starts here: a closed region fails at once, naming itself. */
    const open = <X, E, R>(spanName: string, body: () => Effect.Effect<X, E, R>): Effect.Effect<X, E | RegionClosedError, R> =>
      Effect.withFiber((fiber): Effect.Effect<X, E | RegionClosedError, R> => {
        const inner: Effect.Effect<X, E | RegionClosedError, R> = closed ? Effect.fail(new RegionClosedError({ region: name })) : body()
        return exporting(fiber) ? span(spanName, inner) : inner
      })

    /**
     * The operations with a synchronous hit run in one primitive (`withFiber`, which gives the clock and
     * the metric context) and answer a hit with a ready `Exit`. A call is quiet on an open region when no
     * span is exported; otherwise it goes through `loud`: an exporting tracer sees a span for every call,
     * hits included, and a closed region fails naming itself.
     */
    const quiet = (fiber: Fiber.Fiber<unknown, unknown>): boolean => !closed && !exporting(fiber)
    const loud = <X, E, R>(
      spanName: string,
      run: (fiber: Fiber.Fiber<unknown, unknown>) => Effect.Effect<X, E, R>
    ): Effect.Effect<X, E | RegionClosedError, R> =>
      span<X, E | RegionClosedError, R>(spanName, closed ? Effect.fail(new RegionClosedError({ region: name })) : Effect.withFiber(run))

    // The clock of the last context seen (contexts are immutable: the same one gives the same clock).
    let lastContext: Context.Context<never> | undefined
    let lastClock: Clock.Clock | undefined
    const clockIn = (context: Context.Context<never>): Clock.Clock => {
      if (context !== lastContext || lastClock === undefined) {
        lastClock = Context.get(context, Clock.Clock)
        lastContext = context
      }
      return lastClock
    }

    const resolveKey = Keys.resolver(keySpace)
    const resolveKeys = (keys: ReadonlyArray<unknown>) => Keys.resolveAllWith(resolveKey, keys)
    const fastHit = FastPath.make(backend, storage, invalidation, tagMarks, early)
    /** Counts a fast hit where it happened (no effect of its own) and answers with the entry's ready `Exit`. */
    const countFastHit = <X>(target: Keys.Target, answer: Exit.Exit<X>, context: Context.Context<never>): Effect.Effect<X> => {
      hitCounter.add(1, context)
      return hub.listening() ? Effect.andThen(emitReads([target], [true]), answer) : answer
    }

    /**
     * The start of every single-key read: the caller's clock, the key, then the synchronous hit (only for
     * calls without options of their own), answered with `answer(entry)`; anything else goes to `otherwise`.
     * `extra` is the operation's own argument (the creator), passed through so no closure is built per call.
     */
    const readOne = <X, Extra, C, E, R>(
      fiber: Fiber.Fiber<unknown, unknown>,
      key: CacheKey.CacheKey,
      call: C | undefined,
      extra: Extra,
      answer: (entry: Stored.Stored<A>) => Exit.Exit<X>,
      otherwise: (target: Keys.Target, now: number, context: Context.Context<never>, call: C | undefined, extra: Extra) => Effect.Effect<X, E, R>
    ): Effect.Effect<X, E | InvalidKeyError, R> => {
      const context = fiber.context
      const now = clockIn(context).currentTimeMillisUnsafe()
      const target = resolveKey(key)
      if (target instanceof InvalidKeyError) return Effect.fail(target)
      if (call === undefined && fastHit !== undefined) {
        const hit = fastHit(target, settings.defaults.expirationMs, now, context)
        if (hit !== FastPath.noHit) return countFastHit(target, answer(hit), context)
      }
      return otherwise(target, now, context, call, extra)
    }

    // ---- reading -----------------------------------------------------------

    const reads = Reads.make({ backend, storage, invalidation, tagMarks, early })
    const readFound = reads.many

    const dogpile: Dogpile.Dogpile<A> = {
      lock,
      reread: (targets, call) => reads.again(targets, call.expirationMs),
      store: (entries, call, now) => writes.store(entries, call, now),
      background,
      metrics,
      lockTimeoutMs: settings.lockTimeoutMs,
      locked: lock.lockedMiss?.(backend),
      inflight: new Map(),
      recordComputeTime: settings.earlyRefresh !== undefined,
      emit: (make) => hub.emit(() => ({ ...make(), region: name }) as RegionEvent.RegionEvent)
    }

    const { bypass, guardStore } = Bypass.make({
      enabled: settings.bypass,
      metrics,
      emit: (id, reason) => hub.emit(() => ({ _tag: "Bypassed", region: name, key: id, reason }))
    })
    const writes = Writes.make(settings, backend, storage, guardStore)

    // ---- get-or-create -----------------------------------------------------

    // The hit path is a plain flatMap chain: a generator costs more than the rest of a hit.
    const getOrCreate = <E, R>(
      key: CacheKey.CacheKey,
      creator: Effect.Effect<A | EntryMeta.Expiring<A>, E, R>,
      call?: GetOrCreateOptions<A>
    ): Effect.Effect<A, E | CacheError, R> =>
      Effect.withFiber((fiber) =>
        quiet(fiber)
          ? getOrCreateIn(fiber, key, creator, call)
          : loud("Region.getOrCreate", (inner) => getOrCreateIn(inner, key, creator, call))
      )

    const getOrCreateIn = <E, R>(
      fiber: Fiber.Fiber<unknown, unknown>,
      key: CacheKey.CacheKey,
      creator: Effect.Effect<A | EntryMeta.Expiring<A>, E, R>,
      call: GetOrCreateOptions<A> | undefined
    ): Effect.Effect<A, E | CacheError, R> => readOne(fiber, key, call, creator, Stored.hitExit, getOrCreateMissed)

    /** `getOrCreate` past the synchronous hit: the reentry check, then the read and the dogpile (or the bypass). */
    const getOrCreateMissed = <E, R>(
      target: Keys.Target,
      now: number,
      context: Context.Context<never>,
      call: GetOrCreateOptions<A> | undefined,
      creator: Effect.Effect<A | EntryMeta.Expiring<A>, E, R>
    ): Effect.Effect<A, E | CacheError, R> => {
      const reentered = Dogpile.reentered(context, [target], Keys.display)
      if (reentered !== undefined) return Effect.fail(reentered)
      const run = (callSettings: Settings.CallSettings<A>) =>
        bypass(target.id, getOrCreateOne(target, creator, callSettings, now, context), Effect.map(creator, unwrap))
      return call === undefined ? run(settings.defaults) : Effect.flatMap(Settings.forCall(settings, call), run)
    }

    /** One key after the fast path: a read (the hit answers with no further fiber step), then the dogpile. */
    const getOrCreateOne = <E, R>(
      target: Keys.Target,
      creator: Effect.Effect<A | EntryMeta.Expiring<A>, E, R>,
      call: Settings.CallSettings<A>,
      now: number,
      context: Context.Context<never>
    ): Effect.Effect<A, E | CacheError, R> =>
      Effect.flatMap(reads.one(target, call.expirationMs, now, true, context), (found) => {
        const fresh = found._tag === "Fresh"
        ;(fresh ? hitCounter : missCounter).add(1, context)
        const counted = hub.listening() ? emitReads([target], [fresh]) : undefined
        if (fresh && found.early !== true) return counted === undefined ? Exit.succeed(found.value) : Effect.as(counted, found.value)
        const created = Effect.map(
          Dogpile.run(dogpile, [target], [found], () => Effect.map(creator, (value) => [value]), call),
          (values) => values.get(target.id) as A
        )
        return counted === undefined ? created : Effect.andThen(counted, created)
      })

    const getOrCreateMany = <E, R>(
      keys: ReadonlyArray<CacheKey.CacheKey>,
      creator: (keys: ReadonlyArray<CacheKey.CacheKey>) => Effect.Effect<ReadonlyArray<A | EntryMeta.Expiring<A>>, E, R>,
      call?: GetOrCreateOptions<A>
    ): Effect.Effect<ReadonlyArray<A>, E | CacheError, R> =>
      open("Region.getOrCreateMany", () => {
        const targets = resolveKeys(keys)
        if (targets instanceof InvalidKeyError) return Effect.fail(targets)
        if (targets.length === 0) return Effect.succeed([])
        const distinct = Keys.distinct(targets)
        const batch: Dogpile.BatchCreator<A, E, R> = (chosen) => creator(chosen.map((t) => t.key))
        return Effect.flatMap(Settings.forCall(settings, call), (callSettings) =>
          Effect.andThen(
            Dogpile.checkReentry(distinct, Keys.display),
            bypass(
              () => distinct.map((t) => t.id).join("\u0001"),
              Effect.flatMap(readFound(distinct, callSettings.expirationMs, true), (found) =>
                Effect.andThen(
                  countReads(found.map((f) => f._tag === "Fresh"), distinct),
                  Dogpile.valuesFor(dogpile, targets, distinct, found, batch, callSettings)
                )),
              Effect.map(Effect.suspend(() => batch(distinct)), (values) => {
                const byId = new Map(distinct.map((t, i) => [t.id, unwrap(values[i] as A | EntryMeta.Expiring<A>)]))
                return targets.map((t) => byId.get(t.id) as A)
              })
            )
          ))
      })


    /** Counts the reads of a batch (hits and misses) in the caller's context, then emits their events. */
    const countReads = (hits: ReadonlyArray<boolean>, targets: ReadonlyArray<Keys.Target>): Effect.Effect<void> =>
      Effect.withFiber((fiber) => {
        let hitCount = 0
        for (const hit of hits) if (hit) hitCount++
        if (hitCount > 0) hitCounter.add(hitCount, fiber.context)
        if (hitCount < hits.length) missCounter.add(hits.length - hitCount, fiber.context)
        return emitReads(targets, hits)
      })

    // ---- plain operations --------------------------------------------------

    const readable = (found: Stored.Found<A>, call?: GetOptions): Option.Option<A> => {
      if (found._tag === "Fresh") return Option.some(found.value)
      if (found._tag === "Stale" && call?.ignoreExpiration === true) return Option.some(found.value)
      return Option.none()
    }

    const getMany = (keys: ReadonlyArray<CacheKey.CacheKey>, call?: GetOptions) =>
      open("Region.getMany", () => {
        const targets = resolveKeys(keys)
        if (targets instanceof InvalidKeyError) return Effect.fail(targets)
        if (targets.length === 0) return Effect.succeed([])
        return Effect.flatMap(Settings.expirationFor(settings as Settings.RegionSettings<unknown>, call), (expirationMs) =>
          Effect.flatMap(readFound(targets, expirationMs, true), (found) => {
            const values = found.map((f) => readable(f, call))
            return Effect.as(countReads(values.map(Option.isSome), targets), values)
          }))
      })

    const get = (key: CacheKey.CacheKey, call?: GetOptions): Effect.Effect<Option.Option<A>, CacheError> =>
      Effect.withFiber((fiber) =>
        quiet(fiber) ? getIn(fiber, key, call) : loud("Region.get", (inner) => getIn(inner, key, call))
      )

    const getIn = (
      fiber: Fiber.Fiber<unknown, unknown>,
      key: CacheKey.CacheKey,
      call: GetOptions | undefined
    ): Effect.Effect<Option.Option<A>, CacheError> => readOne(fiber, key, call, undefined, Stored.someHitExit, getMissed)

    /** `get` past the synchronous hit: one read, counted. */
    const getMissed = (
      target: Keys.Target,
      now: number,
      context: Context.Context<never>,
      call: GetOptions | undefined
    ): Effect.Effect<Option.Option<A>, CacheError> => {
      const readAt = (expirationMs: number) =>
        Effect.flatMap(reads.one(target, expirationMs, now, true, context), (found) => {
          const value = readable(found, call)
          ;(Option.isSome(value) ? hitCounter : missCounter).add(1, context)
          return hub.listening() ? Effect.as(emitReads([target], [Option.isSome(value)]), value) : Exit.succeed(value)
        })
      return call === undefined
        ? readAt(settings.defaults.expirationMs)
        : Effect.flatMap(Settings.expirationFor(settings as Settings.RegionSettings<unknown>, call), readAt)
    }

    const setMany = (entries: ReadonlyArray<readonly [CacheKey.CacheKey, A]>, call?: SetOptions) =>
      open("Region.setMany", () => writes.setMany(entries, call))

    const set = (key: CacheKey.CacheKey, value: A, call?: SetOptions) =>
      open("Region.set", () => writes.setMany([[key, value]], call))

    const deleteMany = (keys: ReadonlyArray<CacheKey.CacheKey>) =>
      open("Region.deleteMany", (): Effect.Effect<void, CacheError> => {
        const targets = resolveKeys(keys)
        if (targets instanceof InvalidKeyError) return Effect.fail(targets)
        if (targets.length === 0) return Effect.void
        return backend.deleteMany(targets.map((t) => t.full))
      })

    const del = (key: CacheKey.CacheKey) =>
      open("Region.delete", (): Effect.Effect<void, CacheError> => {
        const target = resolveKey(key)
        if (target instanceof InvalidKeyError) return Effect.fail(target)
        return backend.delete(target.full)
      })

    const invalidate = (call?: { readonly hard?: boolean }) =>
      open("Region.invalidate", () =>
        Effect.andThen(
          invalidation.invalidate({ hard: call?.hard === true }),
          hub.emit(() => ({ _tag: "Invalidated", region: name, hard: call?.hard === true }))
        ))

    const invalidateTags = (tags: ReadonlyArray<string>, call?: { readonly hard?: boolean }) =>
      open("Region.invalidateTags", () =>
        Effect.flatMap(Settings.validateTags(name, tags), (valid) =>
          valid === undefined ? Effect.void : Effect.andThen(
            tagMarks.invalidate(valid, call?.hard === true),
            hub.emit(() => ({ _tag: "Invalidated", region: name, hard: call?.hard === true, tags: valid }))
          )))

    const withTarget = <X>(spanName: string, key: CacheKey.CacheKey, f: (target: Keys.Target) => Effect.Effect<X, CacheError>) =>
      open(spanName, () => {
        const target = resolveKey(key)
        return target instanceof InvalidKeyError ? Effect.fail(target) : f(target)
      })

    const has = (key: CacheKey.CacheKey, call?: GetOptions) =>
      withTarget("Region.has", key, (target) =>
        Effect.flatMap(Settings.expirationFor(settings as Settings.RegionSettings<unknown>, call), (expirationMs) =>
          Effect.map(readFound([target], expirationMs, false), ([found]) => Option.isSome(readable(found!, call)))))

    const region: Region<A> = {
      name,
      get,
      getMany,
      getOrCreate,
      getOrCreateMany,
      set,
      setMany,
      delete: del,
      deleteMany,
      invalidate,
      invalidateTags,
      has,
      inspect: (key) => withTarget("Region.inspect", key, (target) => Inspect.inspect(inspector, target)),
      lockStatus: (key) => withTarget("Region.lockStatus", key, (target) => Inspect.lockStatus(inspector, target)),
      events: hub.stream,
      subscribe: hub.subscribe,
      awaitBackground: FiberSet.awaitEmpty(background),
      metrics
    }
    return {
      region,
      close: Effect.sync(() => {
        closed = true
      })
    }
  })
