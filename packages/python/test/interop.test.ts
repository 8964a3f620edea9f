/**
 * Interop with the real Python dogpile.cache (Debian's python3-dogpile.cache)
 * through fixtures/driver.py: values both ways for every format and payload
 * kind, locks both ways, invalidation both ways. Set DOGPILE_INTEROP_MATRIX
 * to a file path to have the matrix written there (docs/python-interop.md
 * holds a copy).
 */
import { assert, describe, it } from "@effect/vitest"
import { PythonInterop, PythonJson } from "@dogpile-effect/codecs"
import { CacheKey, Invalidation, Lock, Region } from "@dogpile-effect/core"
import { Presets } from "@dogpile-effect/python"
import { RedisClient } from "@dogpile-effect/redis"
import { Deferred, Effect, Fiber, Layer, Option } from "effect"
import { writeFileSync } from "node:fs"
import { afterAll, inject } from "vitest"
import { Driver, dogpileVersion, missingMessage, mustRun, run } from "./python.ts"

const url = inject("redisUrl")
const unique = `py:${process.pid}:${Date.now().toString(36)}`
let n = 0
const fresh = (name: string) => `${unique}:${name}:${n++}:`

type PresetName = "dogpile" | "advanced" | "hstore"
type Format = PythonInterop.Format
const presetNames: ReadonlyArray<PresetName> = ["dogpile", "advanced", "hstore"]
const formats: ReadonlyArray<Format> = ["json", "msgpack"]

const presetOf = (preset: PresetName, format: Format) => {
  switch (preset) {
    case "dogpile":
      return Presets.dogpileRedis({ format })
    case "advanced":
      return Presets.redisAdvanced({ format })
    case "hstore":
      return Presets.redisAdvancedHstore({ format })
  }
}

/** The preset over its own client, with shared invalidation read on every check. */
const stack = (preset: PresetName, format: Format) =>
  Layer.mergeAll(
    Layer.provideMerge(presetOf(preset, format).layer, RedisClient.layer({ url })),
    Layer.succeed(Invalidation.CurrentInvalidation, Invalidation.shared({ refresh: 0 }))
  )

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

const keyFor = (preset: PresetName, prefix: string, kind: string): CacheKey.CacheKey =>
  preset === "hstore" ? CacheKey.hash(prefix, kind) : prefix + kind
const pyKey = (key: CacheKey.CacheKey) => (typeof key === "string" ? key : [key.hash, key.field])

// ---- the matrix -------------------------------------------------------------

const matrix = new Map<string, { py2ts?: string; ts2py?: string; sameBytes?: string }>()
const listLayouts: Array<string> = []
const cell = (preset: string, format: string, kind: string) => {
  const id = `${preset}|${format}|${kind}`
  let row = matrix.get(id)
  if (row === undefined) matrix.set(id, row = {})
  return row
}

const behaviours: Array<string> = []
const passed = (area: string, preset: string, what: string) => behaviours.push(`| ${area} | ${preset} | ${what} | yes |`)

