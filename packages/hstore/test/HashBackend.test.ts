/**
 * The seed plugin's behaviours on a real, dedicated redis-server (so that
 * INFO commandstats counts only this file's commands): mixed plain and hash
 * keys, many-key forms, overflow of large values, the hash expiry policies,
 * per-entry expiry, server feature detection and the lock on hash keys.
 */
import { assert, describe, it } from "@effect/vitest"
import { Backend, CacheKey, Codec, Envelope, Lock } from "@dogpile-effect/core"
import { HashBackend, HashExpiry, HashMetrics } from "@dogpile-effect/hstore"
import { KeySlot, RedisClient, RedisLock } from "@dogpile-effect/redis"
import { Duration, Effect, Exit, Layer, Metric, Option, Scope } from "effect"
import { TestClock } from "effect/testing"
import { perFile } from "../../../test-support/perFile.ts"
import { startRedisServer } from "../../../test-support/redis-server.ts"
import { commandCalls } from "./serverInfo.ts"
import { show, text } from "./bytes.ts"

const server = perFile(() => startRedisServer())

// beforeAll has started the server before any test builds a Layer.
const client = () => RedisClient.layer({ url: server().url })

const withBackend = <A, E>(
  body: Effect.Effect<A, E, Backend | HashBackend.HashStore | RedisClient.RedisClient | Lock>,
  options: HashBackend.HashBackendOptions = {}
) =>
  body.pipe(
    Effect.provide(
      Layer.mergeAll(HashBackend.layer(options), RedisLock.layer()).pipe(Layer.provideMerge(client()))
    ),
    Effect.scoped
  )

let counter = 0
const unique = (label: string) => `${label}-${process.pid}-${counter++}`

const raw = <A>(operation: string, f: (c: RedisClient.RedisConnection) => Promise<A>) =>
  Effect.flatMap(RedisClient.RedisClient, (redis) => redis.use(operation, f))

const delta = (before: Map<string, number>, after: Map<string, number>, command: string) =>
  (after.get(command) ?? 0) - (before.get(command) ?? 0)

/**
 * The server's name and release from `INFO server`, and whether that release
 * has per-field hash TTL (`HPEXPIRE`): Redis ≥ 7.4, Valkey ≥ 9.0. Valkey
 * reports `valkey_version` beside a Redis-compatible `redis_version` (7.2.4).
 */
const serverRelease = (info: string) => {
  const field = (name: string) => new RegExp(`^${name}:([0-9.]+)`, "m").exec(info)?.[1]
  const valkey = field("valkey_version")
  const version = valkey ?? field("redis_version") ?? "0.0.0"
  const [major = 0, minor = 0] = version.split(".").map(Number)
  const fieldTtl = valkey === undefined ? major > 7 || (major === 7 && minor >= 4) : major >= 9
  return { name: valkey === undefined ? "Redis" : "Valkey", version, fieldTtl }
}

const count = (metric: Metric.Metric<number, Metric.CounterState<number>>) =>
  Effect.map(Metric.value(metric), (state) => state.count)

