/**
 * Conditional creators (`Conditional.make`, `Conditional.makeMany`) as the
 * dogpile's `BatchCreator`: the entries they replace handed over as
 * `Conditional.Previous`, the envelope checked once per call (it must carry
 * metadata and renew entries), and their answers read without the cache (the
 * bypass).
 *
 * @internal
 */
import { Effect, Option } from "effect"
import { CreatorResultError, InvalidOptionError } from "../CacheError.ts"
import * as Conditional from "../Conditional.ts"
import * as EntryMeta from "../EntryMeta.ts"
import * as Envelope from "../Envelope.ts"
import type { BatchCreator } from "./dogpileContext.ts"
import type { Target } from "./keys.ts"
import type { RegionSettings } from "./settings.ts"
import type { Stored } from "./stored.ts"

/** The `Conditional.Previous` of a replaced entry, if any. */
export const previousOf = <A>(stored: Stored<A> | undefined): Option.Option<Conditional.Previous<A>> =>
  stored === undefined
    ? Option.none()
    : Option.some({ value: stored.value, createdAt: stored.createdAt, validator: stored.meta.validator })

/** A one-key conditional creator as a batch creator (of that key). */
export const single = <A, E, R>(creator: Conditional.Conditional<A, E, R>): BatchCreator<A, E, R> => (_targets, previous) =>
  Effect.map(creator.create(previousOf(previous?.[0])), (answer) => [answer])

/** A many-key conditional creator as a batch creator. */
export const many = <A, E, R>(creator: Conditional.ConditionalMany<A, E, R>): BatchCreator<A, E, R> => (targets, previous) =>
  creator.create(targets.map((t) => t.key), targets.map((_, i) => previousOf(previous?.[i])))

/**
 * Why the region cannot run conditional creators, if it cannot: its envelope must carry metadata (the
 * validator) and renew entries without encoding them (`Envelope.restamp`). Raw and the Python
 * envelopes cannot.
 */
export const refused = (settings: RegionSettings<unknown>): InvalidOptionError | undefined =>
  Envelope.allowsMetadata(settings.envelope) && settings.envelope.restamp !== undefined
    ? undefined
    : new InvalidOptionError({
      component: `Region ${settings.name}`,
      option: "creator",
      reason: `is a Conditional creator, which needs an envelope that stores metadata and renews entries; the ${settings.envelope.name} envelope does not`
    })

/** A creator's answer as a plain value, for calls that store nothing (the bypass): "not modified" has nothing to serve. */
export const valueOf = <A>(answer: Conditional.Answer<A>, target: Target, show: (target: Target) => string) => {
  if (Conditional.isNotModified(answer)) {
    return Effect.fail(new CreatorResultError({ key: show(target), reason: "Conditional.notModified answered without a previous entry to renew" }))
  }
  if (Conditional.isFresh(answer) || EntryMeta.isExpiring(answer)) return Effect.succeed(answer.value as A)
  return Effect.succeed(answer as A)
}
