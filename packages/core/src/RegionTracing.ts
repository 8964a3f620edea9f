/**
 * What a region's spans may carry. Every public call of a region opens one span
 * (`Region.getOrCreate`, `Region.get`, …) the way `Effect.fn` would (a child of
 * the caller's span, the parent of the call's own spans, a stack frame named for
 * the call), only when a tracer exports it, with `dogpile.region`, the call's
 * `dogpile.outcome`, the time it waited for the dogpile lock
 * (`dogpile.lock.wait_ms`) and the time its creator ran (`dogpile.creator.ms`).
 * Keys can be sensitive, so a span names its key (`dogpile.key`) only where
 * {@link RecordKeys} is turned on.
 *
 * @since 0.1.0
 */
import { Context } from "effect"

/**
 * Whether a single-key call's span carries its key as `dogpile.key` (off by default: keys can hold
 * user ids, e-mail addresses, tokens). Read from the calling fiber: turn it on around a program with
 * `Effect.provideService`.
 *
 * @example
 * ```ts
 * import { RegionTracing } from "@dogpile-effect/core"
 * import { Effect } from "effect"
 *
 * declare const program: Effect.Effect<void>
 * // The spans of this program's region calls name their keys.
 * const withKeys = program.pipe(Effect.provideService(RegionTracing.RecordKeys, true))
 * ```
 *
 * @since 0.1.0
 * @category references
 */
export const RecordKeys: Context.Reference<boolean> = Context.Reference<boolean>("@dogpile-effect/core/RegionTracing/RecordKeys", {
  defaultValue: () => false
})