describe("HashBackend on Redis", () => {
  it.live("get/set/delete route hash keys to hash fields and plain keys to strings", () =>
    withBackend(Effect.gen(function*() {
      const backend = yield* Backend
      assert.isTrue(backend.capabilities.hashKeys)
      const bucket = unique("b")
      const plain = unique("p")
      yield* backend.set(CacheKey.hash(bucket, "1"), text("one"))
      yield* backend.set(plain, text("plain"))
      assert.strictEqual(yield* raw("type", (c) => c.type(bucket)), "hash")
      assert.strictEqual(yield* raw("type", (c) => c.type(plain)), "string")
      assert.strictEqual(yield* raw("hget", (c) => c.hget(bucket, "1")), "one")
      assert.deepStrictEqual(show([yield* backend.get(CacheKey.hash(bucket, "1"))]), ["one"])
      assert.deepStrictEqual(show([yield* backend.get(CacheKey.hash(bucket, "2"))]), [null])
      assert.deepStrictEqual(show([yield* backend.get(plain)]), ["plain"])
      yield* backend.delete(CacheKey.hash(bucket, "1"))
      yield* backend.delete(plain)
      assert.deepStrictEqual(show([yield* backend.get(CacheKey.hash(bucket, "1")), yield* backend.get(plain)]), [null, null])
      assert.strictEqual(yield* raw("exists", (c) => c.exists(bucket, plain)), 0)
    })))

  it.live("many-key forms on mixed plain and hash keys keep input order and duplicates, one HMGET per bucket and one MGET", () =>
    withBackend(Effect.gen(function*() {
      const backend = yield* Backend
      const [b1, b2, b3] = [unique("b1"), unique("b2"), unique("b3")]
      const [p1, p2, p3] = [unique("p1"), unique("p2"), unique("p3")]
      yield* backend.setMany([
        { key: p1, value: text("P1") },
        { key: CacheKey.hash(b1, "a"), value: text("B1a") },
        { key: CacheKey.hash(b2, "a"), value: text("B2a") },
        { key: p2, value: text("P2") },
        { key: CacheKey.hash(b1, "b"), value: text("B1b") },
        { key: CacheKey.hash(b1, "a"), value: text("B1a-last") }
      ])
      const keys: ReadonlyArray<CacheKey.CacheKey> = [
        CacheKey.hash(b1, "a"),
        p1,
        CacheKey.hash(b2, "a"),
        p3,
        CacheKey.hash(b1, "b"),
        p1,
        CacheKey.hash(b1, "a"),
        CacheKey.hash(b1, "zz"),
        CacheKey.hash(b3, "a"),
        p2
      ]
      const before = yield* commandCalls
      const values = yield* backend.getMany(keys)
      const after = yield* commandCalls
      assert.deepStrictEqual(show(values), ["B1a-last", "P1", "B2a", null, "B1b", "P1", "B1a-last", null, null, "P2"])
      assert.strictEqual(delta(before, after, "hmget"), 3, "one HMGET per bucket (b1, b2, b3)")
      assert.strictEqual(delta(before, after, "mget"), 1, "one MGET for all plain keys")
      assert.strictEqual(delta(before, after, "get") + delta(before, after, "hget"), 0)

      yield* backend.deleteMany([p1, CacheKey.hash(b1, "a"), CacheKey.hash(b1, "a"), CacheKey.hash(b2, "a")])
      assert.deepStrictEqual(show(yield* backend.getMany(keys)), [null, null, null, null, "B1b", null, null, null, null, "P2"])
      assert.strictEqual(yield* raw("exists", (c) => c.exists(b2)), 0, "an emptied bucket is gone")
    })))

  it.live("setMany writes all buckets and strings in one round trip: one script call per bucket", () =>
    withBackend(Effect.gen(function*() {
      const backend = yield* Backend
      const buckets = Array.from({ length: 5 }, () => unique("sb"))
      const entries = buckets.flatMap((bucket) =>
        Array.from({ length: 20 }, (_, i) => ({ key: CacheKey.hash(bucket, String(i)), value: text(`${bucket}/${i}`) }))
      )
      const plain = Array.from({ length: 10 }, (_, i) => ({ key: unique(`sp${i}`), value: text(`p${i}`) }))
      const before = yield* commandCalls
      yield* backend.setMany([...entries, ...plain])
      const after = yield* commandCalls
      assert.strictEqual(delta(before, after, "evalsha") + delta(before, after, "eval"), 5)
      assert.strictEqual(delta(before, after, "set"), 10)
      for (const bucket of buckets) assert.strictEqual(yield* raw("hlen", (c) => c.hlen(bucket)), 20)
      const read = yield* backend.getMany([...entries, ...plain].map((e) => e.key))
      assert.deepStrictEqual(show(read), [...entries, ...plain].map((e) => new TextDecoder().decode(e.value)))
    })))

  it.live("plain keys honour the ttl hint (PX)", () =>
    withBackend(Effect.gen(function*() {
      const backend = yield* Backend
      const key = unique("ttl")
      yield* backend.set(key, text("v"), Duration.seconds(30))
      const pttl = yield* raw("pttl", (c) => c.pttl(key))
      assert.isTrue(pttl > 29_000 && pttl <= 30_000, `pttl ${pttl}`)
    })))
})

