/**
 * The rules of injected faults, shared by `Faults.backend` and `Faults.lock`:
 * what may go wrong with a call (it fails, never answers, is acknowledged but
 * dropped, times out, loses its lease), how often (a rate drawn from the
 * calling fiber's `Random`), how slow it is, and when (windows of `Clock`
 * time since the faulty Layer was built). Each rule is validated when the
 * Layer is built. Its rule types are public through `Faults`; the functions
 * that compile them (here) and draw verdicts from them (`FaultVerdict.ts`)
 * are the toolkit of `BackendFaults` and `LockFaults`, not exported from the
 * package.
 *
 * @since 0.1.0
 */
import { Effect } from "effect"
import { InvalidOptionError } from "./CacheError.ts"
import * as Options from "./Options.ts"

/**
 * A window of time during which a rule applies, measured with `Clock` from the
 * moment the faulty Layer was built: `from` (inclusive, default 0) until
 * `until` (exclusive, default forever). Under `TestClock`, `TestClock.adjust`
 * moves a test into and out of it.
 *
 * @example
 * ```ts
 * import type { Faults } from "@dogpile-effect/core"
 * const outage: Faults.FaultWindow = { from: "10 seconds", until: "20 seconds" }
 * ```
 *
 * @category models
 * @since 0.1.0
 */
export interface FaultWindow {
  readonly from?: Options.DurationOption
  readonly until?: Options.DurationOption
}

/**
 * What every faulty call can do: fail with the typed error a real outage
 * gives (`fail`), never answer until interrupted (`silent`), answer only after
 * `delay` (on a `delayRate` share of calls, default all). Rates are
 * probabilities in `[0, 1]`; the outcomes of one rule exclude each other, so
 * their rates add up to at most 1. `during` limits the rule to windows of
 * time; without it the rule always applies.
 *
 * @example
 * ```ts
 * import type { Faults } from "@dogpile-effect/core"
 * const flaky: Faults.FaultRule = { fail: 0.2, delay: "50 millis" }
 * ```
 *
 * @category models
 * @since 0.1.0
 */
export interface FaultRule {
  /** Share of calls that fail with the operation's typed error (`BackendError` for a store). */
  readonly fail?: number
  /** Share of calls that never answer: they wait until interrupted (a timeout of yours, a scope closing). */
  readonly silent?: number
  /** Extra latency before the call runs (`Clock` time: `TestClock.adjust` lets it pass). */
  readonly delay?: Options.DurationOption
  /** Share of calls that get `delay`. Default 1 (all). */
  readonly delayRate?: number
  /** When the rule applies; several windows for several outages. Default: always. */
  readonly during?: FaultWindow | ReadonlyArray<FaultWindow>
}

/**
 * A rule for writes and deletes: also `drop`, the share of calls acknowledged
 * as done but not done (a lossy store, a write lost with its replica).
 *
 * @example
 * ```ts
 * import type { Faults } from "@dogpile-effect/core"
 * const lossy: Faults.WriteFaultRule = { drop: 0.5 }
 * ```
 *
 * @category models
 * @since 0.1.0
 */
export interface WriteFaultRule extends FaultRule {
  /** Share of calls that succeed without doing anything. */
  readonly drop?: number
}

/**
 * A rule for one operation: one rule, or several applied in order (their
 * delays add up; the first one that draws an outcome decides it).
 *
 * @example
 * ```ts
 * import type { Faults } from "@dogpile-effect/core"
 * const rules: Faults.Rules<Faults.FaultRule> = [{ delay: "5 millis" }, { fail: 1, during: { from: "10 seconds", until: "20 seconds" } }]
 * ```
 *
 * @category models
 * @since 0.1.0
 */
export type Rules<R> = R | ReadonlyArray<R>

/**
 * The outcomes a rule can draw. `pass` runs the call as it is.
 *
 * @example
 * ```ts
 * import type * as FaultRules from "./FaultRules.ts"
 * const outcome: FaultRules.Outcome = "fail"
 * ```
 *
 * @category models
 * @internal
 * @since 0.1.0
 */
export type Outcome = "fail" | "silent" | "drop" | "timeout" | "lost"

/**
 * One validated rule: its windows (ms since the Layer was built), its
 * outcomes with their rates, its delay.
 *
 * @example
 * ```ts
 * import type * as FaultRules from "./FaultRules.ts"
 * const rule: FaultRules.CompiledRule = { windows: [[0, Infinity]], outcomes: [["fail", 0.5]], delayMs: 0, delayRate: 1 }
 * ```
 *
 * @internal
 * @since 0.1.0
 */
export interface CompiledRule {
  readonly windows: ReadonlyArray<readonly [number, number]>
  readonly outcomes: ReadonlyArray<readonly [Outcome, number]>
  readonly delayMs: number
  readonly delayRate: number
}

/**
 * The validated rules of one operation, ready to draw verdicts from.
 *
 * @example
 * ```ts
 * import * as FaultRules from "./FaultRules.ts"
 * const compiled = FaultRules.compile("Faults.backend", "get", { fail: 0.25 }, ["fail", "silent"])
 * ```
 *
 * @category models
 * @internal
 * @since 0.1.0
 */
export interface Compiled {
  readonly rules: ReadonlyArray<CompiledRule>
}

const timing = new Set(["delay", "delayRate", "during"])

const invalid = (component: string, option: string, reason: string) =>
  new InvalidOptionError({ component, option, reason })

