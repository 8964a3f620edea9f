/**
 * @dogpile-effect/hstore: hash-bucket storage for dogpile regions on Redis —
 * many small entries as fields of compact Redis hashes.
 *
 * @since 0.1.0
 */
export * as Bucketing from "./Bucketing.ts"
export * as EntryExpiry from "./EntryExpiry.ts"
export * as HashBackend from "./HashBackend.ts"
export * as HashExpiry from "./HashExpiry.ts"
export * as HashMetrics from "./HashMetrics.ts"
export * as HashScripts from "./HashScripts.ts"
export * as Overflow from "./Overflow.ts"
export * as Pipeline from "./Pipeline.ts"
export * as Reads from "./Reads.ts"
export * as ServerFeatures from "./ServerFeatures.ts"
export * as Settings from "./Settings.ts"
export * as Slot from "./Slot.ts"
export * as Sweeper from "./Sweeper.ts"
