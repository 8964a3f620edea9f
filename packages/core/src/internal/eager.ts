/**
 * Composing effects that are often already complete. An eager codec, an
 * in-process backend and most validations answer with a completed `Exit`;
 * `flatMap` over one still costs two fiber steps (the continuation and the
 * exit). These apply `f` at once to a completed success, and fall back to
 * `flatMap`/`map` otherwise. Call them where the effect is built as it runs
 * (inside another effect's callback), or with an `f` that only builds effects.
 *
 * @internal
 */
import { Effect, Exit } from "effect"

/** `Effect.flatMap(self, f)`, with `f` applied at once when `self` is a completed success. */
export const flatMap = <A, E, R, B, E2, R2>(
  self: Effect.Effect<A, E, R>,
  f: (a: A) => Effect.Effect<B, E2, R2>
): Effect.Effect<B, E | E2, R | R2> =>
  Exit.isExit(self) && Exit.isSuccess(self) ? f(self.value as A) : Effect.flatMap(self, f)

/** `Effect.map(self, f)`, a completed success when `self` is one. */
export const map = <A, E, R, B>(self: Effect.Effect<A, E, R>, f: (a: A) => B): Effect.Effect<B, E, R> =>
  Exit.isExit(self) && Exit.isSuccess(self) ? Exit.succeed(f(self.value as A)) : Effect.map(self, f)
