/**
 * The fibers that take a step while an effect runs, seen through a tracer's
 * `context` hook (the run loop calls it for every step of every fiber that
 * inherits the tracer). Tracing is turned off inside, so code that opens spans
 * only under an exporting tracer takes its usual path.
 */
import { Effect, References, Tracer } from "effect"

const evaluate = "~effect/Effect/evaluate"

/** Runs `effect` and answers with its value and the distinct fibers that stepped (the caller's included). */
export const withFibersSeen = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  Effect.suspend(() => {
    const seen = new Set<unknown>()
    const tracer = Tracer.make({
      span: (options) => Tracer.nativeTracer.span(options),
      context: (primitive, fiber) => {
        seen.add(fiber)
        return (primitive as unknown as Record<string, (fiber: unknown) => never>)[evaluate]!(fiber)
      }
    })
    return Effect.map(
      effect.pipe(Effect.withTracer(tracer), Effect.provideService(References.TracerEnabled, false)),
      (value) => [value, seen] as const
    )
  })
