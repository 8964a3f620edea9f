/**
 * A Schema for the demo dataset's values, for the "schema" strategies: an
 * integer, a string, or a `{ one, two }` record stored positionally as
 * `[one, two]` (the field names are in the schema, not in every stored value).
 * Through `SchemaCodec` over the integer-aware codec, integers and strings
 * keep their Redis-native forms and a record costs `0xFF` + a 2-element CBOR
 * array instead of a CBOR map with its keys.
 */
import { IntegerAware, SchemaCodec } from "@dogpile-effect/codecs"
import { Schema, SchemaTransformation } from "effect"

/** `{ one, two }`, encoded as the tuple `[one, two]`. */
export const Pair = Schema.Tuple([Schema.Int, Schema.String]).pipe(
  Schema.decodeTo(
    Schema.Struct({ one: Schema.Int, two: Schema.String }),
    SchemaTransformation.transform({
      decode: ([one, two]: readonly [number, string]) => ({ one, two }),
      encode: ({ one, two }: { readonly one: number; readonly two: string }) => [one, two] as const
    })
  )
)

/** Any value of the dataset. */
export const DemoValue = Schema.Union([Schema.Int, Schema.String, Pair])

/** The schema codec over the integer-aware codec. */
export const codec = SchemaCodec.make(DemoValue, IntegerAware.codec)
