/**
 * A faulty Lock for tests: the Lock in context, made slow, failing, silent,
 * timing out, or losing its leases, at chosen rates or in windows of `Clock`
 * time. Failures are the typed errors a real lock gives: `BackendError` when
 * its store fails, `LockTimeoutError`, `LockLostError`.
 *
 * @since 0.1.0
 */
import { Clock, Duration, Effect, Layer, Option } from "effect"
import * as CacheKey from "./CacheKey.ts"
import { BackendError, type InvalidOptionError, LockLostError, LockTimeoutError } from "./CacheError.ts"
import * as FaultRules from "./FaultRules.ts"
import * as FaultVerdict from "./FaultVerdict.ts"
import { Lock, type LockLease, type TakenLock } from "./Lock.ts"
import * as Options from "./Options.ts"

/**
 * A rule for `acquire` and `awaitRelease`: also `timeout`, the share of calls
 * that fail with `LockTimeoutError` at once (add a `delay` to make them wait
 * first, as a real timeout does).
 *
 * @example
 * ```ts
 * import type { Faults } from "@dogpile-effect/core"
 * const contended: Faults.WaitFaultRule = { timeout: 0.1 }
 * ```
 *
 * @category models
 * @since 0.1.0
 */
export interface WaitFaultRule extends FaultRules.FaultRule {
  readonly timeout?: number
}

/**
 * A rule for the leases the lock hands out: `lost`, the share of leases
 * reported lost when the region confirms them (after the value was stored),
 * as a lock that expired or was flushed while its creator ran.
 *
 * @example
 * ```ts
 * import type { Faults } from "@dogpile-effect/core"
 * const expiring: Faults.LeaseFaultRule = { lost: 0.5 }
 * ```
 *
 * @category models
 * @since 0.1.0
 */
export interface LeaseFaultRule {
  readonly lost?: number
  readonly delay?: Options.DurationOption
  readonly delayRate?: number
  readonly during?: FaultRules.FaultWindow | ReadonlyArray<FaultRules.FaultWindow>
}

/**
 * Which faults each lock operation gets: `all` applies before each
 * operation's own rules; `lease` decides whether a lease is reported lost
 * (`onLost: "fail"`, the default, fails with `LockLostError`; `"continue"`
 * reports `"lost"` and lets the call go on). A faulty `tryAcquire` also
 * disables the lock's unscoped `tryTake`, so the region takes locks through
 * the faults.
 *
 * @example
 * ```ts
 * import type { Faults } from "@dogpile-effect/core"
 * const config: Faults.LockFaultsConfig = { acquire: { timeout: 1 }, lease: { lost: 0.5 } }
 * ```
 *
 * @category models
 * @since 0.1.0
 */
export interface LockFaultsConfig {
  readonly all?: FaultRules.Rules<FaultRules.FaultRule>
  readonly tryAcquire?: FaultRules.Rules<FaultRules.FaultRule>
  readonly acquire?: FaultRules.Rules<WaitFaultRule>
  readonly awaitRelease?: FaultRules.Rules<WaitFaultRule>
  readonly status?: FaultRules.Rules<FaultRules.FaultRule>
  readonly lease?: FaultRules.Rules<LeaseFaultRule>
  readonly onLost?: "fail" | "continue"
}

type Operation = "tryAcquire" | "acquire" | "awaitRelease" | "status"

interface Plan {
  readonly tryAcquire: FaultRules.Compiled
  readonly acquire: FaultRules.Compiled
  readonly awaitRelease: FaultRules.Compiled
  readonly status: FaultRules.Compiled
  readonly lease: FaultRules.Compiled
  readonly failOnLost: boolean
}

const component = "Faults.lock"
const plain: ReadonlyArray<FaultRules.Outcome> = ["fail", "silent"]
const waiting: ReadonlyArray<FaultRules.Outcome> = ["fail", "silent", "timeout"]

const compileOperation = (config: LockFaultsConfig, operation: Operation) =>
  Effect.map(
    Effect.all([
      FaultRules.compile(component, "all", FaultRules.list(config.all), plain),
      FaultRules.compile(
        component,
        operation,
        FaultRules.list<unknown>(config[operation]),
        operation === "acquire" || operation === "awaitRelease" ? waiting : plain
      )
    ]),
    (parts): FaultRules.Compiled => ({ rules: parts.flatMap((part) => part.rules) })
  )

const fields: ReadonlyArray<string> = ["all", "tryAcquire", "acquire", "awaitRelease", "status", "lease", "onLost"]

const compilePlan = (config: LockFaultsConfig): Effect.Effect<Plan, InvalidOptionError> =>
  Effect.gen(function*() {
    yield* FaultRules.checkFields(component, config, fields)
    yield* Options.reject(
      component,
      "onLost",
      config.onLost !== undefined && config.onLost !== "fail" && config.onLost !== "continue",
      `must be "fail" or "continue", got ${String(config.onLost)}`
    )
    return {
      tryAcquire: yield* compileOperation(config, "tryAcquire"),
      acquire: yield* compileOperation(config, "acquire"),
      awaitRelease: yield* compileOperation(config, "awaitRelease"),
      status: yield* compileOperation(config, "status"),
      lease: yield* FaultRules.compile(component, "lease", FaultRules.list(config.lease), ["lost"]),
      failOnLost: config.onLost !== "continue"
    }
  })

