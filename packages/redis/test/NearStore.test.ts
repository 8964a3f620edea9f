/**
 * The near cache's in-process store on its own: SIEVE eviction, byte and
 * entry bounds, age, bucket membership, and the race rule's tickets.
 */
import { assert, describe, it } from "@effect/vitest"
import * as NearStore from "../src/NearStore.ts"

const bytes = (n: number) => new Uint8Array(n)

const storeOf = (limits: Partial<NearStore.Limits> = {}) => {
  const evicted = { count: 0 }
  const store = NearStore.make(
    { maxEntries: 1_000, maxBytes: 1 << 20, maxAgeMs: Number.POSITIVE_INFINITY, ...limits },
    { evicted: (n) => void (evicted.count += n) }
  )
  const put = (id: string, redisKey = id, size = 1, now = 0) => {
    const ticket = store.begin()
    const kept = store.admit(ticket, id, redisKey, bytes(size), now)
    store.end()
    return kept
  }
  return { store, put, evicted }
}

describe("NearStore", () => {
  it("SIEVE: entries hit since the hand last passed survive; unvisited ones go first", () => {
    const { store, put, evicted } = storeOf({ maxEntries: 3 })
    put("a")
    put("b")
    put("c")
    store.lookup("a", 0)
    put("d") // evicts b: a was visited, b was not
    assert.isDefined(store.lookup("a", 0))
    assert.isUndefined(store.lookup("b", 0))
    assert.isDefined(store.lookup("c", 0))
    assert.isDefined(store.lookup("d", 0))
    assert.strictEqual(evicted.count, 1)
    assert.strictEqual(store.entries(), 3)
  })

  it("bounded by bytes; a value larger than the budget is not kept", () => {
    const { store, put } = storeOf({ maxBytes: 2_000 })
    put("a", "a", 500)
    put("b", "b", 500)
    put("c", "c", 500)
    assert.isAtMost(store.bytes(), 2_000)
    assert.isFalse(put("huge", "huge", 5_000))
    assert.isUndefined(store.lookup("huge", 0))
  })

  it("entries older than maxAge are dropped on lookup", () => {
    const { store, put } = storeOf({ maxAgeMs: 1_000 })
    put("a", "a", 1, 0)
    assert.isDefined(store.lookup("a", 999))
    assert.isUndefined(store.lookup("a", 1_000))
  })

  it("an invalidation of a bucket drops every field kept from it", () => {
    const { store, put } = storeOf()
    put("h\u0000f1", "h")
    put("h\u0000f2", "h")
    put("user:12345", "user:123") // a bucketed plain key
    put("other")
    assert.strictEqual(store.invalidate(["h", "user:123"]), 3)
    assert.strictEqual(store.entries(), 1)
    assert.isDefined(store.lookup("other", 0))
  })

  it("a read whose key was invalidated after it started is not kept; one started after is", () => {
    const { store } = storeOf()
    const early = store.begin()
    store.invalidate(["k"])
    const late = store.begin()
    assert.isFalse(store.admit(early, "k", "k", bytes(1), 0))
    assert.isTrue(store.admit(late, "k", "k", bytes(1), 0))
    // Another key's invalidation does not discard a read.
    const other = store.begin()
    store.invalidate(["x"])
    assert.isTrue(store.admit(other, "j", "j", bytes(1), 0))
    store.end()
    store.end()
    store.end()
  })

  it("a flush discards every read in flight", () => {
    const { store } = storeOf()
    const ticket = store.begin()
    store.clear()
    assert.isFalse(store.admit(ticket, "k", "k", bytes(1), 0))
    store.end()
  })

  it("remembers invalidations only while reads are in flight", () => {
    const { store } = storeOf()
    store.invalidate(["k"]) // nothing in flight: nothing to remember
    const ticket = store.begin()
    assert.isTrue(store.admit(ticket, "k", "k", bytes(1), 0))
    store.end()
  })
})