describe("overflow of large values", () => {
  it.live("a value above hash-max-listpack-value goes to an overflow key; the bucket stays a listpack", () =>
    withBackend(Effect.gen(function*() {
      const backend = yield* Backend
      const store = yield* HashBackend.HashStore
      assert.strictEqual(store.overflowAbove, 64, "read from the server's CONFIG")
      const bucket = unique("ov")
      const big = "x".repeat(65)
      const before = yield* count(HashMetrics.overflowWrites)
      yield* backend.setMany([
        { key: CacheKey.hash(bucket, "small"), value: text("s") },
        { key: CacheKey.hash(bucket, "big"), value: text(big) },
        { key: CacheKey.hash(bucket, "edge"), value: text("y".repeat(64)) }
      ])
      assert.strictEqual((yield* count(HashMetrics.overflowWrites)) - before, 1)
      assert.strictEqual(yield* raw("encoding", (c) => c.object("ENCODING", bucket)), "listpack")
      assert.strictEqual(yield* raw("get", (c) => c.get(HashBackend.overflowKey(bucket, "big"))), big)
      assert.deepStrictEqual(
        show(yield* backend.getMany([CacheKey.hash(bucket, "big"), CacheKey.hash(bucket, "small"), CacheKey.hash(bucket, "big")])),
        [big, "s", big]
      )
      assert.deepStrictEqual(show([yield* backend.get(CacheKey.hash(bucket, "edge"))]), ["y".repeat(64)])

      // Shrinking the value puts it back inline and removes the overflow key.
      yield* backend.set(CacheKey.hash(bucket, "big"), text("now small"))
      assert.strictEqual(yield* raw("exists", (c) => c.exists(HashBackend.overflowKey(bucket, "big"))), 0)
      assert.deepStrictEqual(show([yield* backend.get(CacheKey.hash(bucket, "big"))]), ["now small"])

      // Deleting an overflowed entry removes its overflow key too.
      yield* backend.set(CacheKey.hash(bucket, "big"), text(big))
      yield* backend.delete(CacheKey.hash(bucket, "big"))
      assert.strictEqual(yield* raw("exists", (c) => c.exists(HashBackend.overflowKey(bucket, "big"))), 0)
      assert.deepStrictEqual(show([yield* backend.get(CacheKey.hash(bucket, "big"))]), [null])
      assert.strictEqual(yield* raw("encoding", (c) => c.object("ENCODING", bucket)), "listpack")
    })))

  it.live("a real value equal to the marker round-trips (it is stored as overflow)", () =>
    withBackend(Effect.gen(function*() {
      const backend = yield* Backend
      const key = CacheKey.hash(unique("mk"), "f")
      yield* backend.set(key, text(HashBackend.OVERFLOW_MARKER))
      assert.deepStrictEqual(show([yield* backend.get(key)]), [HashBackend.OVERFLOW_MARKER])
    })))

  it.live("without overflow one large value converts the whole bucket to a hashtable", () =>
    withBackend(Effect.gen(function*() {
      const backend = yield* Backend
      const bucket = unique("noov")
      yield* backend.set(CacheKey.hash(bucket, "small"), text("s"))
      yield* backend.set(CacheKey.hash(bucket, "big"), text("x".repeat(65)))
      assert.strictEqual(yield* raw("encoding", (c) => c.object("ENCODING", bucket)), "hashtable")
    }), { overflowAbove: false }))
})