const checkRate = (component: string, option: string, value: unknown): Effect.Effect<number, InvalidOptionError> =>
  typeof value === "number" && Number.isFinite(value) && value >= 0 && value <= 1
    ? Effect.succeed(value)
    : Effect.fail(invalid(component, option, `must be a rate between 0 and 1, got ${String(value)}`))

const compileWindow = Effect.fnUntraced(function*(component: string, option: string, window: FaultWindow) {
  const from = window.from === undefined ? 0 : yield* Options.millis(component, `${option}.from`, window.from, { zero: true })
  const until = window.until === undefined
    ? Number.POSITIVE_INFINITY
    : yield* Options.millis(component, `${option}.until`, window.until, { zero: true, infinite: true })
  if (until <= from) {
    return yield* Effect.fail(invalid(component, option, `must end after it starts, got from ${from} ms until ${until} ms`))
  }
  return [from, until] as const
})

const compileRule = Effect.fnUntraced(function*(
  component: string,
  option: string,
  rule: unknown,
  allowed: ReadonlyArray<Outcome>
) {
  if (typeof rule !== "object" || rule === null) {
    return yield* Effect.fail(invalid(component, option, `must be a rule object, got ${String(rule)}`))
  }
  const fields = rule as Record<string, unknown>
  const outcomes: Array<readonly [Outcome, number]> = []
  for (const name of Object.keys(fields)) {
    if (fields[name] === undefined || timing.has(name)) continue
    if (!(allowed as ReadonlyArray<string>).includes(name)) {
      const can = [...allowed, ...timing].join(", ")
      return yield* Effect.fail(invalid(component, `${option}.${name}`, `is not a fault of this operation (it takes ${can})`))
    }
    outcomes.push([name as Outcome, yield* checkRate(component, `${option}.${name}`, fields[name])])
  }
  const total = outcomes.reduce((sum, [, rate]) => sum + rate, 0)
  if (total > 1 + 1e-9) {
    return yield* Effect.fail(invalid(component, option, `has outcome rates that add up to ${total}, more than 1`))
  }
  const { delay, delayRate, during } = fields as FaultRule
  const delayMs = delay === undefined ? 0 : yield* Options.millis(component, `${option}.delay`, delay, { zero: true })
  const rate = delayRate === undefined ? 1 : yield* checkRate(component, `${option}.delayRate`, delayRate)
  const windowList: ReadonlyArray<FaultWindow> = during === undefined ? [{}] : Array.isArray(during) ? during : [during as FaultWindow]
  if (windowList.length === 0) {
    return yield* Effect.fail(invalid(component, `${option}.during`, "must list at least one window (omit it for always)"))
  }
  const windows = yield* Effect.forEach(windowList, (w, i) => compileWindow(component, `${option}.during[${i}]`, w))
  return { windows, outcomes: outcomes.filter(([, r]) => r > 0), delayMs, delayRate: rate } satisfies CompiledRule
})

/**
 * Validates the rules of one operation: every rate within `[0, 1]`, the
 * outcome rates of a rule adding up to at most 1, durations non-negative and
 * finite, windows that end after they start, and only the outcomes in
 * `allowed`. Fails with `InvalidOptionError` naming the option otherwise.
 *
 * @example
 * ```ts
 * import * as FaultRules from "./FaultRules.ts"
 * FaultRules.compile("Faults.backend", "get", { fail: 1.5 }, ["fail"]) // fails: a rate above 1
 * ```
 *
 * @category constructors
 * @internal
 * @since 0.1.0
 */
export const compile = (
  component: string,
  option: string,
  rules: ReadonlyArray<unknown>,
  allowed: ReadonlyArray<Outcome>
): Effect.Effect<Compiled, InvalidOptionError> =>
  Effect.map(
    Effect.forEach(rules, (rule, i) => compileRule(component, rules.length === 1 ? option : `${option}[${i}]`, rule, allowed)),
    (compiled) => ({ rules: compiled })
  )

/**
 * Refuses a configuration with a field that is not one of `known` (a
 * misspelt operation would otherwise be silently ignored).
 *
 * @example
 * ```ts
 * import * as FaultRules from "./FaultRules.ts"
 * FaultRules.checkFields("Faults.backend", { gett: {} }, ["get"]) // fails: gett
 * ```
 *
 * @internal
 * @category constructors
 * @since 0.1.0
 */
export const checkFields = (
  component: string,
  config: object,
  known: ReadonlyArray<string>
): Effect.Effect<void, InvalidOptionError> => {
  const unknown = Object.keys(config).find((field) => !known.includes(field))
  return unknown === undefined
    ? Effect.void
    : Effect.fail(invalid(component, unknown, `is not an option (it takes ${known.join(", ")})`))
}

/**
 * The rules given for one operation as a list (none, one, or several).
 *
 * @example
 * ```ts
 * import * as FaultRules from "./FaultRules.ts"
 * FaultRules.list({ fail: 1 }) // [{ fail: 1 }]
 * ```
 *
 * @category constructors
 * @internal
 * @since 0.1.0
 */
export const list = <R>(rules: Rules<R> | undefined): ReadonlyArray<R> =>
  rules === undefined ? [] : Array.isArray(rules) ? rules : [rules as R]

/**
 * Whether compiled rules can change a call at all.
 *
 * @example
 * ```ts
 * import * as FaultRules from "./FaultRules.ts"
 * FaultRules.isEmpty({ rules: [] }) // true
 * ```
 *
 * @category predicates
 * @internal
 * @since 0.1.0
 */
export const isEmpty = (compiled: Compiled): boolean =>
  compiled.rules.every((rule) => rule.outcomes.length === 0 && rule.delayMs === 0)
