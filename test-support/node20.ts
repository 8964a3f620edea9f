/**
 * vitest 5 formats failures with `Map.groupBy` (Node ≥ 21). On Node 20 the
 * reporter itself would crash while printing a failure, hiding it; this adds
 * the standard method where it is missing. Imported by vitest.config.ts only.
 *
 * Node 20 is past its end of life and not supported (the packages need
 * ≥ 22.12; CI runs Node 22 and 24), but machines that still have it as their
 * `node` can run the README's test command and see real failures.
 */
interface MapConstructorWithGroupBy {
  groupBy?: <K, T>(items: Iterable<T>, key: (item: T, index: number) => K) => Map<K, Array<T>>
}

const MapCtor = Map as unknown as MapConstructorWithGroupBy
if (typeof MapCtor.groupBy !== "function") {
  MapCtor.groupBy = <K, T>(items: Iterable<T>, key: (item: T, index: number) => K): Map<K, Array<T>> => {
    const groups = new Map<K, Array<T>>()
    let index = 0
    for (const item of items) {
      const k = key(item, index++)
      const group = groups.get(k)
      if (group === undefined) groups.set(k, [item])
      else group.push(item)
    }
    return groups
  }
}

export {}
