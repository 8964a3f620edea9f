/**
 * The region as a service (issue #10): Schema-bound values, per-region codecs,
 * validated options, safe store TTLs, the closed-region error, the multi-key
 * path's order, concurrency and deadlock freedom, shared deadlines, bypass
 * coalescing and the injective key mapping. Run against memory here and
 * against Redis in `@dogpile-effect/redis`.
 */
import { assert, describe, it } from "@effect/vitest"
import {
  Backend,
  BackendError,
  CachedFunction,
  Codec,
  type CodecShape,
  Envelope,
  Faults,
  Lock,
  type LockLease,
  Region,
  RegionMetrics
} from "@dogpile-effect/core"
import { Cause, type Duration, Effect, Exit, Fiber, Layer, Metric, Option, Ref, Schema, Scope } from "effect"
import { TestClock } from "effect/testing"

/** The target's backend with every operation failing as in an outage (`Faults.backend`). */
const down = (target: ContractTarget) =>
  Faults.backend({ all: { fail: 1 } }).pipe(Layer.provide(target.layer()))

/** What the contract needs from a store under test. */
export interface ContractTarget {
  readonly name: string
  readonly layer: () => Layer.Layer<Backend | Lock, unknown>
  /** Reads the store TTL of a backend key in ms (-1: none), where the store can tell. */
  readonly storeTtl?: (key: string) => Effect.Effect<number, unknown>
}

let counter = 0
const unique = (label: string) => `${label}-${process.pid}-${(counter++).toString(36)}`

const count = (metric: RegionMetrics.CounterMetric) => Effect.map(Metric.value(metric), (state) => state.count)

const User = Schema.Struct({ id: Schema.Number, name: Schema.String })

/** Counts the lock attempts in flight at once, and the most ever. */
const watchingLocks = (inFlight: { now: number; max: number; total: number }) =>
  Layer.effect(
    Lock,
    Effect.map(Lock, (inner: Lock["Service"]) =>
      Lock.of({
        ...inner,
        tryAcquire: (key) =>
          Effect.suspend(() => {
            inFlight.now++
            inFlight.total++
            inFlight.max = Math.max(inFlight.max, inFlight.now)
            // A round trip's worth of waiting: attempts made one after another never overlap.
            return Effect.andThen(Effect.sleep("1 millis"), inner.tryAcquire(key)).pipe(
              Effect.ensuring(Effect.sync(() => inFlight.now--))
            )
          })
      }))
  )