/**
 * Wraps `inner` with the faults of `config`, validated first (see
 * `Faults.wrapBackend` for what is refused). Windows count from the `Clock`
 * time of this call.
 *
 * @example
 * ```ts
 * import { Faults, Lock } from "@dogpile-effect/core"
 * const timingOut = Faults.wrapLock(Lock.makeLocal(), { acquire: { timeout: 1 } })
 * ```
 *
 * @category constructors
 * @since 0.1.0
 */
export const wrapLock = (inner: Lock["Service"], config: LockFaultsConfig): Effect.Effect<Lock["Service"], InvalidOptionError> =>
  Effect.gen(function*() {
    const plan = yield* compilePlan(config)
    const startedAt = yield* Clock.currentTimeMillis
    return build(inner, plan, startedAt)
  })

const build = (inner: Lock["Service"], plan: Plan, startedAt: number): Lock["Service"] => {
  const failed = (operation: Operation) =>
    new BackendError({ backend: inner.name, operation, reason: "injected fault (Faults.lock): the lock store did not answer" })

  /** `call` under the rules of `operation`; `timedOut` answers the `timeout` outcome of the waiting operations. */
  const guard = <A, E, R, E2 = never>(
    operation: Operation,
    call: Effect.Effect<A, E, R>,
    timedOut?: () => Effect.Effect<never, E2>
  ) =>
    FaultVerdict.around(plan[operation], startedAt, call, (outcome): Effect.Effect<A, BackendError | E2> | undefined => {
      if (outcome === "fail") return Effect.fail(failed(operation))
      if (outcome === "timeout" && timedOut !== undefined) return timedOut()
      return undefined
    })

  const reportLost = (key: CacheKey.CacheKey, confirmed: Effect.Effect<void | "lost", LockLostError>) =>
    FaultVerdict.around(plan.lease, startedAt, confirmed, (outcome) =>
      outcome !== "lost"
        ? undefined
        : Effect.andThen(
          Effect.ignore(confirmed),
          plan.failOnLost ? Effect.fail(new LockLostError({ key: CacheKey.display(key) })) : Effect.succeed("lost" as const)
        ))

  const wrapLease = (key: CacheKey.CacheKey, lease: LockLease): LockLease => {
    if (FaultRules.isEmpty(plan.lease)) return lease
    const { confirmAndRelease } = lease
    return {
      confirm: reportLost(key, lease.confirm),
      ...(confirmAndRelease === undefined ? {} : { confirmAndRelease: reportLost(key, confirmAndRelease) })
    }
  }

  const timeoutOf = (key: CacheKey.CacheKey, timeout: Duration.Input) => () =>
    Effect.fail(new LockTimeoutError({ key: CacheKey.display(key), timeoutMillis: timeoutMillis(timeout) }))

  const tryTake = inner.tryTake
  const keepTryTake = tryTake !== undefined && FaultRules.isEmpty(plan.tryAcquire)
  const status = inner.status
  return Lock.of({
    name: inner.name,
    tryAcquire: (key) =>
      guard("tryAcquire", Effect.map(Effect.suspend(() => inner.tryAcquire(key)), Option.map((lease) => wrapLease(key, lease)))),
    acquire: (key, timeout) =>
      guard("acquire", Effect.map(Effect.suspend(() => inner.acquire(key, timeout)), (lease) => wrapLease(key, lease)), timeoutOf(key, timeout)),
    awaitRelease: (key, timeout) =>
      guard("awaitRelease", Effect.suspend(() => inner.awaitRelease(key, timeout)), timeoutOf(key, timeout)),
    ...(status === undefined ? {} : { status: (key: CacheKey.CacheKey) => guard("status", Effect.suspend(() => status(key))) }),
    ...(!keepTryTake ? {} : {
      tryTake: (key: CacheKey.CacheKey) =>
        Effect.map(
          Effect.suspend(() => tryTake(key)),
          Option.map((taken): TakenLock => ({ lease: wrapLease(key, taken.lease), release: taken.release }))
        )
    })
  })
}

/** The caller's timeout in milliseconds, as the real lock reports it (0 if it cannot be read). */
const timeoutMillis = (timeout: Duration.Input): number => {
  const decoded = Duration.fromInput(timeout)
  return Option.isSome(decoded) ? Duration.toMillis(decoded.value) : 0
}

/**
 * A Layer that replaces the Lock in context with a faulty one (see
 * {@link wrapLock}): provide the real lock to it, and it to the code under
 * test. Randomness comes from the calling fiber's `Random`; delays and windows
 * use `Clock`.
 *
 * @example
 * ```ts
 * import { Faults, Lock } from "@dogpile-effect/core"
 * import { Layer } from "effect"
 *
 * // Every blocking acquisition times out, and a third of the leases are lost.
 * const Contended = Faults.lock({ acquire: { timeout: 1 }, lease: { lost: 0.33 } }).pipe(
 *   Layer.provide(Lock.layerLocal)
 * )
 * ```
 *
 * @category layers
 * @since 0.1.0
 */
export const lock = (config: LockFaultsConfig): Layer.Layer<Lock, InvalidOptionError, Lock> =>
  Layer.effect(Lock, Effect.flatMap(Lock, (inner: Lock["Service"]) => wrapLock(inner, config)))
