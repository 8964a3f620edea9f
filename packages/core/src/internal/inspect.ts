/**
 * Looking at a region's entries and locks without using them: `has`,
 * `inspect` (the entry's metadata, read from its headers without decoding the
 * value where the envelope allows) and `lockStatus`.
 *
 * @internal
 */
import { Clock, Effect, Option } from "effect"
import type { Backend } from "../Backend.ts"
import type { CacheError } from "../CacheError.ts"
import * as CacheKey from "../CacheKey.ts"
import * as EntryMeta from "../EntryMeta.ts"
import type { InvalidationShape, InvalidationState } from "../Invalidation.ts"
import type { Lock, LockStatus } from "../Lock.ts"
import type { EntryInfo } from "../Region.ts"
import * as Keys from "./keys.ts"
import * as ReadDecision from "./readDecision.ts"
import type { RegionSettings } from "./settings.ts"
import * as Stored from "./stored.ts"
import type { TagMarks } from "./tagMarks.ts"

/** What inspection needs from its region. */
export interface Inspector {
  readonly settings: RegionSettings<unknown>
  readonly backend: Backend["Service"]
  readonly lock: Lock["Service"]
  readonly invalidation: InvalidationShape
  readonly tagMarks: TagMarks
}

interface Header {
  readonly createdAt: number | undefined
  readonly version: number | undefined
  readonly payloadBytes: number
}

/** The envelope's header, from `peek` where it has one, else from a full decode. */
const header = (inspector: Inspector, inner: Uint8Array, now: number): Effect.Effect<Option.Option<Header>> => {
  const { codec, envelope } = inspector.settings
  if (envelope.peek !== undefined) {
    return Effect.succeed(Option.map(envelope.peek(inner), (h) => ({
      createdAt: envelope.storesCreatedAt ? h.createdAt : undefined,
      version: h.version,
      payloadBytes: h.payloadBytes
    })))
  }
  return envelope.decode(inner, now, codec).pipe(
    Effect.map((entry) =>
      Option.some({
        createdAt: envelope.storesCreatedAt ? entry.createdAt : undefined,
        version: undefined,
        payloadBytes: inner.length
      })
    ),
    Effect.orElseSucceed(() => Option.none<Header>())
  )
}

/** The metadata of one entry, or `None` when there is none (or it is unreadable). */
export const inspect = (inspector: Inspector, target: Keys.Target): Effect.Effect<Option.Option<EntryInfo>, CacheError> =>
  Effect.gen(function*() {
    const now = yield* Clock.currentTimeMillis
    const bytes = yield* inspector.backend.get(target.full)
    if (Option.isNone(bytes)) return Option.none()
    const unwrapped = EntryMeta.unwrap(bytes.value)
    if (Option.isNone(unwrapped)) return Option.none()
    const { inner, meta } = unwrapped.value
    const head = yield* header(inspector, inner, now)
    if (Option.isNone(head)) return Option.none()
    const marks = yield* inspector.invalidation.current
    const tagMark = meta.tags === undefined ? undefined : yield* inspector.tagMarks.current(meta.tags)
    const expirationMs = meta.expirationMs ?? inspector.settings.defaults.expirationMs
    const createdAt = head.value.createdAt
    const state = createdAt === undefined ? "fresh" as const : stateOf({ createdAt, meta }, now, expirationMs, marks, tagMark)
    return Option.some<EntryInfo>({
      key: typeof target.key === "string" ? target.key : CacheKey.display(target.key),
      backendKey: typeof target.full === "string" ? target.full : `${target.full.hash}[${target.full.field}]`,
      state,
      createdAt,
      expiresAt: createdAt === undefined || !Number.isFinite(expirationMs) ? undefined : createdAt + expirationMs,
      version: head.value.version,
      sizeBytes: bytes.value.length,
      payloadBytes: head.value.payloadBytes,
      tags: meta.tags ?? [],
      computeMs: meta.computeMs
    })
  })

/** The state `inspect` shows for an entry with `header`: the read decision, with no draw (inspecting refreshes nothing). */
const stateOf = (
  header: ReadDecision.Header,
  now: number,
  expirationMs: number,
  marks: InvalidationState,
  tagMark: Stored.TagMarkOf | undefined
): EntryInfo["state"] =>
  shown[ReadDecision.decide(header, now, expirationMs, marks, Stored.tagMarksOf(header, tagMark), undefined, undefined)]

/** How `inspect` shows a decision on an entry it found (one that is there is never `Missing`). */
const shown: Record<ReadDecision.Decision, EntryInfo["state"]> = {
  Fresh: "fresh",
  RefreshEarly: "fresh",
  Stale: "stale",
  Invalidated: "invalidated",
  Missing: "invalidated"
}

/** Whether the lock of a key is held, and for how much longer (where the lock can tell). */
export const lockStatus = (inspector: Inspector, target: Keys.Target): Effect.Effect<LockStatus, CacheError> =>
  inspector.lock.status === undefined
    ? Effect.succeed({ _tag: "Unknown" })
    : inspector.lock.status(target.full)