describe("hash expiry policy", () => {
  /** Writes once to a fresh bucket, then lowers its TTL to 5 s (as if time had passed) and writes again. */
  const scenario = Effect.gen(function*() {
    const backend = yield* Backend
    const bucket = unique("exp")
    yield* backend.set(CacheKey.hash(bucket, "1"), text("a"))
    const first = yield* raw("pttl", (c) => c.pttl(bucket))
    if (first > 0) yield* raw("pexpire", (c) => c.pexpire(bucket, 5_000))
    yield* backend.set(CacheKey.hash(bucket, "2"), text("b"))
    const second = yield* raw("pttl", (c) => c.pttl(bucket))
    yield* raw("persist", (c) => c.persist(bucket))
    yield* backend.set(CacheKey.hash(bucket, "3"), text("c"))
    const afterPersist = yield* raw("pttl", (c) => c.pttl(bucket))
    return { first, second, afterPersist }
  })

  it.live("never: buckets get no TTL", () =>
    withBackend(Effect.gen(function*() {
      const { first, second, afterPersist } = yield* scenario
      assert.deepStrictEqual([first, second, afterPersist], [-1, -1, -1])
    }), { hashExpiry: HashExpiry.never }))

  it.live("on create: the TTL is set by the creating write and never extended", () =>
    withBackend(Effect.gen(function*() {
      const { first, second, afterPersist } = yield* scenario
      assert.isTrue(first > 59_000 && first <= 60_000, `first ${first}`)
      assert.isTrue(second > 0 && second <= 5_000, `not extended: ${second}`)
      assert.isTrue(afterPersist > 59_000, `a bucket found without TTL gets one (EXPIRE NX): ${afterPersist}`)
    }), { hashExpiry: HashExpiry.onCreate("1 minute") }))

  it.live("on every write: each write resets the TTL", () =>
    withBackend(Effect.gen(function*() {
      const { first, second, afterPersist } = yield* scenario
      assert.isTrue(first > 59_000 && first <= 60_000, `first ${first}`)
      assert.isTrue(second > 59_000, `reset: ${second}`)
      assert.isTrue(afterPersist > 59_000, `${afterPersist}`)
    }), { hashExpiry: HashExpiry.onEveryWrite("1 minute") }))

  it.live("overflow keys get the policy's TTL", () =>
    withBackend(Effect.gen(function*() {
      const backend = yield* Backend
      const bucket = unique("ovexp")
      yield* backend.set(CacheKey.hash(bucket, "big"), text("z".repeat(100)))
      const pttl = yield* raw("pttl", (c) => c.pttl(HashBackend.overflowKey(bucket, "big")))
      assert.isTrue(pttl > 59_000 && pttl <= 60_000, `${pttl}`)
    }), { hashExpiry: HashExpiry.onCreate("1 minute") }))
})

