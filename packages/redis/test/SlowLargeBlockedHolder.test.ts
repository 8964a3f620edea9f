/**
 * A lock holder whose event loop is blocked for longer than its lease
 * (fixtures/blocked-holder.ts: a child process whose creator busy-loops for at
 * least 2 s, lease 1 s, so it cannot renew).
 *
 * Sequence, each step awaited, no wall-clock assert:
 * 1. the holder takes the lock and starts its creator (prints "creating");
 * 2. the test waits until the holder's lock key is gone from Redis (its lease ran out);
 * 3. the test process (another Layer, same keys) calls `getOrCreate`: its
 *    creator runs (exactly once) under a new lock and, while holding it,
 *    unblocks the holder and waits for the holder's outcome;
 * 4. the holder's creator returns: per the documented policy (`onLost`,
 *    packages/redis/src/LostLock.ts) its value is stored and it learns the loss:
 *    `"fail"` → `LockLostError`; `"log"` → its value, plus a `LockLost` event;
 *    counted once in `dogpile_lock_lost_total` either way. Its release is
 *    token-checked, so the taker's lock survives it;
 * 5. the taker stores its value and finds its own lock intact (0 lost).
 */
import { assert, describe, it } from "@effect/vitest"
import { Codec, Region } from "@dogpile-effect/core"
import { RedisBackend, RedisClient, RedisLock } from "@dogpile-effect/redis"
import { Effect, Layer, Logger, Metric, Option } from "effect"
import { type ChildProcess, spawn } from "node:child_process"
import { mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { Redis } from "ioredis"
import { inject } from "vitest"
import type { HolderArgs, HolderResult } from "./fixtures/blocked-holder.ts"

const url = inject("redisUrl")
const repoRoot = fileURLToPath(new URL("../../../", import.meta.url))
const holderPath = fileURLToPath(new URL("./fixtures/blocked-holder.ts", import.meta.url))
const unique = `blocked-${process.pid}-${Date.now().toString(36)}`

interface Holder {
  readonly child: ChildProcess
  readonly line: (text: string) => Promise<void>
  readonly result: Promise<HolderResult>
}

const spawnHolder = (args: HolderArgs): Holder => {
  const env = { ...process.env }
  delete env["NODE_OPTIONS"]
  const child = spawn(process.execPath, ["--conditions=@dogpile-effect/source", "--import", "tsx", holderPath, JSON.stringify(args)], {
    cwd: repoRoot,
    env,
    stdio: ["pipe", "pipe", "pipe"]
  })
  let out = ""
  let err = ""
  const waiting: Array<{ text: string; resolve: () => void }> = []
  child.stdout?.on("data", (chunk: Buffer) => {
    out += chunk.toString()
    for (const w of waiting.filter((w) => out.includes(`${w.text}\n`))) w.resolve()
  })
  child.stderr?.on("data", (chunk: Buffer) => {
    err = (err + chunk.toString()).slice(-4_000)
  })
  const line = (text: string) =>
    new Promise<void>((resolve) => {
      if (out.includes(`${text}\n`)) resolve()
      else waiting.push({ text, resolve })
    })
  const result = new Promise<HolderResult>((resolve, reject) => {
    child.once("exit", (code) => {
      const json = out.split("\n").find((l) => l.startsWith("{"))
      if (json !== undefined) resolve(JSON.parse(json) as HolderResult)
      else reject(new Error(`holder exited with ${code} without a result: ${err}\n${out}`))
    })
  })
  return { child, line, result }
}

/** Polls (every 20 ms, up to 30 s) until no key matches `pattern`. */
const awaitGone = (raw: Redis, pattern: string) =>
  Effect.promise(async () => {
    for (let i = 0; i < 1_500; i++) {
      if ((await raw.keys(pattern)).length === 0) return true
      await new Promise((r) => setTimeout(r, 20))
    }
    return false
  })

describe("a lock holder whose event loop is blocked longer than its lease", () => {
  for (const onLost of ["fail", "log"] as const) {
    it.live(`onLost "${onLost}": one new creator run elsewhere after the lease, the holder learns it lost the lock`, () =>
      Effect.gen(function*() {
        const name = `${unique}-${onLost}`
        const prefix = `_lockblk${onLost}:`
        const dir = mkdtempSync(join(tmpdir(), "dogpile-blocked-"))
        const flag = join(dir, "go")
        yield* Effect.addFinalizer(() => Effect.sync(() => rmSync(dir, { recursive: true, force: true })))
        const raw = yield* Effect.acquireRelease(Effect.sync(() => new Redis(url)), (r) => Effect.sync(() => r.disconnect()))
        const holder = spawnHolder({ url, name, prefix, key: "k", leaseTtlMs: 1_000, onLost, blockMs: 2_000, flag })
        yield* Effect.addFinalizer(() => Effect.sync(() => holder.child.exitCode === null && holder.child.kill("SIGKILL")))

        // The taker: another Layer (as another process would have), same keys and lock prefix.
        const takerLock = `${name}-taker`
        const services = Layer.mergeAll(RedisBackend.layer(), RedisLock.layer({ name: takerLock, prefix, leaseTtl: "1 second", onLost }), Codec.layerJson)
          .pipe(Layer.provideMerge(RedisClient.layer({ url })))
        const context = yield* Layer.build(services)
        const region = yield* Effect.provide(Region.make<string>({ name, expiration: "1 minute", lockTimeout: "20 seconds" }), context)

        yield* Effect.promise(() => holder.line("ready"))
        holder.child.stdin?.write("go\n")
        yield* Effect.promise(() => holder.line("creating"))
        assert.strictEqual((yield* Effect.promise(() => raw.keys(`${prefix}*`))).length, 1, "the holder holds the lock")
        // 2. The lease runs out: the blocked holder cannot renew it.
        assert.isTrue(yield* awaitGone(raw, `${prefix}*`), "the blocked holder's lease expired")

        // 3. The taker creates under a new lock; while holding it, it lets the holder finish.
        let takerRuns = 0
        let holderResult: HolderResult | undefined
        let takerLockDuringHolderRelease = -1
        const taken = yield* region.getOrCreate("k", Effect.promise(async () => {
          takerRuns++
          writeFileSync(flag, "")
          holderResult = await holder.result
          takerLockDuringHolderRelease = (await raw.keys(`${prefix}*`)).length
          return "taker"
        }))

        // 4. The holder learned it lost the lock, per the policy; it ran its creator once.
        const result = holderResult as HolderResult | undefined
        assert.isDefined(result)
        assert.strictEqual(result?.creatorRuns, 1)
        assert.isAtLeast(result?.blockedMs ?? 0, 2_000)
        assert.strictEqual(result?.outcome, onLost === "fail" ? "LockLostError" : "value:holder")
        assert.strictEqual(result?.lostMetric, 1)
        assert.strictEqual(result?.lostEvents, 1)
        // Its token-checked release left the taker's lock in place.
        assert.strictEqual(takerLockDuringHolderRelease, 1)

        // 5. Exactly one new creator run, which kept its lock and stored last.
        assert.strictEqual(takerRuns, 1)
        assert.strictEqual(taken, "taker")
        assert.strictEqual((yield* Metric.value(RedisLock.lostLocks(takerLock))).count, 0)
        assert.deepStrictEqual(yield* region.get("k"), Option.some("taker"))
        assert.strictEqual((yield* Effect.promise(() => raw.keys(`${prefix}*`))).length, 0)
      }).pipe(Effect.scoped, Effect.provide(Logger.layer([]))), 90_000)
  }
})
