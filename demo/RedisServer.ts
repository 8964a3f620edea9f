/**
 * The demo's own redis-server: started on a free loopback port with
 * persistence off, in a temporary directory, and stopped (and the directory
 * removed) when the scope closes. Used when `REDIS_URL` is not set.
 */
import { Data, Duration, Effect, FileSystem, Path, Schedule, type Scope } from "effect"
import { ChildProcess, ChildProcessSpawner } from "effect/process"
import * as net from "node:net"
import { delimiter } from "node:path"
import { ensureRedisServer } from "../test-support/ensure-redis-server.ts"

/** Why the demo could not get a Redis server. */
export class RedisServerError extends Data.TaggedError("RedisServerError")<{
  readonly message: string
}> {}

/** A running server. */
export interface RunningServer {
  readonly url: string
  readonly port: number
}

const BINARY = "redis-server"

/** Looks `redis-server` up on PATH (or takes `REDIS_SERVER_BIN`), so a missing binary gets a clear message. */
const findBinary = Effect.gen(function*() {
  const fs = yield* FileSystem.FileSystem
  const path = yield* Path.Path
  const explicit = process.env["REDIS_SERVER_BIN"]
  if (explicit !== undefined && explicit.length > 0) {
    if (yield* Effect.orElseSucceed(fs.exists(explicit), () => false)) return explicit
    return yield* new RedisServerError({ message: `REDIS_SERVER_BIN=${explicit} does not exist` })
  }
  for (const dir of (process.env["PATH"] ?? "").split(delimiter)) {
    if (dir.length === 0) continue
    const candidate = path.join(dir, BINARY)
    if (yield* Effect.orElseSucceed(fs.exists(candidate), () => false)) return candidate
  }
  // Not on PATH: installs Debian's package when running as root, else fails with the command to run.
  return yield* Effect.try({
    try: ensureRedisServer,
    catch: (error) =>
      new RedisServerError({
        message: `${error instanceof Error ? error.message : String(error)} ` +
          `(the demo runs FLUSHALL on a REDIS_URL server, so use an empty, disposable one).`
      })
  })
})

/** A free loopback port chosen by the OS. */
const freePort = Effect.callback<number, RedisServerError>((resume) => {
  const server = net.createServer()
  server.once("error", (error) => resume(Effect.fail(new RedisServerError({ message: `no free port: ${error.message}` }))))
  server.listen(0, "127.0.0.1", () => {
    const address = server.address()
    const port = typeof address === "object" && address !== null ? address.port : 0
    server.close(() => resume(port > 0 ? Effect.succeed(port) : Effect.fail(new RedisServerError({ message: "no free port" }))))
  })
})

/** Whether a server answers PING on the port (a raw RESP exchange, no client library). */
const answersPing = (port: number) =>
  Effect.callback<boolean>((resume) => {
    const socket = net.connect({ port, host: "127.0.0.1" })
    let reply = ""
    const done = (ok: boolean) => {
      socket.destroy()
      resume(Effect.succeed(ok))
    }
    socket.setTimeout(500, () => done(false))
    socket.once("error", () => done(false))
    socket.once("connect", () => socket.write("PING\r\n"))
    socket.on("data", (chunk) => {
      reply += chunk.toString("latin1")
      if (reply.includes("\r\n")) done(reply.startsWith("+PONG"))
    })
  })

/**
 * Starts a redis-server for the lifetime of the scope.
 */
export const start: Effect.Effect<
  RunningServer,
  RedisServerError,
  Scope.Scope | FileSystem.FileSystem | Path.Path | ChildProcessSpawner.ChildProcessSpawner
> = Effect.gen(function*() {
  const binary = yield* findBinary
  const fs = yield* FileSystem.FileSystem
  const spawner = yield* ChildProcessSpawner.ChildProcessSpawner
  const dir = yield* fs.makeTempDirectoryScoped({ prefix: "dogpile-demo-redis-" }).pipe(
    Effect.mapError((error) => new RedisServerError({ message: `cannot create a temporary directory: ${error.message}` }))
  )
  const port = yield* freePort
  const handle = yield* spawner.spawn(
    ChildProcess.make(binary, [
      "--port", String(port),
      "--bind", "127.0.0.1",
      "--save", "",
      "--appendonly", "no",
      "--dir", dir,
      "--logfile", ""
    ], { stdout: "ignore", stderr: "ignore", stdin: "ignore", killSignal: "SIGTERM", forceKillAfter: "3 seconds" })
  ).pipe(Effect.mapError((error) => new RedisServerError({ message: `cannot start ${binary}: ${error.message}` })))
  yield* answersPing(port).pipe(
    Effect.flatMap((ok) =>
      ok ? Effect.void : Effect.fail(new RedisServerError({ message: `${binary} did not answer on port ${port}` }))
    ),
    Effect.retry({ schedule: Schedule.spaced(Duration.millis(50)), times: 200 }),
    Effect.tapError(() => Effect.ignore(handle.kill()))
  )
  return { url: `redis://127.0.0.1:${port}`, port }
})
