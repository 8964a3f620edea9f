/**
 * From a caller's key to the key the backend sees. The mapping is injective:
 * two different (namespace, key) pairs never reach the same backend key.
 *
 * - A plain key becomes `namespace + ":" + key` (after the mangler, if any).
 * - A hash key's bucket becomes `namespace + "#" + hash`; its field is kept.
 * - Namespaces use only `A-Z a-z 0-9 _ . - { }` and do not start with `_`,
 *   so the first `:` or `#` ends the namespace, plain keys and buckets never
 *   meet, and no region key can be a lock (`_lock…`) or an invalidation mark
 *   (`__dogpile__…`).
 * - Keys must be well-formed UTF-16: a lone surrogate would be stored as the
 *   same replacement bytes as any other lone surrogate.
 * - A region with `namespace: false` uses keys verbatim (to share keys with
 *   another program); it then only refuses keys that start with `_lock` or
 *   `__dogpile__`.
 *
 * @internal
 */
import * as CacheKey from "../CacheKey.ts"
import { InvalidKeyError } from "../CacheError.ts"
import type { KeyMangler } from "../KeyMangler.ts"

/** How one region maps keys. */
export interface KeySpace {
  /** `undefined`: keys are used verbatim. */
  readonly namespace: string | undefined
  readonly maxKeyLength: number
  readonly mangle: KeyMangler | undefined
}

/** A caller's key, resolved: what the backend sees, its map id, and how errors show it. */
export interface Target {
  readonly key: CacheKey.CacheKey
  readonly full: CacheKey.CacheKey
  readonly id: string
}

const NAMESPACE = /^[A-Za-z0-9.\-{}][A-Za-z0-9_.\-{}]*$/
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/
const RESERVED = ["_lock", "__dogpile__"] as const

/** Why a namespace is not allowed, or `undefined` when it is. */
export const namespaceProblem = (namespace: string): string | undefined =>
  NAMESPACE.test(namespace)
    ? undefined
    : `must be non-empty, use only A-Z a-z 0-9 _ . - { } and not start with "_", got ${JSON.stringify(namespace)}`

const shorten = (text: string): string => (text.length > 64 ? `${text.slice(0, 64)}…` : text)

const partProblem = (space: KeySpace, part: string, what: string): string | undefined => {
  if (part.length === 0) return `${what} is empty`
  if (part.length > space.maxKeyLength) {
    return `${what} is ${part.length} characters long; the limit is ${space.maxKeyLength}`
  }
  if (LONE_SURROGATE.test(part)) return `${what} holds a lone UTF-16 surrogate, which has no UTF-8 form`
  if (space.namespace === undefined && RESERVED.some((prefix) => part.startsWith(prefix))) {
    return `${what} starts with a prefix reserved for locks and invalidation marks`
  }
  return undefined
}

const describeUnknown = (key: unknown): string => {
  if (key === null) return "null"
  if (Array.isArray(key)) return "an array"
  return typeof key
}

const fail = (shown: string, reason: string) => new InvalidKeyError({ key: shorten(shown), reason })

/** Resolves one key, or returns the error that names what is wrong with it. */
export const resolve = (space: KeySpace, key: unknown): Target | InvalidKeyError => {
  try {
    return resolveUnsafe(space, key)
  } catch {
    // A hostile object (a throwing getter, a Proxy) or a mangler that threw.
    return fail(describeUnknown(key), "the key could not be read")
  }
}

const resolveUnsafe = (space: KeySpace, key: unknown): Target | InvalidKeyError => {
  if (typeof key === "string") {
    const problem = partProblem(space, key, "key")
    if (problem !== undefined) return fail(key, problem)
    const mangled = space.mangle === undefined ? key : space.mangle(key)
    const full = space.namespace === undefined ? mangled : `${space.namespace}:${mangled}`
    return { key, full, id: full }
  }
  if (
    typeof key === "object" && key !== null && CacheKey.isHashKey(key as CacheKey.CacheKey) &&
    typeof (key as CacheKey.HashKey).hash === "string" && typeof (key as CacheKey.HashKey).field === "string"
  ) {
    const hashKey = key as CacheKey.HashKey
    const shown = CacheKey.display(hashKey)
    const problem = partProblem(space, hashKey.hash, "hash name") ?? partProblem(space, hashKey.field, "hash field")
    if (problem !== undefined) return fail(shown, problem)
    const bucket = space.namespace === undefined ? hashKey.hash : `${space.namespace}#${hashKey.hash}`
    const full = CacheKey.hash(bucket, hashKey.field)
    return { key: hashKey, full, id: CacheKey.render(full) }
  }
  return fail(String(describeUnknown(key)), `a key must be a string or CacheKey.hash(hash, field), got ${describeUnknown(key)}`)
}

/** Resolves many keys with `resolveOne` (e.g. a {@link resolver}); the first invalid one fails the whole batch before any I/O. */
export const resolveAllWith = (
  resolveOne: (key: unknown) => Target | InvalidKeyError,
  keys: ReadonlyArray<unknown>
): ReadonlyArray<Target> | InvalidKeyError => {
  if (!Array.isArray(keys)) return fail(describeUnknown(keys), "expected an array of keys")
  const targets: Array<Target> = []
  for (const key of keys) {
    const target = resolveOne(key)
    if (target instanceof InvalidKeyError) return target
    targets.push(target)
  }
  return targets
}

/** Resolves many keys; the first invalid one fails the whole batch before any I/O. */
export const resolveAll = (space: KeySpace, keys: ReadonlyArray<unknown>): ReadonlyArray<Target> | InvalidKeyError =>
  resolveAllWith((key) => resolve(space, key), keys)

/** The targets without repeats (by id), in first-seen order. */
export const distinct = (targets: ReadonlyArray<Target>): ReadonlyArray<Target> => {
  const seen = new Set<string>()
  const out: Array<Target> = []
  for (const target of targets) {
    if (seen.has(target.id)) continue
    seen.add(target.id)
    out.push(target)
  }
  return out.length === targets.length ? targets : out
}

/** How a resolved key reads in errors and logs. */
export const display = (target: Target): string => CacheKey.display(target.full)

/** How many resolved plain keys a region remembers (then it starts over). */
export const RESOLVED_CACHE = 16_384

/**
 * `resolve` with a bounded memory of plain keys: a hot key is validated,
 * mangled and prefixed once, and its backend key is the same string each time
 * (so maps keyed by it do not rehash a fresh string per call).
 */
export const resolver = (space: KeySpace): ((key: unknown) => Target | InvalidKeyError) => {
  let known = new Map<string, Target>()
  return (key) => {
    if (typeof key !== "string") return resolve(space, key)
    const hit = known.get(key)
    if (hit !== undefined) return hit
    const target = resolve(space, key)
    if (target instanceof InvalidKeyError) return target
    if (known.size >= RESOLVED_CACHE) known = new Map()
    known.set(key, target)
    return target
  }
}