describe("per-entry expiry inside a bucket", () => {
  const BASE = 1_700_000_000_000
  const compact = Envelope.compact()
  const stored = (value: unknown, createdAt: number) => compact.encode(value, createdAt, Codec.json)

  it.effect("fields past maxAge read as misses, are queued, and sweepPending removes them", () =>
    withBackend(Effect.gen(function*() {
      yield* TestClock.setTime(BASE)
      const backend = yield* Backend
      const store = yield* HashBackend.HashStore
      const bucket = unique("pe")
      yield* backend.setMany([
        { key: CacheKey.hash(bucket, "old"), value: yield* stored(1, BASE - 20_000) },
        { key: CacheKey.hash(bucket, "edge"), value: yield* stored(2, BASE - 10_000) },
        { key: CacheKey.hash(bucket, "new"), value: yield* stored(3, BASE) },
        { key: CacheKey.hash(bucket, "foreign"), value: text("not an envelope") }
      ])
      const readsBefore = yield* count(HashMetrics.expiredReads)
      const read = yield* backend.getMany([
        CacheKey.hash(bucket, "old"),
        CacheKey.hash(bucket, "edge"),
        CacheKey.hash(bucket, "new"),
        CacheKey.hash(bucket, "foreign")
      ])
      assert.deepStrictEqual(read.map(Option.isSome), [false, true, true, true], "strictly older than maxAge expires")
      assert.strictEqual((yield* count(HashMetrics.expiredReads)) - readsBefore, 1)
      assert.strictEqual(yield* raw("hlen", (c) => c.hlen(bucket)), 4, "nothing removed while reading")
      assert.strictEqual(yield* store.sweepPending, 1)
      assert.deepStrictEqual(yield* raw("hkeys", (c) => c.hkeys(bucket)), ["edge", "new", "foreign"])
      assert.strictEqual(yield* store.sweepPending, 0)
    }), { entryExpiry: { maxAge: "10 seconds", sweeper: "manual" } }))

  it.effect("a field rewritten after it was queued is not removed (compare-and-delete)", () =>
    withBackend(Effect.gen(function*() {
      yield* TestClock.setTime(BASE)
      const backend = yield* Backend
      const store = yield* HashBackend.HashStore
      const key = CacheKey.hash(unique("cad"), "f")
      yield* backend.set(key, yield* stored("old", BASE - 60_000))
      assert.isTrue(Option.isNone(yield* backend.get(key)))
      yield* backend.set(key, yield* stored("fresh", BASE))
      assert.strictEqual(yield* store.sweepPending, 0)
      assert.isTrue(Option.isSome(yield* backend.get(key)))
    }), { entryExpiry: { maxAge: "10 seconds", sweeper: "manual" } }))

  it.effect("the sweep queue is bounded: beyond queueCapacity expired fields are dropped and counted", () =>
    withBackend(Effect.gen(function*() {
      yield* TestClock.setTime(BASE)
      const backend = yield* Backend
      const store = yield* HashBackend.HashStore
      const bucket = unique("bound")
      const keys = Array.from({ length: 5 }, (_, i) => CacheKey.hash(bucket, String(i)))
      yield* backend.setMany(yield* Effect.forEach(keys, (key) => Effect.map(stored(0, BASE - 60_000), (value) => ({ key, value }))))
      const droppedBefore = yield* count(HashMetrics.sweepDropped)
      assert.deepStrictEqual((yield* backend.getMany(keys)).map(Option.isSome), [false, false, false, false, false])
      assert.strictEqual((yield* count(HashMetrics.sweepDropped)) - droppedBefore, 3)
      assert.strictEqual(yield* store.sweepPending, 2)
      assert.strictEqual(yield* raw("hlen", (c) => c.hlen(bucket)), 3)
    }), { entryExpiry: { maxAge: "10 seconds", sweeper: "manual", queueCapacity: 2 } }))

  it.effect("sweepBucket scans a whole bucket in bounded steps and removes exactly the expired fields", () =>
    withBackend(Effect.gen(function*() {
      yield* TestClock.setTime(BASE)
      const backend = yield* Backend
      const store = yield* HashBackend.HashStore
      const bucket = unique("scan")
      const entries = yield* Effect.forEach(Array.from({ length: 400 }, (_, i) => i), (i) =>
        Effect.map(stored(i, i < 300 ? BASE - 60_000 : BASE), (value) => ({ key: CacheKey.hash(bucket, String(i)), value })))
      yield* backend.setMany(entries)
      assert.strictEqual(yield* store.sweepBucket(bucket), 300)
      assert.strictEqual(yield* raw("hlen", (c) => c.hlen(bucket)), 100)
    }), { entryExpiry: { maxAge: "10 seconds", sweeper: "manual" } }))

  it.live("the background sweeper removes fields found expired without being asked", () =>
    withBackend(Effect.gen(function*() {
      const backend = yield* Backend
      const bucket = unique("bg")
      const now = Date.now()
      const keys = Array.from({ length: 250 }, (_, i) => CacheKey.hash(bucket, String(i)))
      yield* backend.setMany(yield* Effect.forEach(keys, (key) => Effect.map(stored(0, now - 60_000), (value) => ({ key, value }))))
      assert.isTrue((yield* backend.getMany(keys)).every(Option.isNone))
      let left = -1
      for (let attempt = 0; attempt < 100 && left !== 0; attempt++) {
        yield* Effect.sleep("20 millis")
        left = yield* raw("hlen", (c) => c.hlen(bucket))
      }
      assert.strictEqual(left, 0)
    }), { entryExpiry: { maxAge: "10 seconds" } }))
})

