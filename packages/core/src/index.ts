/**
 * @dogpile-effect/core: the dogpile region on Effect.
 *
 * @since 0.1.0
 */
export * from "./Backend.ts"
export * as CacheKey from "./CacheKey.ts"
export * as Conditional from "./Conditional.ts"
export * from "./CacheError.ts"
export * from "./Codec.ts"
export * as ConfigOptions from "./ConfigOptions.ts"
export * as EntryMeta from "./EntryMeta.ts"
export * as Envelope from "./Envelope.ts"
export * from "./Lock.ts"
export * as MemoryBackend from "./MemoryBackend.ts"
export * as Invalidation from "./Invalidation.ts"
export * as KeyMangler from "./KeyMangler.ts"
export * as Options from "./Options.ts"
export * as Region from "./Region.ts"
export * as RegionConfig from "./RegionConfig.ts"
export * as RegionEvent from "./RegionEvent.ts"
export * as RegionMetrics from "./RegionMetrics.ts"
export * as CachedFunction from "./CachedFunction.ts"
export * as Faults from "./Faults.ts"
export * as Recovery from "./Recovery.ts"
export * as RegionResolver from "./RegionResolver.ts"
export * as RegionTracing from "./RegionTracing.ts"
export * as Storage from "./Storage.ts"
