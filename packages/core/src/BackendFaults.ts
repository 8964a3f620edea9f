/**
 * A faulty Backend for tests: the Backend in context, made slow, failing,
 * silent or lossy per operation, at chosen rates or in windows of `Clock`
 * time. Failures are the `BackendError` a real outage gives.
 *
 * @since 0.1.0
 */
import { Clock, Effect, Layer } from "effect"
import { Backend, type BackendEntry, type BackendRestamp } from "./Backend.ts"
import { BackendError, type InvalidOptionError } from "./CacheError.ts"
import * as FaultRules from "./FaultRules.ts"
import * as FaultVerdict from "./FaultVerdict.ts"

type Read = FaultRules.Rules<FaultRules.FaultRule>
type Write = FaultRules.Rules<FaultRules.WriteFaultRule>

/**
 * Which faults each backend operation gets. Group rules (`all`, `reads`,
 * `writes`, `deletes`) apply before the operation's own; each is one rule or
 * a list (see `FaultRules.FaultRule`). `drop` (acknowledged, not done)
 * exists for writes and deletes only. Operations without rules run as they
 * are.
 *
 * @example
 * ```ts
 * import type { Faults } from "@dogpile-effect/core"
 * const config: Faults.BackendFaultsConfig = { get: { fail: 0.2, delay: "50 millis" }, set: { drop: 0.5 } }
 * ```
 *
 * @category models
 * @since 0.1.0
 */
export interface BackendFaultsConfig {
  /** Every operation. */
  readonly all?: Read
  /** `get`, `getMany` (and `getManyFromStore`). */
  readonly reads?: Read
  /** `set` and `setMany` (and `restampMany`). */
  readonly writes?: Write
  /** `delete` and `deleteMany`. */
  readonly deletes?: Write
  readonly get?: Read
  readonly getMany?: Read
  readonly set?: Write
  /** Also applies to `restampMany`, the renewal in place of a conditional refresh. */
  readonly setMany?: Write
  readonly delete?: Write
  readonly deleteMany?: Write
}

type Operation = "get" | "getMany" | "set" | "setMany" | "delete" | "deleteMany"

const component = "Faults.backend"
const readOutcomes: ReadonlyArray<FaultRules.Outcome> = ["fail", "silent"]
const writeOutcomes: ReadonlyArray<FaultRules.Outcome> = ["fail", "silent", "drop"]

const groupOf = (operation: Operation): "reads" | "writes" | "deletes" =>
  operation === "get" || operation === "getMany" ? "reads" : operation === "set" || operation === "setMany" ? "writes" : "deletes"

const compileOperation = (config: BackendFaultsConfig, operation: Operation) => {
  const group = groupOf(operation)
  const allowed = group === "reads" ? readOutcomes : writeOutcomes
  return Effect.map(
    Effect.all([
      FaultRules.compile(component, "all", FaultRules.list(config.all), readOutcomes),
      FaultRules.compile(component, group, FaultRules.list(config[group]), allowed),
      FaultRules.compile(component, operation, FaultRules.list(config[operation]), allowed)
    ]),
    (parts): FaultRules.Compiled => ({ rules: parts.flatMap((part) => part.rules) })
  )
}

/** The validated rules of every operation. */
type Plan = Readonly<Record<Operation, FaultRules.Compiled>>

const operations: ReadonlyArray<Operation> = ["get", "getMany", "set", "setMany", "delete", "deleteMany"]

const fields: ReadonlyArray<string> = ["all", "reads", "writes", "deletes", ...operations]

const compilePlan = (config: BackendFaultsConfig): Effect.Effect<Plan, InvalidOptionError> =>
  Effect.andThen(
    FaultRules.checkFields(component, config, fields),
    Effect.all({
      get: compileOperation(config, "get"),
      getMany: compileOperation(config, "getMany"),
      set: compileOperation(config, "set"),
      setMany: compileOperation(config, "setMany"),
      delete: compileOperation(config, "delete"),
      deleteMany: compileOperation(config, "deleteMany")
    })
  )

const injected = (backend: string, operation: string) =>
  new BackendError({ backend, operation, reason: "injected fault (Faults.backend): the store did not answer" })

