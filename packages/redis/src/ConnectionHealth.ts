/**
 * What the client knows about its connection: the last connection failure,
 * described by its cause (unknown host, refused, TLS handshake, auth), and a
 * database index the server refused. Also the socket connector that keeps
 * every socket's `error` event handled, so a late TLS or reset error can never
 * crash the process.
 *
 * @since 0.1.0
 */
import { AbstractConnector, type Cluster, type Redis } from "ioredis"
import * as net from "node:net"
import * as tls from "node:tls"
import * as ServerSilence from "./ServerSilence.ts"

/** Error codes of a failed name lookup. */
const UNKNOWN_HOST = new Set(["ENOTFOUND", "EAI_AGAIN", "EAI_NONAME", "EAI_FAIL"])

/** Certificate and TLS protocol error codes (OpenSSL verification and Node's own). */
const isTlsError = (code: string, message: string): boolean =>
  /CERT|SELF_SIGNED|UNABLE_TO_(GET|VERIFY)|ERR_TLS|ERR_SSL|EPROTO/.test(code) ||
  /certificate|SSL routines|TLS|handshake/i.test(message)

const codeOf = (cause: unknown): string =>
  typeof cause === "object" && cause !== null && "code" in cause && typeof cause.code === "string" ? cause.code : ""

const messageOf = (cause: unknown): string => (cause instanceof Error ? cause.message : String(cause))

/**
 * A short description of a connection failure that names its cause, e.g.
 * `unknown host (getaddrinfo ENOTFOUND cache.invalid)`.
 *
 * @example
 * ```ts
 * import { ConnectionHealth } from "@dogpile-effect/redis"
 * ConnectionHealth.describe(Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:1"), { code: "ECONNREFUSED" }))
 * // "connection refused (connect ECONNREFUSED 127.0.0.1:1)"
 * ```
 *
 * @category errors
 * @since 0.1.0
 */
export const describe = (cause: unknown): string => {
  const code = codeOf(cause)
  const message = messageOf(cause)
  if (UNKNOWN_HOST.has(code)) return `unknown host (${message})`
  if (code === "ECONNREFUSED") return `connection refused (${message})`
  if (code === "ETIMEDOUT") return `connection timed out (${message})`
  if (code === "ECONNRESET") return `connection reset by the server (${message})`
  if (/WRONGPASS|NOAUTH|NOPERM|invalid password|invalid username/i.test(message)) {
    return `authentication failed (${message})`
  }
  if (isTlsError(code, message)) return `TLS handshake failed (${message})`
  return message
}

/** ioredis messages that only say "not connected", without the cause. */
const NOT_CONNECTED = [
  "Stream isn't writeable",
  "Connection is closed",
  "Cluster isn't ready",
  "None of startup nodes is available",
  "Failed to refresh slots cache"
]

/**
 * Whether an ioredis error only says the connection is down (the cause is in
 * the last connection error).
 *
 * @category errors
 * @since 0.1.0
 */
export const isNotConnected = (message: string): boolean => NOT_CONNECTED.some((text) => message.includes(text))

/** A SELECT refused by the server: the database index does not exist there. */
const isSelectError = (cause: unknown): boolean =>
  /DB index is out of range|invalid DB index/i.test(messageOf(cause))

/**
 * The live view of one connection's failures.
 *
 * @category models
 * @since 0.1.0
 */
export interface Health {
  /** The last connection failure since the connection was last ready, described. */
  readonly lastError: () => string | undefined
  /** The server's refusal of the configured database index, while it holds. */
  readonly dbRefused: () => string | undefined
  /** Whether the server is known silent (standalone only), reset at each reconnection. */
  readonly silence: ServerSilence.ServerSilence
  /** Removes the listeners (for a client the caller keeps using). */
  readonly unwatch: () => void
}

/**
 * Watches a client's events. Also silences ioredis' own console output of
 * connection errors (they surface through {@link Health} instead). `silence`
 * (default: never silent) is reset whenever the connection becomes ready.
 *
 * @category constructors
 * @since 0.1.0
 */
export const watch = (client: Redis | Cluster, silence: ServerSilence.ServerSilence = ServerSilence.never): Health => {
  let lastError: string | undefined
  let dbRefused: string | undefined
  let selectFailed = false
  const onError = (cause: unknown) => {
    if (isSelectError(cause)) {
      selectFailed = true
      dbRefused = messageOf(cause)
    } else {
      lastError = describe(cause)
    }
  }
  const onConnect = () => {
    selectFailed = false
  }
  const onReady = () => {
    silence.reset()
    lastError = undefined
    if (!selectFailed) dbRefused = undefined
  }
  client.on("error", onError)
  // A Cluster reports the failures of its node connections separately.
  client.on("node error", onError)
  client.on("connect", onConnect)
  client.on("ready", onReady)
  const unwatch = () => {
    client.off("error", onError)
    client.off("node error", onError)
    client.off("connect", onConnect)
    client.off("ready", onReady)
  }
  return { lastError: () => lastError, dbRefused: () => dbRefused, silence, unwatch }
}

/** What ioredis hands a connector: the connection options of one node. */
interface ConnectorOptions {
  readonly host?: string
  readonly port?: number
  readonly family?: number
  readonly path?: string
  readonly tls?: tls.ConnectionOptions
  readonly disconnectTimeout?: number
}

const noop = () => {}

/**
 * ioredis' standalone connector, except that every socket keeps an `error`
 * listener for its whole life. ioredis listens with `once`, so a second error
 * on one socket (a TLS alert after a failed handshake, a reset while closing)
 * would otherwise be an unhandled `error` event, which ends the process.
 *
 * @example
 * ```ts
 * import { ConnectionHealth } from "@dogpile-effect/redis"
 * import { Redis } from "ioredis"
 * const client = new Redis({ port: 6379, Connector: ConnectionHealth.GuardedConnector, lazyConnect: true })
 * ```
 *
 * @category constructors
 * @since 0.1.0
 */
export class GuardedConnector extends AbstractConnector {
  private readonly settings: ConnectorOptions
  constructor(options: unknown) {
    const settings = (typeof options === "object" && options !== null ? options : {}) as ConnectorOptions
    super(settings.disconnectTimeout ?? 2_000)
    this.settings = settings
  }

  connect(): Promise<net.Socket> {
    const { settings } = this
    this.connecting = true
    return new Promise((resolve, reject) => {
      process.nextTick(() => {
        if (!this.connecting) return reject(new Error("Connection is closed."))
        let stream: net.Socket
        try {
          stream = settings.path !== undefined
            ? net.createConnection({ path: settings.path })
            : settings.tls !== undefined
            ? tls.connect({ ...hostOptions(settings), ...settings.tls })
            : net.createConnection(hostOptions(settings))
        } catch (error) {
          return reject(error)
        }
        this.stream = stream
        stream.on("error", noop)
        stream.once("error", (error: Error) => {
          this.firstError = error
        })
        resolve(stream)
      })
    })
  }
}

const hostOptions = (settings: ConnectorOptions): net.TcpNetConnectOpts => ({
  port: settings.port ?? 6379,
  ...(settings.host === undefined ? {} : { host: settings.host }),
  ...(settings.family === undefined ? {} : { family: settings.family })
})
