import { Backend, Lock, MemoryBackend } from "@dogpile-effect/core"
import { Duration, Effect, Layer } from "effect"
import { regionContract } from "./regionContract.ts"

/** The store TTL hints the region passed, per key (the memory backend honours them but cannot report them). */
const hints = new Map<string, number>()

const recording = Layer.effect(
  Backend,
  Effect.map(Backend, (inner: Backend["Service"]) => {
    const note = (key: unknown, ttl: Duration.Duration | undefined) => {
      if (typeof key === "string") hints.set(key, ttl === undefined ? -1 : Duration.toMillis(ttl))
    }
    return Backend.of({
      ...inner,
      set: (key, value, ttl) => Effect.andThen(Effect.sync(() => note(key, ttl)), inner.set(key, value, ttl)),
      setMany: (entries) =>
        Effect.andThen(Effect.sync(() => entries.forEach((e) => note(e.key, e.ttl))), inner.setMany(entries))
    })
  })
)

regionContract({
  name: "memory",
  layer: () => Layer.mergeAll(recording.pipe(Layer.provide(MemoryBackend.layer())), Lock.layerLocal),
  storeTtl: (key) => Effect.sync(() => hints.get(key) ?? -2)
})
