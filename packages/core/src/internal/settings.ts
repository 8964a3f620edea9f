/**
 * A region's options, validated once when the region is built: every duration,
 * size and name is checked, and combinations that would silently do nothing
 * fail with `InvalidOptionError`.
 *
 * @internal
 */
import { Duration, Effect, type Schema } from "effect"
import type { InvalidOptionError } from "../CacheError.ts"
import type { CodecShape } from "../Codec.ts"
import { allowsMetadata, type EnvelopeShape } from "../Envelope.ts"
import * as Options from "../Options.ts"
import type { GetOptions, GetOrCreateOptions, RegionOptions, SetOptions } from "../Region.ts"
import { MAX_TAG_LENGTH, MAX_TAGS } from "../EntryMeta.ts"
import { type KeySpace, namespaceProblem } from "./keys.ts"

/** What a region does for one call, after the call's options override the region's. */
export interface CallSettings<A> {
  readonly expirationMs: number
  readonly storeTtl: Duration.Duration | undefined
  readonly shouldCache: ((value: A) => boolean) | undefined
  readonly staleIfError: boolean
  readonly backgroundRefresh: boolean
  /** Tags stored with created values. */
  readonly tags: ReadonlyArray<string> | undefined
  /** After this long a regenerating caller gets the stale value; the creator goes on in the background. */
  readonly softTimeoutMs: number | undefined
  /** After this long the creator is interrupted and fails with `CreatorTimeoutError`. */
  readonly hardTimeoutMs: number | undefined
}

/** XFetch's β (Vattani et al., VLDB 2015): larger refreshes earlier. */
export interface EarlyRefresh {
  readonly beta: number
}

/** The validated options of a region. */
export interface RegionSettings<A> {
  readonly name: string
  readonly keySpace: KeySpace
  /** Prefix of the region's invalidation marks (`…hard`, `…soft`), one cluster slot. */
  readonly marksPrefix: string
  readonly lockTimeoutMs: number
  readonly bypass: boolean
  readonly envelope: EnvelopeShape
  readonly codec: CodecShape
  readonly schema: Schema.Codec<A, unknown> | undefined
  readonly defaults: CallSettings<A>
  /** The explicit store TTL in ms, `"never"`, or `undefined` to derive it from the expiration. */
  readonly storeTtlMs: number | "never" | undefined
  readonly earlyRefresh: EarlyRefresh | undefined
}

/** The default longest key, in UTF-16 code units, checked before mangling. */
export const DEFAULT_MAX_KEY_LENGTH = 1024

/** The store TTL of a value whose expiration is `"never"`, unless `storeTtl` says otherwise. */
export const NEVER_EXPIRING_STORE_TTL_MS = 24 * 60 * 60 * 1000

/** The shortest time an expired value stays servable as stale, unless `storeTtl` says otherwise. */
export const MIN_STALE_WINDOW_MS = 60 * 1000

const component = (name: string) => `Region ${name}`

/**
 * The store TTL for a value that expires after `expirationMs`: the explicit
 * `storeTtl`, or the expiration plus a stale window of the expiration again
 * (at least a minute), which keeps the stale value servable while one caller
 * regenerates it, or the expiration itself when the
 * envelope stores no creation time (the TTL is then the only expiry), or a day
 * for values that never expire.
 */
export const storeTtlFor = (
  explicit: number | "never" | undefined,
  envelope: EnvelopeShape,
  expirationMs: number
): Duration.Duration | undefined => {
  if (explicit === "never") return undefined
  if (explicit !== undefined) return Duration.millis(explicit)
  if (!Number.isFinite(expirationMs)) return Duration.millis(NEVER_EXPIRING_STORE_TTL_MS)
  return Duration.millis(envelope.storesCreatedAt ? expirationMs + Math.max(expirationMs, MIN_STALE_WINDOW_MS) : expirationMs)
}

const validateNamespace = (name: string, namespace: string | false | undefined) => {
  if (namespace === false) return Effect.succeed(undefined)
  const chosen = namespace ?? name
  const problem = namespaceProblem(chosen)
  if (problem === undefined) return Effect.succeed(chosen)
  return Options.reject(
    component(name),
    namespace === undefined ? "namespace (defaulted to the name)" : "namespace",
    true,
    namespace === undefined ? `${problem}; give the region a namespace explicitly` : problem
  ).pipe(Effect.as(undefined))
}