afterAll(() => {
  const target = process.env["DOGPILE_INTEROP_MATRIX"]
  if (target === undefined || matrix.size === 0) return
  const mark = (s: string | undefined) => (s === "yes" ? "✓" : s === undefined ? "–" : "✗")
  const lines = [
    `Run against dogpile.cache ${dogpileVersion ?? "?"} (/usr/bin/python3), ${new Date().toISOString().slice(0, 10)}.`,
    "✓: the value read back equal, type included (Python: `type(a) is type(b)`, recursively; TypeScript:",
    "`deepStrictEqual`); for bytes: TypeScript's `envelope.encode` equals `region._serialized_payload` for the same `ct`.",
    "",
    "| format | payload | dogpile Py→TS | dogpile TS→Py | advanced Py→TS | advanced TS→Py | hstore Py→TS | hstore TS→Py | TS bytes = Python bytes |",
    "|---|---|---|---|---|---|---|---|---|"
  ]
  const rows = new Map<string, Array<string>>()
  for (const [id, row] of matrix) {
    const [preset, format, kind] = id.split("|") as [string, string, string]
    const cells = rows.get(`${format}|${kind}`) ?? [format, kind, "", "", "", "", "", "", mark(row.sameBytes)]
    const at = 2 + 2 * presetNames.indexOf(preset as PresetName)
    cells[at] = mark(row.py2ts)
    cells[at + 1] = mark(row.ts2py)
    rows.set(`${format}|${kind}`, cells)
  }
  for (const cells of rows.values()) lines.push(`| ${cells.join(" | ")} |`)
  lines.push(
    "",
    "The plugin's `loads`/`dumps` layouts (every payload kind above; Python side: its serializer applied to the",
    "`CachedValue` tuple, as the plugin's `dumps` receives it):",
    "",
    "| format | layout | TS bytes = Python bytes, and TS reads Python's |",
    "|---|---|---|",
    ...listLayouts,
    "",
    "Locks and invalidation (both sides on their defaults):",
    "",
    "| area | preset | scenario | passed |",
    "|---|---|---|---|",
    ...behaviours
  )
  writeFileSync(target, `${lines.join("\n")}\n`)
})

// ---- helpers ----------------------------------------------------------------

const base = (preset: PresetName, format: Format) => ({ preset, format, url })

/** A region under the preset whose Lock reports (through `waiting`) when it waits for another holder. */
const regionWith = (name: string, waiting?: Deferred.Deferred<void>) =>
  Effect.gen(function*() {
    const lock = yield* Lock
    const watched = Lock.of({
      ...lock,
      awaitRelease: (key, timeout) =>
        Effect.andThen(waiting === undefined ? Effect.void : Deferred.succeed(waiting, undefined), lock.awaitRelease(key, timeout))
    })
    // Every preset gives the same region options (keys verbatim, no store TTL).
    const options = { ...presetOf("dogpile", "json").region, name, expiration: "1 minute" as const }
    return yield* Region.make<unknown>(options).pipe(Effect.provideService(Lock, watched))
  })

const promise = <A>(f: () => Promise<A>) => Effect.promise(f)

/** Sets a plain Redis key (the go signal of a waiting Python creator). */
const signal = (key: string) =>
  Effect.gen(function*() {
    const redis = yield* RedisClient.RedisClient
    yield* redis.use("test", (c) => c.set(key, "1"))
  })

const python = dogpileVersion !== undefined
if (!python) {
  if (mustRun) {
    describe("Python interop", () => {
      it("needs /usr/bin/python3 with dogpile.cache, redis and msgpack (running as root: .ci/run installs them)", () => {
        assert.fail(missingMessage)
      })
    })
  } else {
    process.stderr.write(`[python] skipping the Python interop tests: ${missingMessage}\n`)
  }
}
const describePython = python ? describe : describe.skip

// ---- values -----------------------------------------------------------------

