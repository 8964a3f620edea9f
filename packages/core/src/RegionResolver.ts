/**
 * A `RequestResolver` whose results are cached per request in a region, with
 * the batch kept: of the requests Effect collects into one batch, those whose
 * key is fresh in the region are answered from it (one `getMany` round trip),
 * and the rest go to the underlying resolver together, in one batch, under the
 * region's dogpile lock; their results are stored. Effect's own
 * `RequestResolver.persisted` does this over a `Persistence` store; this one
 * keeps every region rule (expiry, stale serving, invalidation, tags, the
 * lock across processes).
 *
 * @since 0.1.0
 */
import { Cause, Effect, Exit, Predicate, Request, RequestResolver } from "effect"
import type { NonEmptyArray } from "effect/Array"
import * as CacheKey from "./CacheKey.ts"
import type { InvalidOptionError } from "./CacheError.ts"
import * as Options from "./Options.ts"
import type { GetOrCreateOptions, Region } from "./Region.ts"

const COMPONENT = "RegionResolver"

/**
 * Options of {@link make}.
 *
 * @example
 * ```ts
 * import type { RegionResolver } from "@dogpile-effect/core"
 * import type { Request } from "effect"
 *
 * interface GetUser extends Request.Request<string> {
 *   readonly id: number
 * }
 * const options: RegionResolver.RegionResolverOptions<GetUser> = {
 *   key: (request) => `user:${request.id}`,
 *   getOrCreate: { tags: ["users"] }
 * }
 * ```
 *
 * @category models
 * @since 0.1.0
 */
export interface RegionResolverOptions<A extends Request.Any> {
  /**
   * The request's key in the region. Requests with the same key in one batch
   * are sent to the underlying resolver once (the first of them) and all get
   * its result.
   */
  readonly key: (request: A) => CacheKey.CacheKey
  /** Options of every `getOrCreateMany` the resolver makes (expiration, tags, timeouts, ...). */
  readonly getOrCreate?: GetOrCreateOptions<Request.Success<A>> | undefined
}

/** A request's result. */
type ExitOf<A extends Request.Any> = Exit.Exit<Request.Success<A>, Request.Error<A>>

/** The requests of one batch that share a key. `exit` is set once, when they are completed. */
interface Group<A extends Request.Any> {
  readonly key: CacheKey.CacheKey
  readonly entries: NonEmptyArray<Request.Entry<A>>
  exit: ExitOf<A> | undefined
}

/** The failure of a creator run in which the underlying resolver failed some requests. */
class Unstored {
  readonly _tag = "Unstored"
}

const unstored = new Unstored()

const isUnstored = (u: unknown): u is Unstored => u instanceof Unstored

/** Groups `entries` by their rendered key, in the order of first appearance. */
const groupEntries = <A extends Request.Any>(
  entries: NonEmptyArray<Request.Entry<A>>,
  keyOf: (request: A) => CacheKey.CacheKey
): Map<string, Group<A>> => {
  const groups = new Map<string, Group<A>>()
  for (const entry of entries) {
    const key = keyOf(entry.request)
    const id = CacheKey.render(key)
    const group = groups.get(id)
    if (group === undefined) groups.set(id, { key, entries: [entry], exit: undefined })
    else group.entries.push(entry)
  }
  return groups
}

/** Completes every request of `group` with `exit`, once. */
const complete = <A extends Request.Any>(group: Group<A>, exit: ExitOf<A>): void => {
  if (group.exit !== undefined) return
  group.exit = exit
  for (const entry of group.entries) entry.completeUnsafe(exit)
}

/** The entry the underlying resolver sees for `group`: its first request, completing them all. */
const representative = <A extends Request.Any>(group: Group<A>): Request.Entry<A> => {
  const first = group.entries[0]
  return Request.makeEntry<A>({
    request: first.request,
    context: first.context,
    uninterruptible: group.entries.some((entry) => entry.uninterruptible),
    completeUnsafe: (exit) => complete(group, exit)
  })
}

/**
 * Runs the underlying resolver on `groups`, in one batch. A failure of the
 * whole batch completes the requests it left open with that failure.
 */
