/**
 * The spread of a benchmark's rounds: min, median and max of the samples
 * (NaN for none), as every table in docs/benchmarks.md reports them.
 */
export const stats = (values: ReadonlyArray<number>) => {
  const sorted = [...values].sort((a, b) => a - b)
  return { min: sorted[0] ?? NaN, median: sorted[Math.floor(sorted.length / 2)] ?? NaN, max: sorted[sorted.length - 1] ?? NaN }
}