export const regionContract = (target: ContractTarget): void => {
  const run = <A, E>(body: Effect.Effect<A, E, Backend | Lock | Scope.Scope>) =>
    body.pipe(Effect.scoped, Effect.provide(target.layer()))

  describe(`region as a service: ${target.name}`, () => {
    it.effect("Region.Service: the value type comes from the Schema; values that do not decode are misses, counted", () =>
      run(Effect.gen(function*() {
        const name = unique("users")
        class Users extends Region.Service<Users>()("test/Users", { name, schema: User, expiration: "1 minute" }) {}
        const value = yield* Effect.gen(function*() {
          const users = yield* Users
          const ada = yield* users.getOrCreate("1", Effect.succeed({ id: 1, name: "Ada" }))
          // A value of another shape under the same key (another deployment, a bug): a miss, not a crash.
          const backend = yield* Backend
          yield* backend.set(`${name}:2`, yield* Envelope.full().encode({ id: "two" }, Date.now(), Codec.json))
          const two = yield* users.getOrCreate("2", Effect.succeed({ id: 2, name: "Lin" }))
          assert.strictEqual(yield* count(users.metrics.decodeFailures), 1)
          return [ada, two]
        }).pipe(Effect.provide(Users.layer))
        assert.deepStrictEqual(value, [{ id: 1, name: "Ada" }, { id: 2, name: "Lin" }])
      })))

    it.effect("a value that does not match the Schema is not written: EncodeError", () =>
      run(Effect.gen(function*() {
        const r = yield* Region.make({ name: unique("enc"), schema: User })
        const error = yield* Effect.flip(r.set("x", { id: Number.NaN, name: 1 } as unknown as typeof User.Type))
        assert.strictEqual(error._tag, "EncodeError")
        assert.deepStrictEqual(yield* r.get("x"), Option.none())
      })))

    it.effect("two regions in one Layer set use different codecs", () =>
      run(Effect.gen(function*() {
        const backend = yield* Backend
        const upper: CodecShape = {
          name: "upper",
          encode: (value) => Effect.succeed(new TextEncoder().encode(String(value).toUpperCase())),
          decode: (bytes) => Effect.succeed(new TextDecoder().decode(bytes))
        }
        const a = yield* Region.make({ name: unique("json"), schema: Schema.String, envelope: Envelope.raw })
        const b = yield* Region.make({ name: unique("upper"), schema: Schema.String, envelope: Envelope.raw, codec: upper })
        yield* a.set("k", "abc")
        yield* b.set("k", "abc")
        const raw = (region: string) => Effect.map(backend.get(`${region}:k`), Option.map((bytes) => new TextDecoder().decode(bytes)))
        assert.deepStrictEqual(yield* raw(a.name), Option.some("\"abc\""))
        assert.deepStrictEqual(yield* raw(b.name), Option.some("ABC"))
      })))

    it.effect("a call on a closed region fails with RegionClosedError naming it", () =>
      run(Effect.gen(function*() {
        const scope = yield* Scope.make()
        const name = unique("closing")
        const r = yield* Scope.provide(Region.make({ name, schema: Schema.Number }), scope)
        assert.strictEqual(yield* r.getOrCreate("k", Effect.succeed(1)), 1)
        yield* Scope.close(scope, Exit.void)
        const error = yield* Effect.flip(r.get("k"))
        assert.strictEqual(error._tag, "RegionClosedError")
        assert.include(error.message, name)
        assert.strictEqual((yield* Effect.flip(r.getOrCreate("k", Effect.succeed(2))))._tag, "RegionClosedError")
      })))

    it.effect("every bad option fails the build with InvalidOptionError naming the option; none is a defect", () =>
      run(Effect.gen(function*() {
        const bad: ReadonlyArray<readonly [string, Partial<Region.RegionOptions<number>>]> = [
          ["name", { name: "" }],
          ["expiration", { expiration: -1 }],
          ["expiration", { expiration: Number.NaN }],
          ["expiration", { expiration: "soon" as Duration.Input }],
          ["lockTimeout", { lockTimeout: "Infinity" }],
          ["lockTimeout", { lockTimeout: 0 }],
          ["maxKeyLength", { maxKeyLength: -5 }],
          ["maxKeyLength", { maxKeyLength: Number.POSITIVE_INFINITY }],
          ["storeTtl", { expiration: "10 minutes", storeTtl: "1 minute" }],
          ["storeTtl", { expiration: "10 minutes", storeTtl: "20 minutes", envelope: Envelope.raw }],
          ["namespace", { namespace: "app:admin" }],
          ["namespace", { namespace: "_lock" }],
          ["namespace", { name: "has space" }],
          ["onBackendError", { onBackendError: "ignore" as "fail" }],
          ["shouldCache", { shouldCache: 1 as unknown as () => boolean }],
          ["envelope", { envelope: Envelope.full({ version: 70_000 }) }],
          ["envelope", { envelope: Envelope.compact({ resolution: 0 }) }]
        ]
        for (const [option, options] of bad) {
          const exit = yield* Effect.exit(Region.make<number>({ name: unique("bad"), ...options }))
          assert.isTrue(Exit.isFailure(exit), `${option} ${JSON.stringify(options)} must fail`)
          const error = Exit.isFailure(exit) ? Option.getOrUndefined(Cause.findErrorOption(exit.cause)) : undefined
          assert.strictEqual(error?._tag, "InvalidOptionError", `${option}: a typed error, not a defect`)
          assert.include(error?.option ?? "", option)
        }
      })))

    it.effect("per-call options are validated too: a typed error, nothing read or written", () =>
      run(Effect.gen(function*() {
        const r = yield* Region.make<number>({ name: unique("call") })
        const error = yield* Effect.flip(r.getOrCreate("k", Effect.succeed(1), { expiration: -3 }))
        assert.strictEqual(error._tag, "InvalidOptionError")
        assert.deepStrictEqual(yield* r.get("k"), Option.none())
      })))

    if (target.storeTtl !== undefined) {
      const ttlOf = target.storeTtl
      it.live("every write carries a store TTL by default: expiration plus the stale window; \"never\" is explicit", () =>
        run(Effect.gen(function*() {
          const a = yield* Region.make<number>({ name: unique("ttl"), expiration: "10 minutes" })
          yield* a.set("k", 1)
          const pttl = yield* ttlOf(`${a.name}:k`)
          assert.isTrue(pttl > 10 * 60_000 && pttl <= 20 * 60_000, `PTTL ${pttl}`)
          yield* a.getOrCreate("created", Effect.succeed(2))
          assert.isTrue((yield* ttlOf(`${a.name}:created`)) > 10 * 60_000)
          const forever = yield* Region.make<number>({ name: unique("ttl"), expiration: "never" })
          yield* forever.set("k", 1)
          assert.isTrue((yield* ttlOf(`${forever.name}:k`)) > 0, "even values that never expire get a store TTL")
          const explicit = yield* Region.make<number>({ name: unique("ttl"), expiration: "never", storeTtl: "never" })
          yield* explicit.set("k", 1)
          assert.strictEqual(yield* ttlOf(`${explicit.name}:k`), -1)
          const raw = yield* Region.make<number>({ name: unique("ttl"), expiration: "30 seconds", envelope: Envelope.raw })
          yield* raw.set("k", 1)
          const rawTtl = yield* ttlOf(`${raw.name}:k`)
          assert.isTrue(rawTtl > 0 && rawTtl <= 30_000, `raw: the TTL is the expiry (${rawTtl})`)
        })))
    }

    it.effect("empty multi-key calls return at once and reach no backend", () =>
      run(Effect.gen(function*() {
        const r = yield* Region.make<number>({ name: unique("empty") })
        const calls = yield* Ref.make(0)
        const creator = () => Effect.andThen(Ref.update(calls, (n) => n + 1), Effect.succeed([]))
        assert.deepStrictEqual(yield* r.getMany([]), [])
        assert.deepStrictEqual(yield* r.getOrCreateMany([], creator), [])
        yield* r.setMany([])
        yield* r.deleteMany([])
        assert.strictEqual(yield* Ref.get(calls), 0)
      }).pipe(Effect.provide(Layer.effect(Backend, Effect.map(Backend, (inner: Backend["Service"]) => {
        const refuse = () => Effect.fail(new BackendError({ backend: "guard", operation: "any", reason: "an empty call reached the backend" }))
        return Backend.of({ ...inner, getMany: (keys) => (keys.length === 0 ? refuse() : inner.getMany(keys)), setMany: (e) => (e.length === 0 ? refuse() : inner.setMany(e)), deleteMany: (k) => (k.length === 0 ? refuse() : inner.deleteMany(k)) })
      })))))
    )

    it.live("getOrCreateMany hands the creator the caller's keys, each once, in first-appearance order", () =>
      run(Effect.gen(function*() {
        const r = yield* Region.make<string>({ name: unique("order"), keyMangler: (key) => `m-${key}` })
        const asked: Array<ReadonlyArray<unknown>> = []
        const values = yield* r.getOrCreateMany(["z", "b", "z", "a"], (keys) => {
          asked.push(keys)
          return Effect.succeed(keys.map((k) => `v-${String(k)}`))
        })
        assert.deepStrictEqual(values, ["v-z", "v-b", "v-z", "v-a"])
        assert.deepStrictEqual(asked, [["z", "b", "a"]])
      })))

    it.live("100 cold keys: all locks are tried at once, one creator call", () => {
      const inFlight = { now: 0, max: 0, total: 0 }
      return Effect.gen(function*() {
        const r = yield* Region.make<number>({ name: unique("cold") })
        const keys = Array.from({ length: 100 }, (_, i) => `k${i}`)
        const calls = yield* Ref.make(0)
        const values = yield* r.getOrCreateMany(keys, (ks) =>
          Effect.andThen(Ref.update(calls, (n) => n + 1), Effect.succeed(ks.map((_, i) => i))))
        assert.strictEqual(values.length, 100)
        assert.strictEqual(yield* Ref.get(calls), 1)
        assert.strictEqual(inFlight.total, 100)
        assert.strictEqual(inFlight.max, 100, "the 100 lock attempts overlapped, not one after another")
      }).pipe(Effect.scoped, Effect.provide(watchingLocks(inFlight).pipe(Layer.provideMerge(target.layer()))))
    })

    it.live("overlapping batches in opposite orders never deadlock; each key is created exactly once", () =>
      run(Effect.gen(function*() {
        const r = yield* Region.make<string>({ name: unique("overlap"), lockTimeout: "20 seconds" })
        const keys = Array.from({ length: 30 }, (_, i) => `k${i}`)
        const created = new Map<string, number>()
        const creator = (ks: ReadonlyArray<unknown>) =>
          Effect.as(
            Effect.andThen(Effect.sync(() => ks.forEach((k) => created.set(String(k), (created.get(String(k)) ?? 0) + 1))), Effect.sleep("20 millis")),
            ks.map((k) => `v-${String(k)}`)
          )
        const batches = Array.from({ length: 100 }, (_, i) => {
          const rotated = [...keys.slice(i % 30), ...keys.slice(0, i % 30)]
          return i % 2 === 0 ? rotated : rotated.reverse()
        })
        const results = yield* Effect.forEach(batches, (batch) => r.getOrCreateMany(batch, creator), { concurrency: "unbounded" })
        results.forEach((values, i) => assert.deepStrictEqual(values, batches[i]!.map((k) => `v-${k}`)))
        assert.deepStrictEqual([...created.values()].filter((n) => n !== 1), [], "every key created exactly once")
        assert.strictEqual(created.size, 30)
      })))

    it.live("callers queued behind a lock held elsewhere share one deadline: they fail together, not one after another", () =>
      run(Effect.gen(function*() {
        const name = unique("deadline")
        const r = yield* Region.make<number>({ name, lockTimeout: "2 seconds" })
        const lock = yield* Lock
        const holder = yield* Scope.make()
        const lease: Option.Option<LockLease> = yield* Scope.provide(lock.tryAcquire(`${name}:k`), holder)
        assert.isTrue(Option.isSome(lease))
        const fibers = yield* Effect.forEach(Array.from({ length: 8 }, () => 0), () =>
          Effect.forkChild(r.getOrCreate("k", Effect.succeed(1))))
        const ended: Array<number> = []
        const exits = yield* Effect.forEach(fibers, (fiber) =>
          Effect.tap(Fiber.await(fiber), () => Effect.sync(() => void ended.push(performance.now()))), { concurrency: "unbounded" })
        // Queued one after another, each would fail a whole lockTimeout after the previous one (2 s apart);
        // sharing one deadline, they end together: the spread is a small fraction of the timeout.
        const spread = Math.max(...ended) - Math.min(...ended)
        assert.isBelow(spread / 2000, 0.5, `callers ended ${Math.round(spread)} ms apart`)
        for (const exit of exits) {
          const error = Exit.isFailure(exit) ? Option.getOrUndefined(Cause.findErrorOption(exit.cause)) : undefined
          assert.strictEqual(error?._tag, "LockTimeoutError")
        }
        yield* Scope.close(holder, Exit.void)
      })))

    it.live("onBackendError \"bypass\" keeps the dogpile in process: 200 callers, one creator run", () =>
      Effect.gen(function*() {
        const r = yield* Region.make<number>({ name: unique("bypass"), onBackendError: "bypass" })
        const runs = yield* Ref.make(0)
        const creator = Effect.andThen(Ref.update(runs, (n) => n + 1), Effect.as(Effect.sleep("50 millis"), 7))
        const values = yield* Effect.forEach(Array.from({ length: 200 }, () => 0), () => r.getOrCreate("k", creator), {
          concurrency: "unbounded"
        })
        assert.deepStrictEqual(new Set(values), new Set([7]))
        assert.strictEqual(yield* Ref.get(runs), 1)
        assert.strictEqual(yield* count(r.metrics.bypassed), 200)
      }).pipe(Effect.scoped, Effect.provide(Layer.mergeAll(down(target), Lock.layerLocal)))
    )

    it.effect("cached(f).get reads with the wrapper's expiration, as the cached call does", () =>
      run(Effect.gen(function*() {
        const r = yield* Region.make<number>({ name: unique("cached-get"), expiration: "1 second" })
        const f = CachedFunction.cached(r, (n: number) => Effect.succeed(n * 2), { namespace: "double", expiration: "1 hour" })
        assert.strictEqual(yield* f(21), 42)
        yield* TestClock.adjust("10 seconds")
        assert.deepStrictEqual(yield* f.get(21), Option.some(42))
      })))

    it.effect("a stored invalidation mark far in the future (a wrong clock, a forged value) is ignored, not in force until then", () =>
      run(Effect.gen(function*() {
        const name = unique("future")
        const r = yield* Region.make<string>({ name, expiration: "1 hour" })
        yield* r.set("k", "v")
        const backend = yield* Backend
        const now = yield* Effect.clockWith((clock) => clock.currentTimeMillis)
        const year = 365 * 24 * 3600 * 1000
        yield* backend.set(`__dogpile__:{${name}}:invalidated:hard`, new TextEncoder().encode(String(now + year)))
        // Another instance reads the marks from the store (the first keeps its own cached marks for 1 s).
        const other = yield* Region.make<string>({ name, expiration: "1 hour" })
        assert.deepStrictEqual(yield* other.get("k"), Option.some("v"), "the forged mark is ignored")
        // A mark within the allowed clock skew (a minute) still counts.
        yield* backend.set(`__dogpile__:{${name}}:invalidated:hard`, new TextEncoder().encode(String(now + 30_000)))
        const third = yield* Region.make<string>({ name, expiration: "1 hour" })
        assert.deepStrictEqual(yield* third.get("k"), Option.none(), "a mark slightly ahead is honoured")
      })))

    it.effect("the key mapping is injective: namespaces cannot alias, lone surrogates and non-string keys are refused", () =>
      run(Effect.gen(function*() {
        const app = yield* Region.make<string>({ name: unique("app"), namespace: "app" })
        const exit = yield* Effect.exit(Region.make<string>({ name: unique("app-admin"), namespace: "app:admin" }))
        assert.isTrue(Exit.isFailure(exit), "a namespace that could alias another's keys is refused")
        for (const key of ["user:\uD800", "user:\uDBFF", "\uDC00x"]) {
          assert.strictEqual((yield* Effect.flip(app.set(key, "v")))._tag, "InvalidKeyError")
        }
        for (const key of [42, null, undefined, { hash: 1 }] as ReadonlyArray<unknown>) {
          assert.strictEqual((yield* Effect.flip(app.get(key as string)))._tag, "InvalidKeyError")
        }
        const hostile = { get name(): string { throw new Error("getter") } }
        const codecRegion = yield* Region.make<unknown>({ name: unique("hostile") })
        assert.strictEqual((yield* Effect.flip(codecRegion.set("h", hostile)))._tag, "EncodeError")
      })))
  })
}
