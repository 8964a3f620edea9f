/**
 * Parsing of `redis://` and `rediss://` URLs into endpoints, with typed
 * errors that never repeat the URL (it may carry a password).
 *
 * @since 0.2.0
 */
import { InvalidOptionError } from "@dogpile-effect/core"
import { Effect, Redacted } from "effect"

/**
 * One server named by a URL. The password stays `Redacted`.
 *
 * @category models
 * @since 0.2.0
 */
export interface Endpoint {
  readonly host: string
  readonly port: number
  readonly tls: boolean
  readonly username: string | undefined
  readonly password: Redacted.Redacted<string> | undefined
  /** The database index of the URL's path (`/3`), when it has one. */
  readonly db: number | undefined
}

/** The largest database index Redis accepts (`databases` is a signed 32-bit setting). */
const MAX_DB = 2 ** 31 - 1

const COMPONENT = "RedisClient"

const invalid = (reason: string) => Effect.fail(new InvalidOptionError({ component: COMPONENT, option: "url", reason }))

/** Percent-decoding that reports malformed input instead of throwing (the text is never echoed). */
const decode = (text: string): string | undefined => {
  try {
    return decodeURIComponent(text)
  } catch {
    return undefined
  }
}

/** `new URL` without its `TypeError`, whose `input` property would carry the password. */
const toUrl = (raw: string): URL | undefined => {
  try {
    return new URL(raw)
  } catch {
    return undefined
  }
}

const parseDb = (pathname: string): Effect.Effect<number | undefined, InvalidOptionError> => {
  const path = pathname.replace(/^\//, "")
  if (path.length === 0) return Effect.succeed(undefined)
  if (!/^\d{1,10}$/.test(path) || Number(path) > MAX_DB) {
    return invalid(`path must be a database number (0 to ${MAX_DB}), as in redis://host:6379/0`)
  }
  return Effect.succeed(Number(path))
}

/**
 * Parses one `redis://[user[:password]@]host[:port][/db]` (or `rediss://`)
 * URL. Fails with {@link InvalidOptionError} (option `url`) for a missing or
 * unsupported scheme, an unparsable URL, a bad port, database path or
 * percent-encoding, or a query string; the message names the problem but
 * never the URL, so a password cannot leak into it.
 *
 * @example
 * ```ts
 * import { RedisUrl } from "@dogpile-effect/redis"
 * import { Effect } from "effect"
 * const endpoint = Effect.runSync(RedisUrl.parse("rediss://cache.internal:6380/2"))
 * endpoint.db // 2
 * ```
 *
 * @category parsing
 * @since 0.2.0
 */
export const parse = (raw: string): Effect.Effect<Endpoint, InvalidOptionError> =>
  Effect.gen(function*() {
    const text = raw.trim()
    if (text.length === 0) return yield* invalid("must not be empty")
    const scheme = /^([A-Za-z][A-Za-z0-9+.-]*):\/\//.exec(text)
    if (scheme === null) return yield* invalid("has no scheme: it must start with redis:// or rediss://")
    const protocol = `${(scheme[1] as string).toLowerCase()}:`
    if (protocol !== "redis:" && protocol !== "rediss:") {
      return yield* invalid(`has the unsupported scheme ${JSON.stringify(protocol)}: use redis:// or rediss://`)
    }
    const url = toUrl(text)
    if (url === undefined) return yield* invalid("is not a valid URL (its text is not repeated here: it may hold a password)")
    if (url.search.length > 0 || url.hash.length > 0) {
      return yield* invalid("must not have a query string or fragment: pass settings as options")
    }
    const port = url.port.length === 0 ? 6379 : Number(url.port)
    if (port === 0) return yield* invalid("port must be between 1 and 65535")
    const username = url.username.length === 0 ? undefined : decode(url.username)
    const password = url.password.length === 0 ? undefined : decode(url.password)
    if ((url.username.length > 0 && username === undefined) || (url.password.length > 0 && password === undefined)) {
      return yield* invalid("has malformed percent-encoding in its user or password")
    }
    const db = yield* parseDb(url.pathname)
    return {
      host: url.hostname.length === 0 ? "127.0.0.1" : url.hostname.replace(/^\[|\]$/g, ""),
      port,
      tls: protocol === "rediss:",
      username,
      password: password === undefined ? undefined : Redacted.make(password),
      db
    }
  })

/**
 * Parses a comma-separated list of URLs (Cluster startup nodes).
 *
 * @example
 * ```ts
 * import { RedisUrl } from "@dogpile-effect/redis"
 * import { Effect } from "effect"
 * Effect.runSync(RedisUrl.parseList("redis://10.0.0.1:7000,redis://10.0.0.2:7000")).length // 2
 * ```
 *
 * @category parsing
 * @since 0.2.0
 */
export const parseList = (raw: string): Effect.Effect<ReadonlyArray<Endpoint>, InvalidOptionError> =>
  Effect.forEach(raw.split(","), parse)