describePython(`values with dogpile.cache ${dogpileVersion}`, () => {
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

  for (const format of formats) {
    it.live(`${format}: TypeScript writes exactly the bytes dogpile.cache writes`, () =>
      Effect.gen(function*() {
        const ct = 1796149243.437805
        const python = yield* promise(() => run({ cmd: "serialize", format, ct }))
        const envelope = PythonInterop.envelope({ format, layout: "dogpile" })
        const codec = PythonInterop.codec(format)
        for (const [kind, value] of Object.entries(kinds(format))) {
          const bytes = yield* envelope.encode(value, ct * 1000, codec)
          const same = Buffer.from(bytes).toString("hex") === python[kind]
          for (const preset of presetNames) cell(preset, format, kind).sameBytes = same ? "yes" : "NO"
          assert.isTrue(same, `${format} ${kind}: ${Buffer.from(bytes).toString("hex")} vs ${String(python[kind])}`)
        }
      }))

    for (const preset of presetNames) {
      it.live(`${preset} ${format}: Python writes, TypeScript reads every payload kind`, () =>
        Effect.gen(function*() {
          const prefix = fresh("py2ts")
          yield* promise(() => run({ cmd: "write-all", ...base(preset, format), prefix }))
          const region = yield* regionWith("interop-values")
          const failures: Array<string> = []
          for (const [kind, expected] of Object.entries(kinds(format))) {
            const got = yield* region.get(keyFor(preset, prefix, kind))
            let ok = false
            try {
              assert.deepStrictEqual(Option.getOrUndefined(got), expected)
              ok = Option.isSome(got)
            } catch {
              ok = false
            }
            cell(preset, format, kind).py2ts = ok ? "yes" : "NO"
            if (!ok) failures.push(`${kind}: ${String(Option.getOrUndefined(got))}`)
          }
          assert.deepStrictEqual(failures, [])
        }).pipe(Effect.scoped, Effect.provide(stack(preset, format))))

      it.live(`${preset} ${format}: TypeScript writes, Python reads every payload kind (and never raises)`, () =>
        Effect.gen(function*() {
          const prefix = fresh("ts2py")
          const region = yield* regionWith("interop-values")
          for (const [kind, value] of Object.entries(kinds(format))) yield* region.set(keyFor(preset, prefix, kind), value)
          const reply = yield* promise(() => run({ cmd: "read-all", ...base(preset, format), prefix }))
          const read = reply["read"] as Record<string, { ok: boolean; got: string }>
          const failures: Array<string> = []
          for (const kind of Object.keys(kinds(format))) {
            const result = read[kind]
            cell(preset, format, kind).ts2py = result?.ok === true ? "yes" : "NO"
            if (result?.ok !== true) failures.push(`${kind}: ${result?.got}`)
          }
          assert.deepStrictEqual(failures, [])
        }).pipe(Effect.scoped, Effect.provide(stack(preset, format))))
    }
  }

  for (const format of formats) {
    it.live(`${format}: the plugin's full and compact layouts are the bytes Python's serializer gives`, () =>
      Effect.gen(function*() {
        const ct = 1796149243.437805
        const python = yield* promise(() => run({ cmd: "serialize-list", format, ct }))
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
          listLayouts.push(`| ${format} | ${layout} | ${failures.length === 0 ? "yes" : "NO"} |`)
        }
        assert.deepStrictEqual(failures, [])
      }))
  }

  it.live("hstore: a value longer than hash-max-listpack-value stays in its field, where Python reads it", () =>
    Effect.gen(function*() {
      const region = yield* regionWith("interop-values")
      const key = CacheKey.hash(fresh("large"), "f")
      const large = "x".repeat(5000)
      yield* region.set(key, large)
      const read = yield* promise(() => run({ cmd: "get", ...base("hstore", "json"), key: pyKey(key) }))
      assert.deepStrictEqual(read, { found: true, value: large })
    }).pipe(Effect.scoped, Effect.provide(stack("hstore", "json"))))

  for (const preset of presetNames) {
    it.live(`${preset}: a value TypeScript creates with getOrCreate is stored in the same layout, for Python`, () =>
      Effect.gen(function*() {
        const region = yield* regionWith("interop-values")
        const key = keyFor(preset, fresh("created"), "k")
        // A creator that takes a while, as real ones do (and as entry metadata would record).
        yield* region.getOrCreate(key, Effect.as(Effect.sleep("20 millis"), { created: "ts" }))
        const read = yield* promise(() => run({ cmd: "get", ...base(preset, "json"), key: pyKey(key) }))
        assert.deepStrictEqual(read, { found: true, value: { created: "ts" } })
      }).pipe(Effect.scoped, Effect.provide(stack(preset, "json"))))
  }

  it.live("a value Python pickled (a region without serializer) is a miss, not an error", () =>
    Effect.gen(function*() {
      const key = `${fresh("pickled")}k`
      // The stock region: dogpile.cache.redis's default serializer is pickle.
      yield* promise(() => run({ cmd: "set", ...base("dogpile", "json"), pickle: true, key, value: "x" }))
      const region = yield* regionWith("interop-values")
      assert.isTrue(Option.isNone(yield* region.get(key)))
    }).pipe(Effect.scoped, Effect.provide(stack("dogpile", "msgpack"))))
})

