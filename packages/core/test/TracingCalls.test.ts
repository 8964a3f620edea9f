/**
 * The spans of every public call, listed against a recording tracer: each
 * call of a region (and of a cached function over it) opens exactly one span,
 * named `Region.<method>` as `Effect.fn("Region.<method>")` would name it,
 * with the caller's span as its parent, the region's name and the call's
 * attributes; a failure inside carries the call's name in its stack frames.
 */
import { assert, describe, it } from "@effect/vitest"
import { CachedFunction, Region } from "@dogpile-effect/core"
import { Cause, Effect, Exit, Option } from "effect"
import { memory, recorder } from "./spanRecorder.ts"
/** What one public call left on the tracer. */
interface Listed {
  readonly call: string
  readonly spans: ReadonlyArray<string>
  readonly parentIsCaller: boolean
  readonly ended: boolean
  readonly attributes: Record<string, unknown>
}

const base = { region: "tr", "dogpile.region": "tr" }

describe("Region spans: the list of every public call", () => {
  it.effect("each call (region methods and cached-function wrappers) opens exactly one span, a child of the caller's, named for it", () =>
    Effect.gen(function*() {
      const { spans, tracer } = recorder()
      const region = yield* Region.make<number>({ name: "tr" })
      const double = CachedFunction.cached(region, (n: number) => Effect.succeed(n * 2), { namespace: "double" })
      const doubles = CachedFunction.cachedMany(region, (ns: ReadonlyArray<number>) => Effect.succeed(ns.map((n) => n * 2)), {
        namespace: "doubles"
      })
      yield* region.set("k", 1)
      const calls: ReadonlyArray<readonly [string, Effect.Effect<unknown, unknown>]> = [
        ["getOrCreate", region.getOrCreate("k", Effect.succeed(9))],
        ["getOrCreate (created)", region.getOrCreate("new", Effect.succeed(9))],
        ["get", region.get("k")],
        ["get (missing)", region.get("none")],
        ["getMany", region.getMany(["k", "none"])],
        ["getOrCreateMany", region.getOrCreateMany(["k", "j"], (keys) => Effect.succeed(keys.map(() => 2)))],
        ["set", region.set("k", 3)],
        ["setMany", region.setMany([["k", 4], ["j", 5]])],
        ["has", region.has("k")],
        ["inspect", region.inspect("k")],
        ["lockStatus", region.lockStatus("k")],
        ["delete", region.delete("j")],
        ["deleteMany", region.deleteMany(["j", "new"])],
        ["invalidateTags", region.invalidateTags(["t"])],
        ["invalidate", region.invalidate()],
        ["cached(...)", double(21)],
        ["cached.get", double.get(21)],
        ["cached.set", double.set(1, 2)],
        ["cached.refresh", double.refresh(21)],
        ["cached.invalidate", double.invalidate(21)],
        ["cachedMany(...)", doubles([1, 2])],
        ["cachedMany.get", doubles.get([1, 2])],
        ["cachedMany.invalidate", doubles.invalidate([1, 2])]
      ]
      const listed: Array<Listed> = []
      for (const [call, effect] of calls) {
        spans.length = 0
        const caller = yield* Effect.withSpan(Effect.andThen(effect, Effect.currentSpan), "caller").pipe(Effect.withTracer(tracer))
        const own = spans.filter((span) => span !== caller)
        const span = own[0]!
        listed.push({
          call,
          spans: own.map((s) => s.name),
          parentIsCaller: Option.getOrUndefined(span.parent) === caller,
          ended: span.status._tag === "Ended",
          attributes: Object.fromEntries(span.attributes)
        })
      }
      const expected: Array<Listed> = (
        [
          ["getOrCreate", "Region.getOrCreate", { "dogpile.outcome": "hit" }],
          ["getOrCreate (created)", "Region.getOrCreate", { "dogpile.outcome": "created", "dogpile.creator.ms": 0 }],
          ["get", "Region.get", { "dogpile.outcome": "hit" }],
          ["get (missing)", "Region.get", { "dogpile.outcome": "miss" }],
          ["getMany", "Region.getMany", { "dogpile.keys": 2, "dogpile.outcome.hit": 1, "dogpile.outcome.miss": 1 }],
          ["getOrCreateMany", "Region.getOrCreateMany", {
            "dogpile.keys": 2,
            "dogpile.outcome.hit": 1,
            "dogpile.outcome.created": 1,
            "dogpile.creator.ms": 0
          }],
          ["set", "Region.set", {}],
          ["setMany", "Region.setMany", { "dogpile.keys": 2 }],
          ["has", "Region.has", { "dogpile.outcome": "hit" }],
          ["inspect", "Region.inspect", {}],
          ["lockStatus", "Region.lockStatus", {}],
          ["delete", "Region.delete", {}],
          ["deleteMany", "Region.deleteMany", { "dogpile.keys": 2 }],
          ["invalidateTags", "Region.invalidateTags", {}],
          ["invalidate", "Region.invalidate", {}],
          ["cached(...)", "Region.getOrCreate", { "dogpile.outcome": "created", "dogpile.creator.ms": 0 }],
          ["cached.get", "Region.get", { "dogpile.outcome": "hit" }],
          ["cached.set", "Region.set", {}],
          ["cached.refresh", "Region.set", {}],
          ["cached.invalidate", "Region.delete", {}],
          ["cachedMany(...)", "Region.getOrCreateMany", { "dogpile.keys": 2, "dogpile.outcome.created": 2, "dogpile.creator.ms": 0 }],
          ["cachedMany.get", "Region.getMany", { "dogpile.keys": 2, "dogpile.outcome.hit": 2 }],
          ["cachedMany.invalidate", "Region.deleteMany", { "dogpile.keys": 2 }]
        ] as const
      ).map(([call, name, attributes]) => ({
        call,
        spans: [name],
        parentIsCaller: true,
        ended: true,
        attributes: { ...base, ...attributes }
      }))
      assert.deepStrictEqual(listed, expected)
    }).pipe(Effect.scoped, Effect.provide(memory())))

  it.effect("a failure inside a call names the call in its stack frames, as Effect.fn's would", () =>
    Effect.gen(function*() {
      const { spans, tracer } = recorder()
      const region = yield* Region.make<number>({ name: "tr" })
      const exit = yield* Effect.exit(
        region.getOrCreate("k", Effect.fail(new Error("boom"))).pipe(Effect.withSpan("caller"), Effect.withTracer(tracer))
      )
      assert.isTrue(Exit.isFailure(exit))
      if (Exit.isFailure(exit)) assert.include(Cause.pretty(exit.cause), "at Region.getOrCreate")
      assert.deepStrictEqual(spans.map((span) => span.name), ["caller", "Region.getOrCreate"])
      assert.strictEqual(spans[1]!.attributes.get("dogpile.outcome"), "error")
      assert.strictEqual(spans[1]!.status._tag === "Ended" && Exit.isFailure(spans[1]!.status.exit), true)
    }).pipe(Effect.scoped, Effect.provide(memory())))

  it.effect("without an exporting tracer no call opens a span, and a failure carries no region frame", () =>
    Effect.gen(function*() {
      const region = yield* Region.make<number>({ name: "tr" })
      const exit = yield* Effect.exit(region.getOrCreate("k", Effect.fail(new Error("boom"))))
      assert.isTrue(Exit.isFailure(exit))
      if (Exit.isFailure(exit)) assert.notInclude(Cause.pretty(exit.cause), "Region.getOrCreate")
    }).pipe(Effect.scoped, Effect.provide(memory())))
})
