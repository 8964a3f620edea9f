/**
 * The tracing tests' shared set-up: a tracer that records every span it
 * opens, and a store of its own for each test.
 */
import { Codec, Lock, MemoryBackend } from "@dogpile-effect/core"
import { Layer, Tracer } from "effect"

/** A store of its own for each test: memory backend, JSON codec, local lock. */
export const memory = () => Layer.mergeAll(MemoryBackend.layer(), Codec.layerJson, Lock.layerLocal)

/** A tracer that keeps every span it opens, and the attributes of the spans of one name. */
export const recorder = () => {
  const spans: Array<Tracer.NativeSpan> = []
  const tracer = Tracer.make({
    span: (options) => {
      const span = new Tracer.NativeSpan(options)
      spans.push(span)
      return span
    }
  })
  /** The attributes of the spans named `name`, in the order they were opened. */
  const named = (name: string) => spans.filter((span) => span.name === name).map((span) => Object.fromEntries(span.attributes))
  return { spans, tracer, named }
}