// ---- locks ------------------------------------------------------------------

describePython("locks exclude both ways, both sides on their defaults", () => {
  for (const preset of presetNames) {
    const format: Format = preset === "advanced" ? "msgpack" : "json"
    const keyOf = (name: string) => (preset === "hstore" ? CacheKey.hash(fresh(name), "f") : `${fresh(name)}k`)

    it.live(`${preset}: Python creates a missing value → TypeScript waits for it and does not create`, () =>
      Effect.gen(function*() {
        const key = keyOf("py-holds")
        const go = `${unique}:go:${n++}`
        const py = new Driver({ cmd: "create", ...base(preset, format), key: pyKey(key), value: "from python", goKey: go })
        yield* promise(() => py.event("creating"))
        const waiting = yield* Deferred.make<void>()
        const region = yield* regionWith("interop-locks", waiting)
        let created = 0
        const fiber = yield* Effect.forkChild(region.getOrCreate(key, Effect.sync(() => (created++, "from ts"))))
        yield* Deferred.await(waiting) // TypeScript found the lock held by Python
        yield* signal(go)
        assert.strictEqual(yield* Fiber.join(fiber), "from python")
        assert.strictEqual(created, 0)
        assert.deepStrictEqual(yield* promise(() => py.result), { value: "from python", created: true })
        passed("lock", preset, "Python creates a missing value; TS waits, reads it, does not create")
      }).pipe(Effect.scoped, Effect.provide(stack(preset, format))))

    it.live(`${preset}: Python regenerates an expired value → TypeScript serves the stale one at once`, () =>
      Effect.gen(function*() {
        const key = keyOf("py-regen")
        const go = `${unique}:go:${n++}`
        yield* promise(() => run({ cmd: "set-old", ...base(preset, format), key: pyKey(key), value: "old", age: 3600 }))
        const py = new Driver({
          cmd: "create",
          ...base(preset, format),
          key: pyKey(key),
          value: "new",
          goKey: go,
          expiration: 60
        })
        yield* promise(() => py.event("creating"))
        const region = yield* regionWith("interop-locks")
        let created = 0
        assert.strictEqual(yield* region.getOrCreate(key, Effect.sync(() => (created++, "from ts"))), "old")
        assert.strictEqual(created, 0)
        yield* signal(go)
        assert.deepStrictEqual(yield* promise(() => py.result), { value: "new", created: true })
        passed("lock", preset, "Python regenerates an expired value; TS serves the stale one at once")
      }).pipe(Effect.scoped, Effect.provide(stack(preset, format))))

    it.live(`${preset}: TypeScript creates a missing value → Python waits for it and does not create`, () =>
      Effect.gen(function*() {
        const key = keyOf("ts-holds")
        const started = yield* Deferred.make<void>()
        const release = yield* Deferred.make<void>()
        const region = yield* regionWith("interop-locks")
        const creator = Effect.andThen(Deferred.succeed(started, undefined), Effect.as(Deferred.await(release), "from ts"))
        const fiber = yield* Effect.forkChild(region.getOrCreate(key, creator))
        yield* Deferred.await(started)
        const py = new Driver({ cmd: "create", ...base(preset, format), key: pyKey(key), value: "from python" })
        yield* promise(() => py.event("lock-busy")) // Python found the lock held by TypeScript
        yield* Deferred.succeed(release, undefined)
        assert.strictEqual(yield* Fiber.join(fiber), "from ts")
        assert.deepStrictEqual(yield* promise(() => py.result), { value: "from ts", created: false })
        passed("lock", preset, "TS creates a missing value; Python waits, reads it, does not create")
      }).pipe(Effect.scoped, Effect.provide(stack(preset, format))))

    it.live(`${preset}: TypeScript regenerates an expired value → Python serves the stale one at once`, () =>
      Effect.gen(function*() {
        const key = keyOf("ts-regen")
        yield* promise(() => run({ cmd: "set-old", ...base(preset, format), key: pyKey(key), value: "old", age: 3600 }))
        const started = yield* Deferred.make<void>()
        const release = yield* Deferred.make<void>()
        const region = yield* regionWith("interop-locks")
        const creator = Effect.andThen(Deferred.succeed(started, undefined), Effect.as(Deferred.await(release), "new"))
        const fiber = yield* Effect.forkChild(region.getOrCreate(key, creator))
        yield* Deferred.await(started)
        const py = new Driver({ cmd: "create", ...base(preset, format), key: pyKey(key), value: "py", expiration: 60 })
        const result = yield* promise(() => py.result)
        assert.isTrue(py.saw("lock-busy"))
        assert.deepStrictEqual(result, { value: "old", created: false })
        yield* Deferred.succeed(release, undefined)
        assert.strictEqual(yield* Fiber.join(fiber), "new")
        passed("lock", preset, "TS regenerates an expired value; Python serves the stale one at once")
      }).pipe(Effect.scoped, Effect.provide(stack(preset, format))))
  }
})

