/**
 * Region options from `Config` (#23 item 2): missing variables leave the
 * literal option or the default, set ones win, bad ones are typed errors
 * naming the variable, and a region built from Config behaves like one built
 * from the same literals (expiry under the TestClock).
 */
import { assert, describe, it } from "@effect/vitest"
import { ConfigOptions, Lock, MemoryBackend, Region, RegionConfig } from "@dogpile-effect/core"
import { Cause, Config, ConfigProvider, Duration, Effect, Exit, Layer, Option, Redacted, Schema } from "effect"
import { TestClock } from "effect/testing"

const stores = () => Layer.mergeAll(MemoryBackend.layer(), Lock.layerLocal)

const withEnv = (env: Record<string, unknown>) =>
  Effect.provideService(ConfigProvider.ConfigProvider, ConfigProvider.fromUnknown(env))

/** The typed failure of `effect` (a defect fails the test). */
const failureOf = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  Effect.gen(function*() {
    const exit = yield* Effect.exit(effect)
    if (Exit.isSuccess(exit)) return assert.fail("must fail")
    assert.isFalse(Cause.hasDies(exit.cause), `a typed failure, not a defect: ${Cause.pretty(exit.cause)}`)
    return Option.getOrThrow(Exit.findErrorOption(exit))
  })

const usersConfig: RegionConfig.Wrap = {
  expiration: RegionConfig.expiration("USERS_TTL"),
  storeTtl: RegionConfig.expiration("USERS_STORE_TTL"),
  lockTimeout: Config.Duration("USERS_LOCK_TIMEOUT"),
  hardTimeout: Config.Duration("USERS_HARD_TIMEOUT"),
  softTimeout: Config.Duration("USERS_SOFT_TIMEOUT"),
  staleIfError: Config.Boolean("USERS_STALE_IF_ERROR"),
  namespace: Config.String("USERS_NAMESPACE"),
  maxKeyLength: Config.Int("USERS_MAX_KEY_LENGTH")
}

const literal = { name: "users", schema: Schema.Number, expiration: "1 hour" } as const

/** Builds the region from `usersConfig` over `literal` under `env`, in the current scope. */
const fromEnv = (env: Record<string, unknown>) =>
  RegionConfig.make<number>(literal, usersConfig).pipe(withEnv(env), Effect.provide(stores()))

/** What the region shows over 25 s of TestClock time: creations at 0, 9, 11 and 25 s, and the entry's lifetime. */
const expiryTrace = (region: Region.Region<number>) =>
  Effect.gen(function*() {
    let created = 0
    const creator = Effect.sync(() => ++created)
    const seen: Array<number> = []
    seen.push(yield* region.getOrCreate("user:1", creator))
    const info = Option.getOrThrow(yield* region.inspect("user:1"))
    for (const step of ["9 seconds", "2 seconds", "14 seconds"] as const) {
      yield* TestClock.adjust(step)
      seen.push(yield* region.getOrCreate("user:1", creator))
    }
    return { seen, created, lifetime: (info.expiresAt ?? Infinity) - (info.createdAt ?? 0) }
  })

