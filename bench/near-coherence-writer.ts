/**
 * The writer of `near-coherence.ts`, another process on its own plain ioredis
 * connection: for each `{ key, value }` it is sent, it reports when it sends
 * the SET and when the reply arrives (`performance.timeOrigin + now()`, a clock
 * both processes share).
 */
import { Redis } from "ioredis"

const url = process.argv[2] ?? "redis://127.0.0.1:6379"
const client = new Redis(url, { lazyConnect: false, enableAutoPipelining: false })
const wall = () => performance.timeOrigin + performance.now()
const send = (message: object) => process.send?.(message)

process.on("message", (message: { readonly key: string; readonly value: string } | "stop") => {
  if (message === "stop") {
    void client.quit().finally(() => process.exit(0))
    return
  }
  send({ sentAt: wall() })
  client.set(message.key, message.value).then(
    () => send({ repliedAt: wall() }),
    (error: unknown) => send({ error: String(error) })
  )
})
client.once("ready", () => send({ ready: true }))