describe("server features and the lock", () => {
  it.live("detects the listpack limits from CONFIG GET, and per-field TTL exactly when the server has HPEXPIRE", () =>
    withBackend(Effect.gen(function*() {
      const store = yield* HashBackend.HashStore
      assert.strictEqual(store.features.listpackValueLimit, 64)
      assert.isTrue(store.features.expireNx)
      const server = serverRelease(yield* raw("info", (c) => c.info("server")))
      const probe = unique("hpexpire")
      yield* raw("hset", (c) => c.hset(probe, "f", "1"))
      const accepted = yield* raw("hpexpire", (c) => c.call("HPEXPIRE", probe, "60000", "FIELDS", "1", "f")).pipe(
        Effect.match({ onFailure: () => false, onSuccess: () => true })
      )
      assert.strictEqual(accepted, server.fieldTtl, `${server.name} ${server.version}: HPEXPIRE accepted = ${accepted}`)
      assert.strictEqual(store.features.fieldTtl, server.fieldTtl, `${server.name} ${server.version}`)
    })))

  it.live("per-field TTL, where the server has it: an entry written with a TTL carries it on its field", () =>
    withBackend(Effect.gen(function*() {
      const store = yield* HashBackend.HashStore
      const backend = yield* Backend
      const bucket = unique("fttl")
      yield* backend.set(CacheKey.hash(bucket, "1"), text("one"), Duration.minutes(1))
      yield* backend.set(CacheKey.hash(bucket, "2"), text("two"))
      assert.deepStrictEqual(show(yield* backend.getMany([CacheKey.hash(bucket, "1"), CacheKey.hash(bucket, "2")])), ["one", "two"])
      if (!store.features.fieldTtl) {
        // Redis < 7.4, Valkey < 9: only the bucket's key TTL, which an endless entry keeps endless.
        assert.strictEqual(yield* raw("pttl", (c) => c.pttl(bucket)), -1)
        return
      }
      const ttls = yield* raw("hpttl", (c) => c.call("HPTTL", bucket, "FIELDS", "2", "1", "2"))
      assert.isTrue(Array.isArray(ttls), `HPTTL replied ${String(ttls)}`)
      const [withTtl, without] = ttls as ReadonlyArray<number>
      assert.isTrue(withTtl !== undefined && withTtl > 0 && withTtl <= 60_000, `field 1 TTL ${withTtl}`)
      assert.strictEqual(without, -1, "field 2 was written without a TTL")
    })))

  it.live("a changed hash-max-listpack-value is picked up at connect", () =>
    Effect.gen(function*() {
      yield* withBackend(raw("config", (c) => c.config("SET", "hash-max-listpack-value", "100")))
      const limit = yield* withBackend(Effect.map(HashBackend.HashStore, (store) => store.overflowAbove))
      yield* withBackend(raw("config", (c) => c.config("SET", "hash-max-listpack-value", "64")))
      assert.strictEqual(limit, 100)
    }))

  it.live("the distributed lock on a hash key: exclusive, and its key shares the bucket's slot", () =>
    withBackend(Effect.gen(function*() {
      const lock = yield* Lock
      const bucket = unique("lk")
      const key = CacheKey.hash(bucket, "42")
      const holder = yield* Scope.make()
      const first = yield* Scope.provide(lock.tryAcquire(key), holder)
      assert.isTrue(Option.isSome(first))
      const second = yield* Effect.scoped(lock.tryAcquire(key))
      assert.isTrue(Option.isNone(second), "held by the first lease")
      const other = yield* Effect.scoped(lock.tryAcquire(CacheKey.hash(bucket, "43")))
      assert.isTrue(Option.isSome(other), "another field of the same bucket has its own lock")
      const lockKey = RedisLock.lockKey(key)
      assert.strictEqual(yield* raw("exists", (c) => c.exists(lockKey)), 1)
      assert.strictEqual(KeySlot.slot(lockKey), KeySlot.slot(bucket))
      yield* Scope.close(holder, Exit.void)
      assert.strictEqual(yield* raw("exists", (c) => c.exists(lockKey)), 0)
      assert.isTrue(Option.isSome(yield* Effect.scoped(lock.tryAcquire(key))))
    })))
})
