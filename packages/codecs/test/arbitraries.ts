/**
 * fast-check arbitraries for each codec's documented value domain (see the
 * package README's tables). Shared by the property tests.
 */
import * as fc from "fast-check"

const key = fc.string({ unit: "binary", maxLength: 12 }).filter((k) => k !== "__proto__")
const text = fc.oneof(fc.string({ unit: "binary" }), fc.string({ unit: "grapheme", maxLength: 40 }))
const finite = fc.oneof(
  fc.integer(),
  fc.maxSafeInteger(),
  fc.double({ noNaN: true, noDefaultInfinity: true })
).filter((n) => !Object.is(n, -0))

const jsonLeaf: fc.Arbitrary<unknown> = fc.oneof(text, finite, fc.boolean(), fc.constant(null))

const tree = (leaf: fc.Arbitrary<unknown>, extra: (self: fc.Arbitrary<unknown>) => Array<fc.Arbitrary<unknown>> = () => []) =>
  fc.letrec<{ value: unknown }>((tie) => ({
    value: fc.oneof(
      { depthSize: "small", withCrossShrink: true },
      leaf,
      fc.array(tie("value"), { maxLength: 5 }),
      fc.dictionary(key, tie("value"), { maxKeys: 5, noNullPrototype: true }),
      ...extra(tie("value"))
    )
  })).value

/** JSON: strings, finite numbers except -0, booleans, null, arrays, plain objects. */
export const jsonValue = tree(jsonLeaf)

const date = fc.date({ noInvalidDate: true })
const cborDate = fc.date({ noInvalidDate: true, min: new Date(-(2 ** 50)), max: new Date(2 ** 50) })
const bytes = fc.uint8Array({ maxLength: 64 })
const nonFinite = fc.constantFrom(Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY)

/** MessagePack: JSON plus undefined, NaN/±Infinity, Date and Uint8Array. */
export const msgpackValue = tree(fc.oneof(jsonLeaf, fc.constant(undefined), nonFinite, date, bytes))

/** CBOR: MessagePack plus BigInt, Map and Set. */
export const cborValue = tree(
  fc.oneof(jsonLeaf, fc.constant(undefined), nonFinite, cborDate, bytes, fc.bigInt({ min: -(2n ** 130n), max: 2n ** 130n })),
  (self) => [
    fc.array(fc.tuple(self, self), { maxLength: 4 }).map((entries) => new Map(entries)),
    fc.array(self, { maxLength: 4 }).map((values) => new Set(values))
  ]
)

/** Strings the UTF-8 codec round-trips: every well-formed string. */
export const utf8Value = text