describe("RegionConfig: options from Config", () => {
  it.effect("missing variables: the literal options and the defaults apply", () =>
    Effect.gen(function*() {
      const region = yield* fromEnv({})
      const trace = yield* expiryTrace(region)
      assert.strictEqual(trace.lifetime, 3_600_000, "the literal 1 hour")
      assert.deepStrictEqual(trace.seen, [1, 1, 1, 1])
      const none = yield* RegionConfig.options(usersConfig).pipe(withEnv({}))
      assert.deepStrictEqual(none, {})
    }).pipe(Effect.scoped))

  it.effect("a region from Config (USERS_TTL=10 seconds over a literal 1 hour) expires like one from the literal 10 seconds", () =>
    Effect.gen(function*() {
      const configured = yield* expiryTrace(yield* fromEnv({ USERS_TTL: "10 seconds" }))
      const literal10 = yield* expiryTrace(
        yield* Region.make<number>({ ...literal, expiration: "10 seconds" }).pipe(Effect.provide(stores()))
      )
      assert.deepStrictEqual(configured, literal10)
      assert.deepStrictEqual(configured, { seen: [1, 1, 2, 3], created: 3, lifetime: 10_000 })
    }).pipe(Effect.scoped))

  it.effect("RegionConfig.expiration reads never and durations; options lists only the variables that are set", () =>
    Effect.gen(function*() {
      const never = yield* expiryTrace(yield* fromEnv({ USERS_TTL: "never" }))
      assert.deepStrictEqual(never.seen, [1, 1, 1, 1])
      assert.strictEqual(never.lifetime, Infinity)
      const set = yield* RegionConfig.options(usersConfig).pipe(
        withEnv({ USERS_TTL: "never", USERS_LOCK_TIMEOUT: "5 seconds", USERS_STALE_IF_ERROR: "true" })
      )
      assert.deepStrictEqual(Object.keys(set).sort(), ["expiration", "lockTimeout", "staleIfError"])
      assert.strictEqual(set.expiration, "never")
      assert.strictEqual(set.staleIfError, true)
    }).pipe(Effect.scoped))

  it.effect("from the environment (ConfigProvider.fromEnvRecord): an empty variable counts as missing", () =>
    Effect.gen(function*() {
      const fromEnvRecord = (env: Record<string, string>) =>
        RegionConfig.make<number>(literal, usersConfig).pipe(
          Effect.provideService(ConfigProvider.ConfigProvider, ConfigProvider.fromEnvRecord(env)),
          Effect.provide(stores())
        )
      const empty = yield* expiryTrace(yield* fromEnvRecord({ USERS_TTL: "" }))
      assert.strictEqual(empty.lifetime, 3_600_000)
      const set = yield* expiryTrace(yield* fromEnvRecord({ USERS_TTL: "10 seconds" }))
      assert.deepStrictEqual(set, { seen: [1, 1, 2, 3], created: 3, lifetime: 10_000 })
    }).pipe(Effect.scoped))

  it.effect("a variable that does not parse: ConfigError naming it", () =>
    Effect.gen(function*() {
      const cases: ReadonlyArray<readonly [Record<string, string>, string]> = [
        [{ USERS_TTL: "soon" }, "USERS_TTL"],
        [{ USERS_LOCK_TIMEOUT: "5 parsecs" }, "USERS_LOCK_TIMEOUT"],
        [{ USERS_STALE_IF_ERROR: "maybe" }, "USERS_STALE_IF_ERROR"],
        [{ USERS_MAX_KEY_LENGTH: "many" }, "USERS_MAX_KEY_LENGTH"]
      ]
      for (const [env, key] of cases) {
        const error = yield* failureOf(Effect.scoped(fromEnv(env)))
        assert.strictEqual(error._tag, "ConfigError", key)
        assert.include(error.message, key)
      }
    }))

  it.effect("a value the region rejects: the literal's InvalidOptionError, naming the variable", () =>
    Effect.gen(function*() {
      const cases: ReadonlyArray<readonly [Record<string, string>, Partial<Region.RegionOptions<number>>, string, string]> = [
        [{ USERS_LOCK_TIMEOUT: "0 millis" }, { lockTimeout: Duration.millis(0) }, "lockTimeout", "USERS_LOCK_TIMEOUT"],
        [{ USERS_STORE_TTL: "1 second", USERS_TTL: "10 seconds" }, { storeTtl: "1 second", expiration: "10 seconds" }, "storeTtl", "USERS_STORE_TTL"],
        [{ USERS_SOFT_TIMEOUT: "2 seconds", USERS_HARD_TIMEOUT: "1 second" }, { softTimeout: "2 seconds", hardTimeout: "1 second" }, "softTimeout", "USERS_SOFT_TIMEOUT"],
        [{ USERS_NAMESPACE: "_internal" }, { namespace: "_internal" }, "namespace", "USERS_NAMESPACE"],
        [{ USERS_MAX_KEY_LENGTH: "0" }, { maxKeyLength: 0 }, "maxKeyLength", "USERS_MAX_KEY_LENGTH"]
      ]
      for (const [env, options, option, key] of cases) {
        const fromConfig = yield* failureOf(Effect.scoped(fromEnv(env)))
        const fromLiteral = yield* failureOf(Effect.scoped(Region.make<number>({ ...literal, ...options }).pipe(Effect.provide(stores()))))
        assert.strictEqual(fromConfig._tag, "InvalidOptionError", key)
        if (fromConfig._tag !== "InvalidOptionError") continue
        assert.strictEqual(fromConfig.component, fromLiteral.component)
        assert.strictEqual(fromConfig.option, option)
        assert.strictEqual(fromConfig.option, fromLiteral.option)
        assert.strictEqual(fromConfig.reason, `${fromLiteral.reason} (from config ${key})`)
        assert.include(fromConfig.message, key)
      }
    }))

  it.effect("a literal option that is invalid names no variable", () =>
    Effect.gen(function*() {
      const error = yield* failureOf(
        Effect.scoped(RegionConfig.make<number>({ ...literal, lockTimeout: -1 }, usersConfig).pipe(withEnv({}), Effect.provide(stores())))
      )
      assert.strictEqual(error._tag, "InvalidOptionError")
      assert.notInclude(error.message, "from config")
    }))

  it.effect("Region.Service's layerConfig and Region.layerConfig build the region from Config", () =>
    Effect.gen(function*() {
      class Users extends Region.Service<Users>()("test/RegionConfig/Users", literal) {}
      const viaService = yield* Effect.gen(function*() {
        return yield* expiryTrace(yield* Users)
      }).pipe(Effect.provide(Users.layerConfig({ expiration: Config.Duration("TTL") }).pipe(Layer.provide(stores()))), withEnv({ TTL: "10 seconds" }))
      assert.deepStrictEqual(viaService, { seen: [1, 1, 2, 3], created: 3, lifetime: 10_000 })
      const bad = yield* failureOf(
        Layer.build(Users.layerConfig({ lockTimeout: Config.Duration("LOCK") }).pipe(Layer.provide(stores()))).pipe(
          Effect.scoped,
          withEnv({ LOCK: "-1 seconds" })
        )
      )
      assert.strictEqual(bad._tag, "InvalidOptionError")
      assert.strictEqual(bad.message, "Region users: option lockTimeout must not be negative, got -1000 millis (from config LOCK)")
    }))

  it.effect("one Config of all the options (Config.all) reads like the record, naming its variables on error", () =>
    Effect.gen(function*() {
      const whole = Config.all({ expiration: Config.Duration("TTL"), storeTtl: Config.Duration("STORE_TTL") })
      const error = yield* failureOf(
        Effect.scoped(RegionConfig.make<number>(literal, whole).pipe(withEnv({ TTL: "10 seconds", STORE_TTL: "1 second" }), Effect.provide(stores())))
      )
      assert.strictEqual(error._tag, "InvalidOptionError")
      assert.include(error.message, "(from config TTL, STORE_TTL)")
    }))

  it.effect("ConfigOptions.load: nested records, sources per option", () =>
    Effect.gen(function*() {
      interface Options {
        readonly timeout?: number
        readonly auth?: { readonly user?: string; readonly role?: string }
      }
      const loaded = yield* ConfigOptions.load<Options>({
        timeout: Config.Int("TIMEOUT"),
        auth: { user: Config.String("AUTH_USER"), role: Config.String("AUTH_ROLE") }
      }).pipe(withEnv({ AUTH_USER: "ada" }))
      assert.deepStrictEqual(loaded.options, { auth: { user: "ada" } })
      assert.deepStrictEqual([...loaded.sources], [["auth.user", ["AUTH_USER"]]])
      // Values that are not Configs (a JavaScript caller's literals) pass through whole, class instances included.
      const secret = Redacted.make("s3cret")
      const literal = yield* ConfigOptions.load<{ readonly password?: Redacted.Redacted<string> }>(
        { password: secret } as unknown as Config.Wrap<{ readonly password?: Redacted.Redacted<string> }>
      ).pipe(withEnv({}))
      assert.strictEqual(literal.options.password, secret)
    }))
})
