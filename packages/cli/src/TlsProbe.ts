/**
 * Why a `rediss://` URL gets no connection when the server speaks plain
 * Redis. A plaintext redis-server reads a TLS ClientHello as the start of an
 * inline command and waits for its end, so the handshake never finishes and
 * ioredis only says "Stream isn't writeable" (or, later, "connect
 * ETIMEDOUT"). When a command fails that way, the CLI asks the same port
 * `PING` without TLS: a RESP answer (`+PONG`, `-NOAUTH ...`) proves the
 * server speaks plain Redis, and the message says so.
 *
 * @since 0.1.0
 */
import { Duration, Effect, Option, Redacted } from "effect"
import * as net from "node:net"

/**
 * Where a URL connects.
 *
 * @example
 * ```ts
 * import type { TlsProbe } from "@dogpile-effect/cli"
 * const endpoint: TlsProbe.Endpoint = { host: "127.0.0.1", port: 6380 }
 * ```
 *
 * @category models
 * @since 0.1.0
 */
export interface Endpoint {
  readonly host: string
  readonly port: number
}

/**
 * The host and port of a `rediss://` URL; none for any other scheme or an
 * unparsable URL.
 *
 * @example
 * ```ts
 * import { TlsProbe } from "@dogpile-effect/cli"
 * import { Redacted } from "effect"
 * TlsProbe.tlsEndpoint(Redacted.make("rediss://:pw@cache.internal:6380")) // Some({ host: "cache.internal", port: 6380 })
 * TlsProbe.tlsEndpoint(Redacted.make("redis://127.0.0.1")) // None
 * ```
 *
 * @category parsing
 * @since 0.1.0
 */
export const tlsEndpoint = (url: Redacted.Redacted<string>): Option.Option<Endpoint> => {
  let parsed: URL
  try {
    parsed = new URL(Redacted.value(url))
  } catch {
    return Option.none()
  }
  if (parsed.protocol !== "rediss:") return Option.none()
  const host = parsed.hostname.replace(/^\[(.*)\]$/, "$1") || "127.0.0.1"
  return Option.some({ host, port: parsed.port === "" ? 6379 : Number(parsed.port) })
}

/** A RESP reply line: `+` simple string or `-` error (`+PONG`, `-NOAUTH ...`, `-ERR ...`). */
const isResp = (answer: string): boolean => /^[+-][^\r\n]*\r\n/.test(answer)

/**
 * Whether the server at `endpoint` answers `PING` in plain RESP within
 * `timeout`. Any failure (refused, reset, a TLS alert, silence) is `false`.
 *
 * @example
 * ```ts
 * import { TlsProbe } from "@dogpile-effect/cli"
 * const plain = TlsProbe.speaksPlainRedis({ host: "127.0.0.1", port: 6379 }, "1 second")
 * ```
 *
 * @category probing
 * @since 0.1.0
 */
export const speaksPlainRedis = (endpoint: Endpoint, timeout: Duration.Input): Effect.Effect<boolean> =>
  Effect.callback<boolean>((resume) => {
    const socket = net.connect({ host: endpoint.host, port: endpoint.port })
    let answer = ""
    const done = (plain: boolean) => {
      socket.destroy()
      resume(Effect.succeed(plain))
    }
    socket.once("error", () => done(false))
    socket.once("close", () => done(isResp(answer)))
    socket.once("connect", () => socket.write("PING\r\n"))
    socket.on("data", (chunk: Buffer) => {
      answer += chunk.toString("latin1")
      if (answer.includes("\r\n") || answer.length > 512) done(isResp(answer))
    })
    return Effect.sync(() => socket.destroy())
  }).pipe(Effect.timeoutOption(timeout), Effect.map(Option.getOrElse(() => false)))

/**
 * The message that names the cause when a command over `url` failed because
 * a `rediss://` URL points at a server that speaks plain Redis; none
 * otherwise (another scheme, or the server does not answer plain `PING`
 * either). It replaces ioredis' "Stream isn't writeable and
 * enableOfflineQueue options is false", which does not say why.
 *
 * @example
 * ```ts
 * import { TlsProbe } from "@dogpile-effect/cli"
 * import { Redacted } from "effect"
 * const why = TlsProbe.explain(Redacted.make("rediss://127.0.0.1:6379"))
 * // Some("TLS handshake with 127.0.0.1:6379 got no answer: the server speaks plain Redis (it answered PING without TLS); use redis:// ...")
 * ```
 *
 * @category probing
 * @since 0.1.0
 */
export const explain = (url: Redacted.Redacted<string>): Effect.Effect<Option.Option<string>> =>
  Option.match(tlsEndpoint(url), {
    onNone: () => Effect.succeedNone,
    onSome: (endpoint) =>
      Effect.map(speaksPlainRedis(endpoint, "1 second"), (plain) =>
        plain
          ? Option.some(
            `TLS handshake with ${endpoint.host}:${endpoint.port} got no answer: the server speaks plain Redis ` +
              `(it answered PING without TLS); use redis:// instead of rediss://, or enable TLS on the server ` +
              `(tls-port)`
          )
          : Option.none())
  })
