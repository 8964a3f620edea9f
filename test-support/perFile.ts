/**
 * A resource the tests of one file share (a redis-server, a cluster): started
 * by vitest's `beforeAll`, disposed of by its `afterAll`.
 */
import { afterAll, beforeAll } from "vitest"

/**
 * Registers the file's `beforeAll`/`afterAll` for `start()`'s resource and
 * answers a getter for it, to call inside tests (and the Layers they build),
 * when `beforeAll` has run.
 *
 * @example
 * ```ts
 * const server = perFile(() => startRedisServer())
 * const client = () => RedisClient.layer({ url: server().url })
 * ```
 */
export const perFile = <A extends { readonly dispose: () => Promise<void> }>(start: () => Promise<A>): () => A => {
  let resource: A | undefined
  beforeAll(async () => {
    resource = await start()
  })
  afterAll(() => resource?.dispose())
  return () => {
    if (resource === undefined) throw new Error("perFile: the resource is used before beforeAll started it")
    return resource
  }
}
