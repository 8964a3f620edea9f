/**
 * Interop with the real Python dogpile.cache through fixtures/driver.py, once
 * per Python side (python.ts: Debian's dogpile.cache 1.1.8, dogpile.cache
 * 1.5.0; both with the plugin dogpile_backend_redis_advanced 0.5.0), each
 * region configured verbatim from docs/python-interop.md (configs.ts): values
 * both ways for every config, format and payload kind, locks both ways,
 * invalidation both ways. Set DOGPILE_INTEROP_MATRIX to a file path to have
 * the matrices written there (docs/python-interop.md holds a copy).
 */
import { assert, describe, it } from "@effect/vitest"
import { PythonInterop, PythonJson } from "@dogpile-effect/codecs"
import { CacheKey } from "@dogpile-effect/core"
import { Deferred, Effect, Fiber, Option } from "effect"
import { writeFileSync } from "node:fs"
import { afterAll } from "vitest"
import {
  type Config,
  type Format,
  formats,
  fresh,
  hashed,
  keyIn,
  pluginLocks,
  pyKey,
  regionWith,
  request,
  signal,
  stack,
  unique,
  valueConfigs
} from "./configs.ts"
import { Driver, dogpileVersion, missingMessage, mustRun, run, type Side, sideProblems, sides } from "./python.ts"

let n = 0

/** The payload kinds, as TypeScript sees them (fixtures/driver.py `kinds` has the Python side). */
const kinds = (format: Format): Record<string, unknown> => ({
  str: "hello",
  unicode: "h\u00e9llo w\u00f6rld \u2713 \u{1d11e}",
  int: 42,
  "big int": format === "json" ? 2n ** 70n + 1n : 2n ** 64n - 1n,
  "negative big int": format === "json" ? -(2n ** 70n) - 1n : -(2n ** 63n),
  float: 3.14159,
  None: null,
  bool: true,
  list: [1, "two", 3.5, null, false],
  "nested dict": { name: "ada", tags: ["x", "y"], nested: { n: 1, deep: { ok: true } } },
  ...(format === "msgpack" ? { bytes: Uint8Array.of(0, 1, 0xff, 0x62, 0x69, 0x6e) } : {})
})

const keyFor = (config: Config, prefix: string, kind: string): CacheKey.CacheKey =>
  hashed(config) ? CacheKey.hash(prefix, kind) : prefix + kind

// ---- the matrix -------------------------------------------------------------

const matrix = new Map<string, { py2ts?: string; ts2py?: string }>()
const sameBytes = new Map<string, string>()
const listLayouts: Array<string> = []
const cell = (side: Side, config: Config, format: string, kind: string) => {
  const id = `${side.id}|${config}|${format}|${kind}`
  let row = matrix.get(id)
  if (row === undefined) matrix.set(id, row = {})
  return row
}

const behaviours: Array<string> = []
const passed = (side: Side, area: string, config: string, what: string) =>
  behaviours.push(`| ${side.id} | ${area} | \`${config}\` | ${what} | yes |`)

const mark = (s: string | undefined) => (s === "yes" ? "✓" : s === undefined ? "–" : "✗")

