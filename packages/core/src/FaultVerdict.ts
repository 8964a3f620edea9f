/**
 * Drawing the verdict of one faulty call from its compiled rules (the
 * calling fiber's `Random`, the `Clock`), and running the call under it: the
 * toolkit of `BackendFaults` and `LockFaults`.
 *
 * @internal
 * @since 0.1.0
 */
import { Clock, Effect, Random } from "effect"
import * as FaultRules from "./FaultRules.ts"

/**
 * What one call gets: the delay before it, and its outcome (`undefined`:
 * the call runs as it is).
 *
 * @example
 * ```ts
 * import type * as FaultVerdict from "./FaultVerdict.ts"
 * const verdict: FaultVerdict.Verdict = { delayMs: 50, outcome: "fail" }
 * ```
 *
 * @category models
 * @internal
 * @since 0.1.0
 */
export interface Verdict {
  readonly delayMs: number
  readonly outcome: FaultRules.Outcome | undefined
}

const inWindow = (rule: FaultRules.CompiledRule, elapsed: number): boolean =>
  rule.windows.some(([from, until]) => elapsed >= from && elapsed < until)

/** A draw only where the rate leaves a choice: rates 0 and 1 use no number of the `Random`. */
const happens = (rate: number): Effect.Effect<boolean> =>
  rate <= 0 ? Effect.succeed(false) : rate >= 1 ? Effect.succeed(true) : Effect.map(Random.next, (u) => u < rate)

const pick = (outcomes: ReadonlyArray<readonly [FaultRules.Outcome, number]>): Effect.Effect<FaultRules.Outcome | undefined> => {
  if (outcomes.length === 0) return Effect.succeed(undefined)
  const certain = outcomes.find(([, rate]) => rate >= 1)
  if (certain !== undefined) return Effect.succeed(certain[0])
  return Effect.map(Random.next, (u) => {
    let bound = 0
    for (const [outcome, rate] of outcomes) {
      bound += rate
      if (u < bound) return outcome
    }
    return undefined
  })
}

/**
 * Draws the verdict of one call at `Clock` time `startedAt + elapsed`: each
 * rule whose window holds adds its delay (drawn with `delayRate`), and the
 * first rule that draws an outcome decides it. Numbers come from the calling
 * fiber's `Random` (one per rule whose outcome is not certain, one per
 * uncertain delay), so `Random.withSeed` makes a run reproducible.
 *
 * @example
 * ```ts
 * import * as FaultRules from "./FaultRules.ts"
 * import * as FaultVerdict from "./FaultVerdict.ts"
 * import { Effect, Random } from "effect"
 * const verdict = Effect.flatMap(
 *   FaultRules.compile("Faults.backend", "get", { fail: 0.5 }, ["fail"]),
 *   (compiled) => FaultVerdict.decide(compiled, 0)
 * ).pipe(Random.withSeed(1))
 * ```
 *
 * @category constructors
 * @internal
 * @since 0.1.0
 */
export const decide = (compiled: FaultRules.Compiled, startedAt: number): Effect.Effect<Verdict> =>
  Effect.flatMap(Clock.currentTimeMillis, (now) =>
    Effect.gen(function*() {
      const elapsed = now - startedAt
      let delayMs = 0
      let outcome: FaultRules.Outcome | undefined = undefined
      for (const rule of compiled.rules) {
        if (!inWindow(rule, elapsed)) continue
        if (rule.delayMs > 0 && (yield* happens(rule.delayRate))) delayMs += rule.delayMs
        if (outcome === undefined) outcome = yield* pick(rule.outcomes)
      }
      return { delayMs, outcome }
    }))

/**
 * Runs `call` under a verdict: after the delay, `onOutcome` answers for an
 * outcome it handles (failing, dropping), `silent` never answers, and
 * anything else runs `call`.
 *
 * @example
 * ```ts
 * import * as FaultVerdict from "./FaultVerdict.ts"
 * import { Effect } from "effect"
 * const run = FaultVerdict.apply({ delayMs: 0, outcome: "drop" }, Effect.succeed("written"), () => Effect.succeed("dropped"))
 * ```
 *
 * @category combinators
 * @internal
 * @since 0.1.0
 */
export const apply = <A, E, R, E2>(
  verdict: Verdict,
  call: Effect.Effect<A, E, R>,
  onOutcome: (outcome: FaultRules.Outcome) => Effect.Effect<A, E2> | undefined
): Effect.Effect<A, E | E2, R> => {
  const decided = (): Effect.Effect<A, E | E2, R> => {
    if (verdict.outcome === undefined) return call
    if (verdict.outcome === "silent") return Effect.never
    return onOutcome(verdict.outcome) ?? call
  }
  return verdict.delayMs > 0 ? Effect.andThen(Effect.sleep(verdict.delayMs), Effect.suspend(decided)) : decided()
}

/**
 * Wraps `call` with the compiled rules: `call` itself when they are empty,
 * else a draw of the verdict at each call, then {@link apply}.
 *
 * @example
 * ```ts
 * import type * as FaultRules from "./FaultRules.ts"
 * import * as FaultVerdict from "./FaultVerdict.ts"
 * import { Effect } from "effect"
 * const wrapped = (compiled: FaultRules.Compiled) =>
 *   FaultVerdict.around(compiled, 0, Effect.succeed(1), () => Effect.fail("injected"))
 * ```
 *
 * @category combinators
 * @internal
 * @since 0.1.0
 */
export const around = <A, E, R, E2>(
  compiled: FaultRules.Compiled,
  startedAt: number,
  call: Effect.Effect<A, E, R>,
  onOutcome: (outcome: FaultRules.Outcome) => Effect.Effect<A, E2> | undefined
): Effect.Effect<A, E | E2, R> =>
  FaultRules.isEmpty(compiled) ? call : Effect.flatMap(decide(compiled, startedAt), (verdict) => apply(verdict, call, onOutcome))
