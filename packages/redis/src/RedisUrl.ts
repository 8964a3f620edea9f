/**
 * Parsing of `redis://` and `rediss://` URLs into endpoints, with typed
 * errors that never repeat the URL (it may carry a password).
 *
 * @since 0.1.0
 */
import { InvalidOptionError } from "@dogpile-effect/core"
import { Effect, Redacted } from "effect"

/**
 * One server named by a URL. The password stays `Redacted`.
 *
 * @category models
 * @since 0.1.0
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
 * @since 0.1.0
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
 * @since 0.1.0
 */
export const parseList = (raw: string): Effect.Effect<ReadonlyArray<Endpoint>, InvalidOptionError> =>
  Effect.forEach(raw.split(","), parse)

/**
 * A Sentinel deployment named by a `redis+sentinel://` URL: the Sentinels to
 * ask, the master group's name, and the credentials and database of the data
 * nodes (the primary it names). The password stays `Redacted`.
 *
 * @category models
 * @since 0.1.0
 */
export interface SentinelEndpoint {
  readonly sentinels: ReadonlyArray<{ readonly host: string; readonly port: number }>
  readonly name: string
  readonly tls: boolean
  readonly username: string | undefined
  readonly password: Redacted.Redacted<string> | undefined
  readonly db: number | undefined
}

const SENTINEL_SCHEME = /^(rediss?)\+sentinel:\/\//i

/** The port Sentinels listen on by default. */
const SENTINEL_PORT = 26379

/**
 * Whether `raw` is a `redis+sentinel://` (or `rediss+sentinel://`) URL.
 *
 * @example
 * ```ts
 * import { RedisUrl } from "@dogpile-effect/redis"
 * RedisUrl.isSentinel("redis+sentinel://10.0.0.1:26379/mymaster") // true
 * ```
 *
 * @category predicates
 * @since 0.1.0
 */
export const isSentinel = (raw: string): boolean => SENTINEL_SCHEME.test(raw.trim())

const sentinelNode = (text: string): { readonly host: string; readonly port: number } | undefined => {
  const match = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._-]+)(?::(\d{1,5}))?$/.exec(text)
  if (match === null) return undefined
  const port = match[2] === undefined ? SENTINEL_PORT : Number(match[2])
  if (port < 1 || port > 65535) return undefined
  return { host: (match[1] as string).replace(/^\[|\]$/g, ""), port }
}

/**
 * Parses `redis+sentinel://[user[:password]@]host[:port][,host[:port]…]/name[/db]`
 * (Sentinels on port 26379 unless given; `rediss+sentinel://` for TLS to the
 * data nodes). The user and password are the data nodes'; a Sentinel's own
 * password is the `sentinel.password` option. Errors never repeat the URL.
 *
 * @example
 * ```ts
 * import { RedisUrl } from "@dogpile-effect/redis"
 * import { Effect } from "effect"
 * const endpoint = Effect.runSync(RedisUrl.parseSentinel("redis+sentinel://:secret@10.0.0.1,10.0.0.2:26380/mymaster/2"))
 * endpoint.sentinels // [{ host: "10.0.0.1", port: 26379 }, { host: "10.0.0.2", port: 26380 }]
 * endpoint.name // "mymaster"; endpoint.db // 2
 * ```
 *
 * @category parsing
 * @since 0.1.0
 */
export const parseSentinel = (raw: string): Effect.Effect<SentinelEndpoint, InvalidOptionError> =>
  Effect.gen(function*() {
    const text = raw.trim()
    const scheme = SENTINEL_SCHEME.exec(text)
    if (scheme === null) return yield* invalid("is not a redis+sentinel:// URL")
    const rest = text.slice(scheme[0].length)
    if (/[?#]/.test(rest)) return yield* invalid("must not have a query string or fragment: pass settings as options")
    const slash = rest.indexOf("/")
    const authority = slash === -1 ? rest : rest.slice(0, slash)
    const path = slash === -1 ? "" : rest.slice(slash + 1)
    const at = authority.lastIndexOf("@")
    const userinfo = at === -1 ? undefined : authority.slice(0, at)
    const hosts = (at === -1 ? authority : authority.slice(at + 1)).split(",")
    const sentinels = hosts.map(sentinelNode)
    if (hosts.length === 0 || sentinels.some((node) => node === undefined)) {
      return yield* invalid("must list Sentinels as host[:port], separated by commas, as in redis+sentinel://10.0.0.1:26379,10.0.0.2:26379/mymaster")
    }
    const [name, db, ...extra] = path.split("/")
    if (name === undefined || name.length === 0 || extra.length > 0) {
      return yield* invalid("path must be the master group's name, optionally followed by a database number: /mymaster or /mymaster/0")
    }
    const decodedName = decode(name)
    if (decodedName === undefined || /\s/.test(decodedName)) return yield* invalid("the master group's name is malformed")
    const colon = userinfo === undefined ? -1 : userinfo.indexOf(":")
    const rawUser = userinfo === undefined ? "" : colon === -1 ? userinfo : userinfo.slice(0, colon)
    const rawPassword = userinfo === undefined || colon === -1 ? "" : userinfo.slice(colon + 1)
    const username = rawUser.length === 0 ? undefined : decode(rawUser)
    const password = rawPassword.length === 0 ? undefined : decode(rawPassword)
    if ((rawUser.length > 0 && username === undefined) || (rawPassword.length > 0 && password === undefined)) {
      return yield* invalid("has malformed percent-encoding in its user or password")
    }
    return {
      sentinels: sentinels as ReadonlyArray<{ readonly host: string; readonly port: number }>,
      name: decodedName,
      tls: (scheme[1] as string).toLowerCase() === "rediss",
      username,
      password: password === undefined ? undefined : Redacted.make(password),
      db: yield* parseDb(db === undefined ? "" : db)
    }
  })
