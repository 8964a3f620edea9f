/**
 * @dogpile-effect/hstore: hash-bucket storage for dogpile regions on Redis —
 * many small entries as fields of compact Redis hashes.
 *
 * @since 0.1.0
 */
export * as HashBackend from "./HashBackend.ts"
export * as HashStorage from "./HashStorage.ts"
export * as Bucketing from "./Bucketing.ts"
export * as HashExpiry from "./HashExpiry.ts"
export * as EntryExpiry from "./EntryExpiry.ts"
export * as HashMetrics from "./HashMetrics.ts"
export * as ListBackend from "./ListBackend.ts"
export * as ListLayout from "./ListLayout.ts"