const validateStoreTtl = (name: string, storeTtl: Options.DurationOption | undefined) =>
  storeTtl === undefined
    ? Effect.succeed(undefined)
    : storeTtl === "never"
    ? Effect.succeed("never" as const)
    : Options.millis(component(name), "storeTtl", storeTtl)

const validateFunction = (name: string, option: string, value: unknown) =>
  Options.reject(component(name), option, value !== undefined && typeof value !== "function", "must be a function")

const validateBoolean = (name: string, option: string, value: unknown) =>
  Options.reject(component(name), option, value !== undefined && typeof value !== "boolean", "must be true or false")

/** Validates a region's options against the envelope and codec it will use. */
export const validate = <A>(
  options: RegionOptions<A>,
  envelope: EnvelopeShape,
  codec: CodecShape
): Effect.Effect<RegionSettings<A>, InvalidOptionError> =>
  Effect.gen(function*() {
    const name = yield* Options.nonEmpty("Region", "name", options?.name)
    const where = component(name)
    yield* Options.reject(where, "envelope", envelope.problem !== undefined, `is invalid: ${envelope.problem}`)
    const namespace = yield* validateNamespace(name, options.namespace)
    const maxKeyLength = yield* Options.integer(where, "maxKeyLength", options.maxKeyLength, DEFAULT_MAX_KEY_LENGTH, {
      min: 1
    })
    const expirationMs = yield* Options.millisOr(where, "expiration", options.expiration, "never", { infinite: true })
    const storeTtlMs = yield* validateStoreTtl(name, options.storeTtl)
    const lockTimeoutMs = yield* Options.millisOr(where, "lockTimeout", options.lockTimeout, "30 seconds")
    yield* validateFunction(name, "keyMangler", options.keyMangler)
    yield* validateFunction(name, "shouldCache", options.shouldCache)
    yield* validateBoolean(name, "staleIfError", options.staleIfError)
    yield* validateBoolean(name, "backgroundRefresh", options.backgroundRefresh)
    yield* Options.reject(
      where,
      "onBackendError",
      options.onBackendError !== undefined && options.onBackendError !== "fail" && options.onBackendError !== "bypass",
      `must be "fail" or "bypass", got ${String(options.onBackendError)}`
    )
    yield* Options.reject(
      where,
      "storeTtl",
      !envelope.storesCreatedAt && typeof storeTtlMs === "number" && storeTtlMs !== expirationMs &&
        Number.isFinite(expirationMs),
      `differs from the expiration, but the ${envelope.name} envelope stores no creation time, so the store TTL is ` +
        "the only expiry: leave storeTtl unset or use an envelope that stores creation times"
    )
    yield* Options.reject(
      where,
      "storeTtl",
      typeof storeTtlMs === "number" && envelope.storesCreatedAt && storeTtlMs < expirationMs,
      `(${storeTtlMs} ms) is shorter than the expiration (${expirationMs} ms): the store would drop values while ` +
        "they are still fresh; make storeTtl at least the expiration"
    )
    const softTimeoutMs = yield* optionalMillis(where, "softTimeout", options.softTimeout)
    const hardTimeoutMs = yield* optionalMillis(where, "hardTimeout", options.hardTimeout)
    yield* Options.reject(
      where,
      "softTimeout",
      softTimeoutMs !== undefined && hardTimeoutMs !== undefined && softTimeoutMs >= hardTimeoutMs,
      "must be shorter than hardTimeout, or the soft timeout never fires"
    )
    const earlyRefresh = yield* validateEarlyRefresh(where, options.earlyRefresh)
    yield* Options.reject(
      where,
      "earlyRefresh",
      earlyRefresh !== undefined && (!allowsMetadata(envelope) || !Number.isFinite(expirationMs)),
      `needs a finite expiration and an envelope that stores creation times and metadata (not ${envelope.name})`
    )
    const defaults: CallSettings<A> = {
      expirationMs,
      storeTtl: storeTtlFor(storeTtlMs, envelope, expirationMs),
      shouldCache: options.shouldCache,
      staleIfError: options.staleIfError ?? false,
      backgroundRefresh: options.backgroundRefresh ?? false,
      tags: undefined,
      softTimeoutMs,
      hardTimeoutMs
    }
    return {
      name,
      keySpace: { namespace, maxKeyLength, mangle: options.keyMangler },
      // Both marks share a `{tag}`, so on a Redis Cluster they are one slot and one MGET.
      marksPrefix: `__dogpile__:{${namespace ?? name}}:invalidated:`,
      lockTimeoutMs,
      bypass: options.onBackendError === "bypass",
      envelope,
      codec,
      schema: options.schema as Schema.Codec<A, unknown> | undefined,
      defaults,
      storeTtlMs,
      earlyRefresh
    }
  })