const runUnderlying = <A extends Request.Any>(
  resolver: RequestResolver.RequestResolver<A>,
  groups: NonEmptyArray<Group<A>>,
  batchKey: unknown
): Effect.Effect<void> =>
  Effect.catchCause(
    Effect.suspend(() => resolver.runAll(groups.map(representative) as NonEmptyArray<Request.Entry<A>>, batchKey)),
    (cause) =>
      Effect.sync(() => {
        for (const group of groups) complete(group, Exit.failCause(cause))
      })
  )

/** The values of `groups` if the underlying resolver succeeded for all of them, else `Unstored`. */
const valuesOf = <A extends Request.Any>(
  groups: ReadonlyArray<Group<A>>
): Effect.Effect<ReadonlyArray<Request.Success<A>>, Unstored> => {
  const values: Array<Request.Success<A>> = []
  for (const group of groups) {
    if (group.exit === undefined || Exit.isFailure(group.exit)) return Effect.fail(unstored)
    values.push(group.exit.value)
  }
  return Effect.succeed(values)
}

/** The successes among `groups`, as entries for `setMany`. */
const successes = <A extends Request.Any>(
  groups: Iterable<Group<A>>
): Array<readonly [CacheKey.CacheKey, Request.Success<A>]> => {
  const stored: Array<readonly [CacheKey.CacheKey, Request.Success<A>]> = []
  for (const group of groups) {
    if (group.exit !== undefined && Exit.isSuccess(group.exit)) stored.push([group.key, group.exit.value])
  }
  return stored
}

const open = <A extends Request.Any>(groups: Iterable<Group<A>>): Array<Group<A>> =>
  Array.from(groups).filter((group) => group.exit === undefined)

const isNonEmpty = <T>(items: Array<T>): items is NonEmptyArray<T> => items.length > 0

/** What one batch works with. */
interface Batch<A extends Request.Any> {
  readonly region: Region<Request.Success<A>>
  readonly resolver: RequestResolver.RequestResolver<A>
  readonly options: RegionResolverOptions<A>
  readonly batchKey: unknown
  readonly groups: Map<string, Group<A>>
  /** The groups handed to the underlying resolver so far. */
  readonly dispatched: Set<Group<A>>
}

/** The creator given to `getOrCreateMany`: the underlying resolver, once, for the keys it is given. */
const creatorOf = <A extends Request.Any>(batch: Batch<A>) => (keys: ReadonlyArray<CacheKey.CacheKey>) =>
  Effect.suspend(() => {
    const chosen = keys.map((key) => batch.groups.get(CacheKey.render(key)) as Group<A>)
    for (const group of chosen) batch.dispatched.add(group)
    if (!isNonEmpty(chosen)) return Effect.succeed([])
    return Effect.andThen(
      runUnderlying(batch.resolver, chosen, batch.batchKey),
      Effect.suspend(() => valuesOf(chosen))
    )
  })

/** One batch: the region answers the fresh keys and runs the underlying resolver once for the rest. */
const runBatch = <A extends Request.Any>(
  region: Region<Request.Success<A>>,
  resolver: RequestResolver.RequestResolver<A>,
  options: RegionResolverOptions<A>,
  entries: NonEmptyArray<Request.Entry<A>>,
  batchKey: unknown
): Effect.Effect<void> =>
  Effect.suspend(() => {
    const batch: Batch<A> = {
      region,
      resolver,
      options,
      batchKey,
      groups: groupEntries(entries, options.key),
      dispatched: new Set()
    }
    const all = Array.from(batch.groups.values())
    return region.getOrCreateMany(all.map((group) => group.key), creatorOf(batch), options.getOrCreate).pipe(
      Effect.matchCauseEffect({
        onSuccess: (values) =>
          Effect.sync(() => {
            all.forEach((group, i) => complete(group, Exit.succeed(values[i] as Request.Success<A>)))
          }),
        onFailure: (cause) => recover(batch, cause)
      }),
      Effect.withSpan("RegionResolver.runAll", {
        attributes: { region: region.name, requests: entries.length, keys: all.length }
      })
    )
  })

