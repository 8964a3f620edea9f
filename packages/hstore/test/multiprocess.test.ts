/**
 * The hash expiry policy under concurrent writers in several processes: four
 * child processes write 25 fields each into the same 100 buckets at once
 * (100 fibers per process). Half the buckets are fresh; the other half exist
 * already with a TTL of 30 s, as if created earlier. The script applies the
 * policy atomically with each HSET, so:
 * - on create: every fresh bucket ends with the policy TTL, every old one keeps
 *   its (lower) TTL — never extended by later writes;
 * - on every write: every bucket ends with a TTL near the policy's;
 * - never: fresh buckets have no TTL, old ones keep theirs.
 * Every bucket holds exactly all 4 × 25 fields (+1 for the old ones).
 */
import { describe, expect, inject, it } from "vitest"
import { execFile } from "node:child_process"
import { fileURLToPath } from "node:url"
import { promisify } from "node:util"
import { Redis } from "ioredis"

const run = promisify(execFile)
const url = inject("redisUrl")
const writer = fileURLToPath(new URL("./fixtures/writer.ts", import.meta.url))
const PROCESSES = 4
const FIELDS = 25
const POLICY_TTL = 120_000
const OLD_TTL = 30_000
/** Four node + tsx children take 8–15 s on an idle 2-core machine; a loaded one needs more (children stop at 60 s). */
const TIMEOUT = 90_000

const scenario = async (policy: "never" | "create" | "every") => {
  const redis = new Redis(url)
  try {
    const tag = `mp-${policy}-${process.pid}-${Date.now()}`
    const fresh = Array.from({ length: 50 }, (_, i) => `${tag}:fresh:${i}`)
    const old = Array.from({ length: 50 }, (_, i) => `${tag}:old:${i}`)
    for (const bucket of old) {
      await redis.hset(bucket, "seed", "0")
      await redis.pexpire(bucket, OLD_TTL)
    }
    const buckets = [...fresh, ...old].join(",")
    const outputs = await Promise.all(
      Array.from({ length: PROCESSES }, (_, p) =>
        run(
          process.execPath,
          ["--conditions=@dogpile-effect/source", "--import", "tsx", writer, url, policy, String(POLICY_TTL), buckets, String(FIELDS), `w${p}`],
          { timeout: 60_000 }
        ))
    )
    expect(outputs.map((o) => o.stdout.trim())).toEqual(Array.from({ length: PROCESSES }, () => `done ${100 * FIELDS}`))
    const freshTtl = await Promise.all(fresh.map((b) => redis.pttl(b)))
    const oldTtl = await Promise.all(old.map((b) => redis.pttl(b)))
    const freshLen = await Promise.all(fresh.map((b) => redis.hlen(b)))
    const oldLen = await Promise.all(old.map((b) => redis.hlen(b)))
    expect(freshLen).toEqual(fresh.map(() => PROCESSES * FIELDS))
    expect(oldLen).toEqual(old.map(() => PROCESSES * FIELDS + 1))
    return { freshTtl, oldTtl }
  } finally {
    redis.disconnect()
  }
}

describe("hash expiry policy with concurrent writers in 4 processes", () => {
  it("on create: fresh buckets get the TTL, existing ones are never extended", async () => {
    const { freshTtl, oldTtl } = await scenario("create")
    expect(freshTtl.filter((t) => !(t > OLD_TTL && t <= POLICY_TTL))).toEqual([])
    expect(oldTtl.filter((t) => !(t > 0 && t <= OLD_TTL))).toEqual([])
  }, TIMEOUT)

  it("on every write: every bucket's TTL is reset by the writes", async () => {
    const { freshTtl, oldTtl } = await scenario("every")
    expect([...freshTtl, ...oldTtl].filter((t) => !(t > OLD_TTL && t <= POLICY_TTL))).toEqual([])
  }, TIMEOUT)

  it("never: no TTL is added, existing TTLs stay", async () => {
    const { freshTtl, oldTtl } = await scenario("never")
    expect(freshTtl.filter((t) => t !== -1)).toEqual([])
    expect(oldTtl.filter((t) => !(t > 0 && t <= OLD_TTL))).toEqual([])
  }, TIMEOUT)
})