/** One side's value matrix: a row per format and payload, two columns (Py→TS, TS→Py) per config. */
const sideMatrix = (side: Side): Array<string> => {
  const configs = valueConfigs(side)
  const lines = [
    `**${side.label}** (with dogpile_backend_redis_advanced ${side.plugin}):`,
    "",
    `| format | payload | ${configs.map((c) => `\`${c}\` Py→TS | \`${c}\` TS→Py`).join(" | ")} | TS bytes = Python bytes |`,
    `|---|---|${configs.map(() => "---|---|").join("")}---|`
  ]
  for (const format of formats) {
    for (const kind of Object.keys(kinds(format))) {
      const cells = configs.flatMap((config) => {
        const row = matrix.get(`${side.id}|${config}|${format}|${kind}`)
        return [mark(row?.py2ts), mark(row?.ts2py)]
      })
      lines.push(`| ${format} | ${kind} | ${cells.join(" | ")} | ${mark(sameBytes.get(`${side.id}|${format}|${kind}`))} |`)
    }
  }
  return lines
}

afterAll(() => {
  const target = process.env["DOGPILE_INTEROP_MATRIX"]
  if (target === undefined || matrix.size === 0) return
  const lines = [
    `Run with /usr/bin/python3 (redis-py, msgpack from Debian), ${new Date().toISOString().slice(0, 10)}.`,
    "✓: the value read back equal, type included (Python: `type(a) is type(b)`, recursively; TypeScript:",
    "`deepStrictEqual`); for bytes: TypeScript's `envelope.encode` equals `region._serialized_payload` for the same `ct`.",
    ""
  ]
  for (const side of sides) lines.push(...sideMatrix(side), "")
  lines.push(
    "The plugin 0.4.x `loads`/`dumps` layouts (every payload kind above; Python side: its serializer applied to the",
    "`CachedValue` tuple, as 0.4.x's `dumps` receives it):",
    "",
    "| side | format | layout | TS bytes = Python bytes, and TS reads Python's |",
    "|---|---|---|---|",
    ...listLayouts,
    "",
    "Locks and invalidation (both sides on their defaults):",
    "",
    "| side | area | config | scenario | passed |",
    "|---|---|---|---|---|",
    ...behaviours
  )
  writeFileSync(target, `${lines.join("\n")}\n`)
})

// ---- helpers ----------------------------------------------------------------

const promise = <A>(f: () => Promise<A>) => Effect.promise(f)

const python = dogpileVersion !== undefined && sideProblems.length === 0
if (!python) {
  const problems = dogpileVersion === undefined ? [missingMessage] : sideProblems
  if (mustRun) {
    describe("Python interop", () => {
      it("needs /usr/bin/python3 with dogpile.cache, redis and msgpack, and ../shared/python (as root: .ci/run installs them)", () => {
        assert.fail(problems.join("; "))
      })
    })
  } else {
    process.stderr.write(`[python] skipping Python interop tests: ${problems.join("; ")}\n`)
  }
}
const describePython = python ? describe : describe.skip

describePython("Python sides", () => {
  it("every side runs (Debian's 1.1.8 and 1.5.0, each with the plugin 0.5.0)", () => {
    assert.deepStrictEqual(sides.map((side) => [side.dogpile, side.plugin]), [["1.1.8", "0.5.0"], ["1.5.0", "0.5.0"]])
  })

  it.live("json: Python float reprs (1,000 random doubles) are TypeScript's", () =>
    Effect.gen(function*() {
      // Random bit patterns: every exponent, subnormals included; NaN and the infinities have their own tests.
      const view = new DataView(new ArrayBuffer(8))
      const values: Array<number> = []
      while (values.length < 1000) {
        view.setUint32(0, Math.floor(Math.random() * 2 ** 32))
        view.setUint32(4, Math.floor(Math.random() * 2 ** 32))
        const x = view.getFloat64(0)
        if (Number.isFinite(x)) values.push(x)
      }
      const reply = yield* promise(() => run({ cmd: "floats", values }))
      const reprs = reply["reprs"] as Array<string>
      let checked = 0
      for (let i = 0; i < values.length; i++) {
        assert.strictEqual(PythonJson.floatRepr(values[i] as number), reprs[i], String(values[i]))
        checked++
      }
      assert.strictEqual(checked, 1000)
    }))
})

for (const side of sides) {
  describePython(`${side.label}: values`, () => {
    for (const format of formats) {
      it.live(`${format}: TypeScript writes exactly the bytes dogpile.cache writes`, () =>
        Effect.gen(function*() {
          const ct = 1796149243.437805
          const python = yield* promise(() => run({ cmd: "serialize", format, ct }, side))
          const envelope = PythonInterop.envelope({ format, layout: "dogpile" })
          const codec = PythonInterop.codec(format)
          for (const [kind, value] of Object.entries(kinds(format))) {
            const bytes = yield* envelope.encode(value, ct * 1000, codec)
            const same = Buffer.from(bytes).toString("hex") === python[kind]
            sameBytes.set(`${side.id}|${format}|${kind}`, same ? "yes" : "NO")
            assert.isTrue(same, `${format} ${kind}: ${Buffer.from(bytes).toString("hex")} vs ${String(python[kind])}`)
          }
        }))

      for (const config of valueConfigs(side)) {
        it.live(`${config} ${format}: Python writes, TypeScript reads every payload kind`, () =>
          Effect.gen(function*() {
            const prefix = fresh("py2ts")
            yield* promise(() => run({ cmd: "write-all", ...request(config, format), prefix }, side))
            const region = yield* regionWith(config, "interop-values")
            const failures: Array<string> = []
            for (const [kind, expected] of Object.entries(kinds(format))) {
              const got = yield* region.get(keyFor(config, prefix, kind))
              let ok = false
              try {
                assert.deepStrictEqual(Option.getOrUndefined(got), expected)
                ok = Option.isSome(got)
              } catch {
                ok = false
              }
              cell(side, config, format, kind).py2ts = ok ? "yes" : "NO"
              if (!ok) failures.push(`${kind}: ${String(Option.getOrUndefined(got))}`)
            }
            assert.deepStrictEqual(failures, [])
          }).pipe(Effect.scoped, Effect.provide(stack(config, format))))

        it.live(`${config} ${format}: TypeScript writes, Python reads every payload kind (and never raises)`, () =>
          Effect.gen(function*() {
            const prefix = fresh("ts2py")
            const region = yield* regionWith(config, "interop-values")
            for (const [kind, value] of Object.entries(kinds(format))) yield* region.set(keyFor(config, prefix, kind), value)
            const reply = yield* promise(() => run({ cmd: "read-all", ...request(config, format), prefix }, side))
            const read = reply["read"] as Record<string, { ok: boolean; got: string }>
            const failures: Array<string> = []
            for (const kind of Object.keys(kinds(format))) {
              const result = read[kind]
              cell(side, config, format, kind).ts2py = result?.ok === true ? "yes" : "NO"
              if (result?.ok !== true) failures.push(`${kind}: ${result?.got}`)
            }
            assert.deepStrictEqual(failures, [])
          }).pipe(Effect.scoped, Effect.provide(stack(config, format))))
      }
    }

    for (const format of formats) {
      it.live(`${format}: the plugin 0.4.x full and compact layouts are the bytes Python's serializer gives`, () =>
        Effect.gen(function*() {
          const ct = 1796149243.437805
          const python = yield* promise(() => run({ cmd: "serialize-list", format, ct }, side))
          const codec = PythonInterop.codec(format)
          const failures: Array<string> = []
          for (const layout of ["full", "compact"] as const) {
            const envelope = PythonInterop.envelope({ format, layout })
            for (const [kind, value] of Object.entries(kinds(format))) {
              const mine = Buffer.from(yield* envelope.encode(value, ct * 1000, codec)).toString("hex")
              const theirs = (python[kind] as Record<string, string>)[layout]
              if (mine !== theirs) failures.push(`${layout} ${kind}: ${mine} vs ${theirs}`)
              const back = yield* envelope.decode(Buffer.from(theirs ?? "", "hex"), 0, codec)
              assert.deepStrictEqual(back.value, value)
            }
            listLayouts.push(`| ${side.id} | ${format} | ${layout} | ${failures.length === 0 ? "yes" : "NO"} |`)
          }
          assert.deepStrictEqual(failures, [])
        }))
    }

    it.live("hstore: a value longer than hash-max-listpack-value stays in its field, where Python reads it", () =>
      Effect.gen(function*() {
        const region = yield* regionWith("hstore", "interop-values")
        const key = CacheKey.hash(fresh("large"), "f")
        const large = "x".repeat(5000)
        yield* region.set(key, large)
        const read = yield* promise(() => run({ cmd: "get", ...request("hstore", "json"), key: pyKey(key) }, side))
        assert.deepStrictEqual(read, { found: true, value: large })
      }).pipe(Effect.scoped, Effect.provide(stack("hstore", "json"))))

    for (const config of valueConfigs(side)) {
      it.live(`${config}: a value TypeScript creates with getOrCreate is stored in the same layout, for Python`, () =>
        Effect.gen(function*() {
          const region = yield* regionWith(config, "interop-values")
          const key = keyIn(config, "created")
          // A creator that takes a while, as real ones do (and as entry metadata would record).
          yield* region.getOrCreate(key, Effect.as(Effect.sleep("20 millis"), { created: "ts" }))
          const read = yield* promise(() => run({ cmd: "get", ...request(config, "json"), key: pyKey(key) }, side))
          assert.deepStrictEqual(read, { found: true, value: { created: "ts" } })
        }).pipe(Effect.scoped, Effect.provide(stack(config, "json"))))
    }
  })

  // ---- locks ----------------------------------------------------------------

  const lockConfigs: ReadonlyArray<Config> = [
    "dogpile",
    ...(side.id === "1.5.0" ? ["dogpile-lock-prefix" as const] : []),
    ...(pluginLocks(side) ? ["advanced" as const, "hstore" as const] : [])
  ]

  describePython(`${side.label}: locks exclude both ways, both sides on their defaults`, () => {
    for (const config of lockConfigs) {
      const format: Format = config === "advanced" ? "msgpack" : "json"
      const base = request(config, format)

      it.live(`${config}: Python creates a missing value → TypeScript waits for it and does not create`, () =>
        Effect.gen(function*() {
          const key = keyIn(config, "py-holds")
          const go = `${unique}:go:${n++}`
          const py = new Driver({ cmd: "create", ...base, key: pyKey(key), value: "from python", goKey: go }, side)
          yield* promise(() => py.event("creating"))
          const waiting = yield* Deferred.make<void>()
          const region = yield* regionWith(config, "interop-locks", waiting)
          let created = 0
          const fiber = yield* Effect.forkChild(region.getOrCreate(key, Effect.sync(() => (created++, "from ts"))))
          yield* Deferred.await(waiting) // TypeScript found the lock held by Python
          yield* signal(go)
          assert.strictEqual(yield* Fiber.join(fiber), "from python")
          assert.strictEqual(created, 0)
          assert.deepStrictEqual(yield* promise(() => py.result), { value: "from python", created: true })
          passed(side, "lock", config, "Python creates a missing value; TS waits, reads it, does not create")
        }).pipe(Effect.scoped, Effect.provide(stack(config, format))))

      it.live(`${config}: Python regenerates an expired value → TypeScript serves the stale one at once`, () =>
        Effect.gen(function*() {
          const key = keyIn(config, "py-regen")
          const go = `${unique}:go:${n++}`
          yield* promise(() => run({ cmd: "set-old", ...base, key: pyKey(key), value: "old", age: 3600 }, side))
          const py = new Driver({ cmd: "create", ...base, key: pyKey(key), value: "new", goKey: go }, side)
          yield* promise(() => py.event("creating"))
          const region = yield* regionWith(config, "interop-locks")
          let created = 0
          assert.strictEqual(yield* region.getOrCreate(key, Effect.sync(() => (created++, "from ts"))), "old")
          assert.strictEqual(created, 0)
          yield* signal(go)
          assert.deepStrictEqual(yield* promise(() => py.result), { value: "new", created: true })
          passed(side, "lock", config, "Python regenerates an expired value; TS serves the stale one at once")
        }).pipe(Effect.scoped, Effect.provide(stack(config, format))))

      it.live(`${config}: TypeScript creates a missing value → Python waits for it and does not create`, () =>
        Effect.gen(function*() {
          const key = keyIn(config, "ts-holds")
          const started = yield* Deferred.make<void>()
          const release = yield* Deferred.make<void>()
          const region = yield* regionWith(config, "interop-locks")
          const creator = Effect.andThen(Deferred.succeed(started, undefined), Effect.as(Deferred.await(release), "from ts"))
          const fiber = yield* Effect.forkChild(region.getOrCreate(key, creator))
          yield* Deferred.await(started)
          const py = new Driver({ cmd: "create", ...base, key: pyKey(key), value: "from python" }, side)
          yield* promise(() => py.event("lock-busy")) // Python found the lock held by TypeScript
          yield* Deferred.succeed(release, undefined)
          assert.strictEqual(yield* Fiber.join(fiber), "from ts")
          assert.deepStrictEqual(yield* promise(() => py.result), { value: "from ts", created: false })
          passed(side, "lock", config, "TS creates a missing value; Python waits, reads it, does not create")
        }).pipe(Effect.scoped, Effect.provide(stack(config, format))))

      it.live(`${config}: TypeScript regenerates an expired value → Python serves the stale one at once`, () =>
        Effect.gen(function*() {
          const key = keyIn(config, "ts-regen")
          yield* promise(() => run({ cmd: "set-old", ...base, key: pyKey(key), value: "old", age: 3600 }, side))
          const started = yield* Deferred.make<void>()
          const release = yield* Deferred.make<void>()
          const region = yield* regionWith(config, "interop-locks")
          const creator = Effect.andThen(Deferred.succeed(started, undefined), Effect.as(Deferred.await(release), "new"))
          const fiber = yield* Effect.forkChild(region.getOrCreate(key, creator))
          yield* Deferred.await(started)
          const py = new Driver({ cmd: "create", ...base, key: pyKey(key), value: "py" }, side)
          const result = yield* promise(() => py.result)
          assert.isTrue(py.saw("lock-busy"))
          assert.deepStrictEqual(result, { value: "old", created: false })
          yield* Deferred.succeed(release, undefined)
          assert.strictEqual(yield* Fiber.join(fiber), "new")
          passed(side, "lock", config, "TS regenerates an expired value; Python serves the stale one at once")
        }).pipe(Effect.scoped, Effect.provide(stack(config, format))))
    }

    if (!pluginLocks(side)) {
      it.live("the plugin 0.5.0 cannot lock on dogpile.cache 1.1.8 (AttributeError: lock_blocking)", () =>
        Effect.gen(function*() {
          const key = keyIn("advanced", "no-lock")
          const failure = yield* Effect.flip(
            Effect.tryPromise(() => run({ cmd: "create", ...request("advanced", "json"), key: pyKey(key), value: "v" }, side))
          )
          assert.include(String(failure.cause), "lock_blocking")
        }))
    }
  })

  // ---- invalidation -----------------------------------------------------------

  describePython(`${side.label}: invalidation both ways (dogpile-effect-invalidation, installed by pip)`, () => {
    const invalidationConfigs: ReadonlyArray<Config> = [
      "shared-invalidation",
      ...(pluginLocks(side) ? ["hstore-shared-invalidation" as const] : [])
    ]
    for (const config of invalidationConfigs) {
      const format: Format = "json"
      const base = request(config, format)
      // The doc's blocks name the region "users".
      const name = "users"
      const pause = Effect.promise(() => new Promise((resolve) => setTimeout(resolve, 5)))

      it.live(`${config}: TypeScript hard and soft invalidations reach a Python region`, () =>
        Effect.gen(function*() {
          const region = yield* regionWith(config, name)
          const key = keyIn(config, "ts-inv")
          yield* promise(() => run({ cmd: "set", ...base, key: pyKey(key), value: "v1" }, side))
          const before = yield* promise(() => run({ cmd: "get", ...base, key: pyKey(key) }, side))
          assert.deepStrictEqual(before, { found: true, value: "v1" })
          yield* pause
          yield* region.invalidate({ hard: true })
          const after = yield* promise(() => run({ cmd: "get", ...base, key: pyKey(key) }, side))
          assert.deepStrictEqual(after, { found: false, value: null })

          yield* promise(() => run({ cmd: "set", ...base, key: pyKey(key), value: "v2" }, side))
          yield* pause
          yield* region.invalidate({ hard: false })
          const soft = { cmd: "create", ...base, key: pyKey(key), value: "v3" }
          assert.deepStrictEqual(yield* promise(() => run(soft, side)), { value: "v3", created: true })
          passed(side, "invalidation", config, "TS hard → Python miss; TS soft → Python regenerates")
        }).pipe(Effect.scoped, Effect.provide(stack(config, format))))

      it.live(`${config}: Python hard and soft invalidations reach a TypeScript region`, () =>
        Effect.gen(function*() {
          const region = yield* regionWith(config, name)
          const key = keyIn(config, "py-inv")
          yield* region.set(key, "v1")
          assert.deepStrictEqual(yield* region.get(key), Option.some("v1"))
          yield* pause
          yield* promise(() => run({ cmd: "invalidate", ...base, hard: true }, side))
          assert.isTrue(Option.isNone(yield* region.get(key)))

          yield* region.set(key, "v2")
          yield* pause
          yield* promise(() => run({ cmd: "invalidate", ...base, hard: false }, side))
          let created = 0
          assert.strictEqual(yield* region.getOrCreate(key, Effect.sync(() => (created++, "v3"))), "v3")
          assert.strictEqual(created, 1)
          passed(side, "invalidation", config, "Python hard → TS miss; Python soft → TS regenerates")
        }).pipe(Effect.scoped, Effect.provide(stack(config, format))))
    }
  })
}