/** Stores what the underlying resolver returned, with the call's expiration and tags. */
const storeSuccesses = <A extends Request.Any>(batch: Batch<A>): Effect.Effect<void> => {
  const stored = successes(batch.dispatched)
  if (stored.length === 0) return Effect.void
  const call = batch.options.getOrCreate
  const setOptions = {
    ...(call?.expiration === undefined ? {} : { expiration: call.expiration }),
    ...(call?.tags === undefined ? {} : { tags: call.tags })
  }
  return Effect.catchCause(
    batch.region.setMany(stored, setOptions),
    (cause) => Effect.logWarning(`RegionResolver: results not stored in region ${batch.region.name}`, cause)
  )
}

/** The groups neither completed nor handed to the underlying resolver. */
const waiting = <A extends Request.Any>(batch: Batch<A>): Array<Group<A>> =>
  open(batch.groups.values()).filter((group) => !batch.dispatched.has(group))

/** Sends `groups` to the underlying resolver, without the region. */
const bypass = <A extends Request.Any>(
  batch: Batch<A>,
  groups: Array<Group<A>>,
  cause: Cause.Cause<unknown>
): Effect.Effect<void> => {
  if (!isNonEmpty(groups)) return Effect.void
  return Effect.andThen(
    Effect.logWarning(`RegionResolver: region ${batch.region.name} failed, ${groups.length} keys resolved without it`, cause),
    runUnderlying(batch.resolver, groups, batch.batchKey)
  )
}

/**
 * After a partial failure, the requests `getOrCreateMany` would have answered
 * from the region (fresh keys): read again, and the rest resolved.
 */
const answerWaiting = <A extends Request.Any>(batch: Batch<A>): Effect.Effect<void> => {
  const groups = waiting(batch)
  if (!isNonEmpty(groups)) return Effect.void
  return batch.region.getMany(groups.map((group) => group.key)).pipe(
    Effect.matchCauseEffect({
      onSuccess: (found) => {
        groups.forEach((group, i) => {
          const value = found[i]
          if (value !== undefined && value._tag === "Some") complete(group, Exit.succeed(value.value))
        })
        return runOpen(batch, groups)
      },
      onFailure: (cause) => bypass(batch, groups, cause)
    })
  )
}

/** Sends the still open ones of `groups` to the underlying resolver, in one batch. */
const runOpen = <A extends Request.Any>(batch: Batch<A>, groups: ReadonlyArray<Group<A>>): Effect.Effect<void> => {
  const rest = open(groups)
  return isNonEmpty(rest) ? runUnderlying(batch.resolver, rest, batch.batchKey) : Effect.void
}

/**
 * After a failed `getOrCreateMany`: if the underlying resolver failed some
 * requests, their callers have their errors, the successes are stored and the
 * other requests answered; if the region failed (a `CacheError`), the
 * requests not yet sent go to the underlying resolver without the cache; an
 * interruption is passed on.
 */
const recover = <A extends Request.Any>(batch: Batch<A>, cause: Cause.Cause<unknown>): Effect.Effect<void> => {
  if (Cause.hasInterruptsOnly(cause)) return Effect.interrupt
  const error = Cause.findErrorOption(cause)
  if (error._tag === "Some" && isUnstored(error.value)) return Effect.andThen(storeSuccesses(batch), answerWaiting(batch))
  return Effect.andThen(
    bypass(batch, waiting(batch), cause),
    Effect.sync(() => {
      const failure = Exit.die(Cause.squash(cause))
      for (const group of open(batch.groups.values())) complete(group, failure)
    })
  )
}

/** The per-call options, checked when the resolver is built rather than at its first batch. */
const checkGetOrCreate = <A>(call: GetOrCreateOptions<A> | undefined): Effect.Effect<void, InvalidOptionError> =>
  Effect.gen(function*() {
    if (call === undefined) return
    yield* Options.reject(COMPONENT, "getOrCreate", !Predicate.isObject(call), "must be an object of getOrCreate options")
    if (call.expiration !== undefined) {
      yield* Options.millis(COMPONENT, "getOrCreate.expiration", call.expiration, { infinite: true })
    }
    yield* Options.reject(
      COMPONENT,
      "getOrCreate.tags",
      call.tags !== undefined && !(Array.isArray(call.tags) && call.tags.every(Predicate.isString)),
      "must be an array of strings"
    )
    yield* Options.reject(
      COMPONENT,
      "getOrCreate.shouldCache",
      call.shouldCache !== undefined && typeof call.shouldCache !== "function",
      "must be a function"
    )
  })