// ---- invalidation -----------------------------------------------------------

describePython("invalidation both ways (python/dogpile_effect_invalidation.py)", () => {
  for (const preset of ["dogpile", "hstore"] as const) {
    const format: Format = "json"
    const keyOf = (name: string) => (preset === "hstore" ? CacheKey.hash(fresh(name), "f") : `${fresh(name)}k`)
    const shared = (name: string) => ({ ...base(preset, format), shared: name })
    const pause = Effect.promise(() => new Promise((resolve) => setTimeout(resolve, 5)))

    it.live(`${preset}: TypeScript hard and soft invalidations reach a Python region`, () =>
      Effect.gen(function*() {
        const name = `inv-ts-${n++}`
        const region = yield* regionWith(name)
        const key = keyOf("ts-inv")
        yield* promise(() => run({ cmd: "set", ...shared(name), key: pyKey(key), value: "v1" }))
        const before = yield* promise(() => run({ cmd: "get", ...shared(name), key: pyKey(key) }))
        assert.deepStrictEqual(before, { found: true, value: "v1" })
        yield* pause
        yield* region.invalidate({ hard: true })
        const after = yield* promise(() => run({ cmd: "get", ...shared(name), key: pyKey(key) }))
        assert.deepStrictEqual(after, { found: false, value: null })

        yield* promise(() => run({ cmd: "set", ...shared(name), key: pyKey(key), value: "v2" }))
        yield* pause
        yield* region.invalidate({ hard: false })
        const soft = { cmd: "create", ...shared(name), key: pyKey(key), value: "v3", expiration: 600 }
        assert.deepStrictEqual(yield* promise(() => run(soft)), { value: "v3", created: true })
        passed("invalidation", preset, "TS hard → Python miss; TS soft → Python regenerates")
      }).pipe(Effect.scoped, Effect.provide(stack(preset, format))))

    it.live(`${preset}: Python hard and soft invalidations reach a TypeScript region`, () =>
      Effect.gen(function*() {
        const name = `inv-py-${n++}`
        const region = yield* regionWith(name)
        const key = keyOf("py-inv")
        yield* region.set(key, "v1")
        assert.deepStrictEqual(yield* region.get(key), Option.some("v1"))
        yield* pause
        yield* promise(() => run({ cmd: "invalidate", ...shared(name), hard: true }))
        assert.isTrue(Option.isNone(yield* region.get(key)))

        yield* region.set(key, "v2")
        yield* pause
        yield* promise(() => run({ cmd: "invalidate", ...shared(name), hard: false }))
        let created = 0
        assert.strictEqual(yield* region.getOrCreate(key, Effect.sync(() => (created++, "v3"))), "v3")
        assert.strictEqual(created, 1)
        passed("invalidation", preset, "Python hard → TS miss; Python soft → TS regenerates")
      }).pipe(Effect.scoped, Effect.provide(stack(preset, format))))
  }
})