const optionalMillis = (where: string, option: string, input: Options.DurationOption | undefined) =>
  input === undefined ? Effect.succeed(undefined) : Options.millis(where, option, input)

const validateEarlyRefresh = (
  where: string,
  input: boolean | { readonly beta?: number | undefined } | undefined
): Effect.Effect<EarlyRefresh | undefined, InvalidOptionError> => {
  if (input === undefined || input === false) return Effect.succeed(undefined)
  if (input === true) return Effect.succeed({ beta: 1 })
  if (typeof input !== "object" || input === null) {
    return Effect.as(Options.reject(where, "earlyRefresh", true, "must be true, false or { beta }"), undefined)
  }
  const beta = input.beta ?? 1
  return Effect.as(
    Options.reject(where, "earlyRefresh.beta", !(typeof beta === "number" && beta > 0 && Number.isFinite(beta)), `must be a positive number, got ${String(beta)}`),
    { beta }
  )
}

/** Checks the tags of one call: at most 64, each a non-empty, well-formed string of at most 256 characters. */
export const validateTags = (
  name: string,
  tags: ReadonlyArray<string> | undefined
): Effect.Effect<ReadonlyArray<string> | undefined, InvalidOptionError> => {
  if (tags === undefined) return Effect.succeed(undefined)
  const where = component(name)
  if (!Array.isArray(tags)) return Effect.as(Options.reject(where, "tags", true, "must be an array of strings"), undefined)
  if (tags.length > MAX_TAGS) return Effect.as(Options.reject(where, "tags", true, `at most ${MAX_TAGS} per entry, got ${tags.length}`), undefined)
  for (const tag of tags) {
    const problem = typeof tag !== "string"
      ? `must be strings, got ${typeof tag}`
      : tag.length === 0 || tag.length > MAX_TAG_LENGTH
      ? `must be 1 to ${MAX_TAG_LENGTH} characters long`
      : LONE_SURROGATE.test(tag)
      ? "must be well-formed UTF-16"
      : undefined
    if (problem !== undefined) return Effect.as(Options.reject(where, "tags", true, problem), undefined)
  }
  return Effect.succeed(tags.length === 0 ? undefined : [...new Set(tags)])
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/

/** The settings of one `getOrCreate`/`getOrCreateMany` call. */
export const forCall = <A>(
  settings: RegionSettings<A>,
  call: GetOrCreateOptions<A> | undefined
): Effect.Effect<CallSettings<A>, InvalidOptionError> => {
  if (call === undefined) return Effect.succeed(settings.defaults)
  return Effect.gen(function*() {
    const where = component(settings.name)
    const expirationMs = call.expiration === undefined
      ? settings.defaults.expirationMs
      : yield* Options.millis(where, "expiration (per call)", call.expiration, { infinite: true })
    yield* validateFunction(settings.name, "shouldCache (per call)", call.shouldCache)
    const tags = yield* validateTags(settings.name, call.tags)
    yield* Options.reject(
      where,
      "tags",
      tags !== undefined && !allowsMetadata(settings.envelope),
      `need an envelope that stores creation times and metadata; the ${settings.envelope.name} envelope does not`
    )
    return {
      expirationMs,
      storeTtl: storeTtlFor(settings.storeTtlMs, settings.envelope, expirationMs),
      shouldCache: call.shouldCache ?? settings.defaults.shouldCache,
      staleIfError: call.staleIfError ?? settings.defaults.staleIfError,
      backgroundRefresh: call.backgroundRefresh ?? settings.defaults.backgroundRefresh,
      tags,
      softTimeoutMs: call.softTimeout === undefined
        ? settings.defaults.softTimeoutMs
        : yield* Options.millis(where, "softTimeout (per call)", call.softTimeout),
      hardTimeoutMs: call.hardTimeout === undefined
        ? settings.defaults.hardTimeoutMs
        : yield* Options.millis(where, "hardTimeout (per call)", call.hardTimeout)
    }
  })
}

/** The expiration of one `get`/`set` call. */
export const expirationFor = (
  settings: RegionSettings<unknown>,
  call: GetOptions | SetOptions | undefined
): Effect.Effect<number, InvalidOptionError> =>
  call?.expiration === undefined
    ? Effect.succeed(settings.defaults.expirationMs)
    : Options.millis(component(settings.name), "expiration (per call)", call.expiration, { infinite: true })
