/**
 * What `INFO` says of a dedicated redis-server: the commands sent to it
 * (`commandstats`, so a file that counts must own its server) and the memory
 * its data takes.
 */
import { RedisClient } from "@dogpile-effect/redis"
import { Effect } from "effect"

/** `INFO commandstats` call counts per command. */
export const commandCalls = Effect.flatMap(RedisClient.RedisClient, (redis) =>
  redis.use("info", (c) => c.info("commandstats"))).pipe(
    Effect.map((info) => {
      const calls = new Map<string, number>()
      for (const match of info.matchAll(/cmdstat_([a-z|]+):calls=(\d+)/g)) calls.set(match[1] as string, Number(match[2]))
      return calls
    })
  )

/** The commands `body` sent (every count that changed, `info` itself excluded). */
export const counted = <A, E, R>(body: Effect.Effect<A, E, R>) =>
  Effect.gen(function*() {
    const before = yield* commandCalls
    const result = yield* body
    const after = yield* commandCalls
    const sent: Record<string, number> = {}
    for (const [command, calls] of after) {
      const delta = calls - (before.get(command) ?? 0)
      if (delta > 0 && command !== "info") sent[command] = delta
    }
    return { result, sent }
  })

/** used_memory without client buffers (mem_clients_normal), so pipelined query buffers are not counted. */
export const usedMemory = Effect.flatMap(RedisClient.RedisClient, (redis) => redis.use("info", (c) => c.info("memory"))).pipe(
  Effect.map((info) => {
    const field = (name: string) => Number(new RegExp(`^${name}:(\\d+)`, "m").exec(info)?.[1])
    return field("used_memory") - field("mem_clients_normal")
  })
)