/**
 * Wraps `resolver` so its results are cached in `region`, per request, under
 * `options.key(request)`. In each batch Effect collects:
 *
 * - requests whose key is fresh are answered from the region (one `getMany`);
 * - the others go to `resolver` together, in one `runAll`, through the
 *   region's `getOrCreateMany`: one creator per key across processes, stale
 *   values served while another caller regenerates (so expired keys may go in
 *   a batch of their own, apart from the missing ones);
 * - when `resolver` succeeds for all of them, the results are stored and the
 *   callers get them; when it fails some, those callers get their own error
 *   and the successes are stored (errors never are);
 * - if the region itself fails (a `CacheError`, e.g. Redis down under the
 *   default `onBackendError: "fail"`), the requests not yet sent go to
 *   `resolver` without the cache and a warning is logged: a request's error
 *   type has no room for a `CacheError`.
 *
 * The wrapper keeps the resolver's batch key, delay, pre-check and collection
 * rule. Options are checked when built (`key`, and `getOrCreate`'s
 * expiration, tags and `shouldCache`): `InvalidOptionError`; the region
 * checks the rest of `getOrCreate` at each batch.
 *
 * @example
 * ```ts
 * import { Lock, MemoryBackend, Region, RegionResolver } from "@dogpile-effect/core"
 * import { Effect, Exit, Layer, Request, RequestResolver } from "effect"
 *
 * interface GetUser extends Request.Request<string> {
 *   readonly _tag: "GetUser"
 *   readonly id: number
 * }
 * const GetUser = Request.tagged<GetUser>("GetUser")
 *
 * // One query for the whole batch, e.g. `SELECT ... WHERE id IN (...)`.
 * const UsersById = RequestResolver.make<GetUser>((entries) =>
 *   Effect.sync(() => {
 *     for (const entry of entries) entry.completeUnsafe(Exit.succeed(`user ${entry.request.id}`))
 *   })
 * )
 *
 * const program = Effect.gen(function*() {
 *   const users = yield* Region.make<string>({ name: "users", expiration: "10 minutes" })
 *   const resolver = yield* RegionResolver.make(users, UsersById, { key: (request) => `user:${request.id}` })
 *   // Three concurrent requests: one batch to UsersById; the second time, all from the region.
 *   return yield* Effect.forEach([1, 2, 3], (id) => Effect.request(GetUser({ id }), resolver), { concurrency: "unbounded" })
 * }).pipe(Effect.scoped, Effect.provide(Layer.mergeAll(MemoryBackend.layer(), Lock.layerLocal)))
 * ```
 *
 * @category constructors
 * @since 0.1.0
 */
export const make = <A extends Request.Any>(
  region: Region<Request.Success<A>>,
  resolver: RequestResolver.RequestResolver<A>,
  options: RegionResolverOptions<A>
): Effect.Effect<RequestResolver.RequestResolver<A>, InvalidOptionError> =>
  Effect.gen(function*() {
    yield* Options.reject(COMPONENT, "region", !Predicate.hasProperty(region, "getOrCreateMany"), "must be a Region")
    yield* Options.reject(COMPONENT, "resolver", !RequestResolver.isRequestResolver(resolver), "must be a RequestResolver")
    yield* Options.reject(COMPONENT, "key", typeof options?.key !== "function", "must be a function from a request to its key")
    yield* checkGetOrCreate(options.getOrCreate)
    return RequestResolver.makeWith<A>({
      batchKey: (entry) => resolver.batchKey(entry),
      preCheck: resolver.preCheck,
      delay: resolver.delay,
      collectWhile: (entries) => resolver.collectWhile(entries),
      runAll: (entries, batchKey) => runBatch(region, resolver, options, entries, batchKey)
    })
  })
