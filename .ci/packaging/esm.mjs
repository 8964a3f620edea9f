// Imports every packed package as ESM and uses the MessagePack codec with only
// msgpackr installed; the CBOR codec must fail with the install command.
import * as core from "@dogpile-effect/core"
import { Cbor, Msgpack } from "@dogpile-effect/codecs"
import * as redis from "@dogpile-effect/redis"
import * as hstore from "@dogpile-effect/hstore"
import * as python from "@dogpile-effect/python"
import * as nodeRedis from "@dogpile-effect/node-redis"
import { Effect } from "effect"
import assert from "node:assert/strict"

assert.equal(typeof core.Region.make, "function")
assert.equal(typeof redis.RedisBackend.layer, "function")
assert.equal(typeof hstore.HashBackend.layer, "function")
assert.ok(Object.keys(python).length > 0)
assert.equal(typeof nodeRedis.NodeRedisLock.layer, "function")
const value = { id: 7, name: "seven", tags: ["a", "b"] }
const bytes = await Effect.runPromise(Msgpack.codec.encode(value))
assert.deepEqual(await Effect.runPromise(Msgpack.codec.decode(bytes)), value)
const refused = await Effect.runPromise(Effect.flip(Cbor.codec.encode(1)))
assert.match(refused.reason, /npm install cbor-x/)
console.log(`esm: msgpack round trip in ${bytes.length} bytes; cbor without cbor-x: ${refused.reason}`)

// The bundler entry points: /msgpack loads with msgpackr installed; /cbor names the missing cbor-x.
const { Msgpack: BundledMsgpack } = await import("@dogpile-effect/codecs/msgpack")
assert.deepEqual(await Effect.runPromise(BundledMsgpack.codec.decode(bytes)), value)
const cborEntry = await import("@dogpile-effect/codecs/cbor").then(() => "loaded", (error) => String(error.message))
assert.match(cborEntry, /cbor-x/)
console.log(`esm: @dogpile-effect/codecs/msgpack decodes; @dogpile-effect/codecs/cbor without cbor-x: ${cborEntry.split("\n")[0]}`)

