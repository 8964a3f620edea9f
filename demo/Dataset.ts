/**
 * The seed's demo dataset: one million integers and 100,000 prefixed entries
 * (objects and strings), 1,100,000 entries at scale 1.
 */

/** The prefixes whose entries are objects `{ one: i × 399, two: prefix }`. */
export const OBJECT_PREFIXES = ["foo", "foobar", "foobarbiz", "foobarbizbash", "foobarbizbashfizzbuzz", "fizzbuzz"] as const

/** The prefixes whose entries are the prefix string itself. */
export const STRING_PREFIXES = ["qkknasdkk", "kehzipqyfnslhtqnzjsgqolf", "7124n9jasdgqbozjayqkdhag", "61jkansd89asd"] as const

/** One entry of the dataset. `prefix` is absent for the integer entries. */
export interface Entry {
  readonly key: string
  readonly i: number
  readonly prefix: string | undefined
  readonly value: unknown
}

/** Sizes of the dataset at a scale. */
export interface Dataset {
  readonly scale: number
  readonly integers: number
  readonly perPrefix: number
  readonly total: number
}

/** The dataset at `scale` (1 = the seed's 1,000,000 integers and 10,000 entries per prefix). */
export const make = (scale: number): Dataset => {
  const integers = Math.max(1, Math.round(1_000_000 * scale))
  const perPrefix = Math.max(1, Math.round(10_000 * scale))
  return {
    scale,
    integers,
    perPrefix,
    total: integers + perPrefix * (OBJECT_PREFIXES.length + STRING_PREFIXES.length)
  }
}

const integerEntry = (i: number): Entry => ({ key: String(i), i, prefix: undefined, value: i * 10 })
const objectEntry = (prefix: string, i: number): Entry => ({
  key: `${prefix}|${i}`,
  i,
  prefix,
  value: { one: i * 399, two: prefix }
})
const stringEntry = (prefix: string, i: number): Entry => ({ key: `${prefix}|${i}`, i, prefix, value: prefix })

/** The entry at position `n` (0 ≤ n < total), so batches can be built without holding the dataset. */
export const at = (dataset: Dataset, n: number): Entry => {
  if (n < dataset.integers) return integerEntry(n)
  const rest = n - dataset.integers
  const group = Math.floor(rest / dataset.perPrefix)
  const i = rest % dataset.perPrefix
  if (group < OBJECT_PREFIXES.length) return objectEntry(OBJECT_PREFIXES[group] as string, i)
  return stringEntry(STRING_PREFIXES[group - OBJECT_PREFIXES.length] as string, i)
}

/** Entries `[from, to)`. */
export const slice = (dataset: Dataset, from: number, to: number): Array<Entry> => {
  const out: Array<Entry> = []
  for (let n = from; n < Math.min(to, dataset.total); n++) out.push(at(dataset, n))
  return out
}

/** A few entries of every kind, for showing stored bytes and checking read-back. */
export const samples = (dataset: Dataset): ReadonlyArray<Entry> => {
  const last = dataset.perPrefix - 1
  return [
    integerEntry(1),
    integerEntry(dataset.integers - 1),
    objectEntry("foo", 1),
    objectEntry("foobarbizbashfizzbuzz", last),
    stringEntry("kehzipqyfnslhtqnzjsgqolf", last)
  ]
}