/**
 * Wraps `inner` with the faults of `config`, validated first
 * (`InvalidOptionError` for a rate outside `[0, 1]`, outcome rates adding up
 * past 1, a negative duration, an empty window, a fault an operation cannot
 * have). Windows count from the `Clock` time of this call. A read with rules
 * loses the synchronous `peek` of an in-process store, so every read goes
 * through the faults.
 *
 * @example
 * ```ts
 * import { Faults, MemoryBackend } from "@dogpile-effect/core"
 * import { Effect } from "effect"
 * const flaky = Effect.flatMap(MemoryBackend.make(), (inner) => Faults.wrapBackend(inner, { get: { fail: 0.5 } }))
 * ```
 *
 * @category constructors
 * @since 0.1.0
 */
export const wrapBackend = (
  inner: Backend["Service"],
  config: BackendFaultsConfig
): Effect.Effect<Backend["Service"], InvalidOptionError> =>
  Effect.gen(function*() {
    const plan = yield* compilePlan(config)
    const startedAt = yield* Clock.currentTimeMillis
    return build(inner, plan, startedAt)
  })

const build = (inner: Backend["Service"], plan: Plan, startedAt: number): Backend["Service"] => {
  /** `call` under the rules of `operation`; a dropped write succeeds without running it. */
  const guard = <A, E, R>(operation: Operation, call: Effect.Effect<A, E, R>, dropped?: Effect.Effect<A>) =>
    FaultVerdict.around(plan[operation], startedAt, call, (outcome) =>
      outcome === "fail"
        ? Effect.fail(injected(inner.name, operation))
        : outcome === "drop"
        ? dropped
        : undefined)
  const reads = !FaultRules.isEmpty(plan.get) || !FaultRules.isEmpty(plan.getMany)
  const fromStore = inner.getManyFromStore
  const restampMany = inner.restampMany?.bind(inner)
  return Backend.of({
    name: inner.name,
    capabilities: inner.capabilities,
    ...(inner.peek === undefined || reads ? {} : { peek: inner.peek }),
    ...(fromStore === undefined ? {} : {
      getManyFromStore: (keys) => guard("getMany", Effect.suspend(() => fromStore(keys)))
    }),
    get: (key) => guard("get", Effect.suspend(() => inner.get(key))),
    getMany: (keys) => guard("getMany", Effect.suspend(() => inner.getMany(keys))),
    set: (key, value, ttl) => guard("set", Effect.suspend(() => inner.set(key, value, ttl)), Effect.void),
    setMany: (entries: ReadonlyArray<BackendEntry>) => guard("setMany", Effect.suspend(() => inner.setMany(entries)), Effect.void),
    delete: (key) => guard("delete", Effect.suspend(() => inner.delete(key)), Effect.void),
    deleteMany: (keys) => guard("deleteMany", Effect.suspend(() => inner.deleteMany(keys)), Effect.void),
    // A renewal in place is a write of many keys: the `setMany` rules apply (dropped, it reports each one done).
    ...(restampMany === undefined ? {} : {
      restampMany: (entries: ReadonlyArray<BackendRestamp>) =>
        guard("setMany", Effect.suspend(() => restampMany(entries)), Effect.succeed(entries.map(() => true)))
    })
  })
}

/**
 * A Layer that replaces the Backend in context with a faulty one (see
 * {@link wrapBackend}): provide the real backend to it, and it to the code
 * under test. Randomness comes from the calling fiber's `Random`, so
 * `Random.withSeed` makes a run reproducible; delays and windows use `Clock`,
 * so `TestClock` drives them.
 *
 * @example
 * ```ts
 * import { Faults, MemoryBackend } from "@dogpile-effect/core"
 * import { Layer } from "effect"
 *
 * // Reads fail 20% of the time and take 50 ms; half the writes are lost;
 * // every operation fails between t = 10 s and t = 20 s.
 * const FlakyCache = Faults.backend({
 *   get: { fail: 0.2, delay: "50 millis" },
 *   set: { drop: 0.5 },
 *   all: { fail: 1, during: { from: "10 seconds", until: "20 seconds" } }
 * }).pipe(Layer.provide(MemoryBackend.layer()))
 * ```
 *
 * @category layers
 * @since 0.1.0
 */
export const backend = (config: BackendFaultsConfig): Layer.Layer<Backend, InvalidOptionError, Backend> =>
  Layer.effect(Backend, Effect.flatMap(Backend, (inner: Backend["Service"]) => wrapBackend(inner, config)))
