/**
 * Writes a region's layout (storage, namespace, envelope, codec, bucketing)
 * where tools such as the CLI read it: once, when the region is built, in a
 * fiber of the region's scope, its failure ignored (a region never fails to
 * build because its layout could not be recorded).
 *
 * @internal
 */
import { Effect, type Scope } from "effect"
import type { CodecShape } from "../Codec.ts"
import type { EnvelopeShape } from "../Envelope.ts"
import type { RegionOptions } from "../RegionOptions.ts"
import type * as Storage from "../Storage.ts"

/** The recorded fields: the storage's own, then the region's. */
export const fields = <A>(
  storage: Storage.Storage<unknown, unknown>,
  options: RegionOptions<A>,
  envelope: EnvelopeShape,
  codec: CodecShape
): Storage.Layout => ({
  ...storage.layout,
  name: options.name,
  namespace: options.namespace === false ? "" : options.namespace ?? options.name,
  verbatim: options.namespace === false ? "1" : "0",
  envelope: envelope.name,
  codec: codec.name
})

/** Records the layout in the background when the storage can; never fails. */
export const record = <A>(
  built: Storage.Built,
  storage: Storage.Storage<unknown, unknown>,
  options: RegionOptions<A>,
  envelope: EnvelopeShape,
  codec: CodecShape
): Effect.Effect<void, never, Scope.Scope> => {
  const write = built.record
  if (write === undefined) return Effect.void
  return Effect.forkScoped(Effect.ignore(Effect.suspend(() => write(options.name, fields(storage, options, envelope, codec))))).pipe(
    Effect.asVoid
  )
}
