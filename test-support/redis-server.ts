/**
 * Real Redis servers for the tests: one shared server per test project (see
 * `redis-global-setup.ts`), plus extra servers and a local 3-master Redis
 * Cluster that individual tests start lazily and always stop.
 *
 * Every server runs from the installed `redis-server` binary on a free
 * loopback port, without persistence (`--save "" --appendonly no`), in its own
 * temporary directory that is removed when it stops.
 */
import { type ChildProcess, execFile, spawn } from "node:child_process"
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises"
import * as net from "node:net"
import * as tls from "node:tls"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { promisify } from "node:util"

declare module "vitest" {
  interface ProvidedContext {
    /** The URL of the project's shared Redis server (`redis://127.0.0.1:PORT`). */
    redisUrl: string
  }
}

const execFileAsync = promisify(execFile)

const REDIS_SERVER = process.env["REDIS_SERVER_BIN"] ?? "redis-server"
const REDIS_CLI = process.env["REDIS_CLI_BIN"] ?? "redis-cli"

/** Ports handed out by this process, so two helpers never pick the same one. */
const taken = new Set<number>()

const isFree = (port: number): Promise<boolean> =>
  new Promise((resolve) => {
    const server = net.createServer()
    server.once("error", () => resolve(false))
    server.listen(port, "127.0.0.1", () => server.close(() => resolve(true)))
  })

/**
 * A free loopback port. With `clusterBus`, port + 10000 (the cluster bus port)
 * is free too. Ports are drawn at random from 20000–54999 (the bus port stays
 * below 65536) and never reused within one process.
 */
export const freePort = async (options: { readonly clusterBus?: boolean } = {}): Promise<number> => {
  for (let attempt = 0; attempt < 200; attempt++) {
    const port = 20_000 + Math.floor(Math.random() * 35_000)
    if (taken.has(port) || (options.clusterBus === true && taken.has(port + 10_000))) continue
    if (!(await isFree(port))) continue
    if (options.clusterBus === true && !(await isFree(port + 10_000))) continue
    taken.add(port)
    if (options.clusterBus === true) taken.add(port + 10_000)
    return port
  }
  throw new Error("no free loopback port found")
}

/** Sends PING over a raw socket (TLS when `ca` is given); true when the server answers +PONG. */
const ping = (port: number, secure?: tls.ConnectionOptions): Promise<boolean> =>
  new Promise((resolve) => {
    const socket = secure === undefined
      ? net.connect({ port, host: "127.0.0.1" })
      : tls.connect({ port, host: "127.0.0.1", ...secure })
    let answer = ""
    const done = (ok: boolean) => {
      socket.destroy()
      resolve(ok)
    }
    socket.setTimeout(500, () => done(false))
    socket.once("error", () => done(false))
    socket.once(secure === undefined ? "connect" : "secureConnect", () => socket.write("PING\r\n"))
    socket.on("data", (chunk) => {
      answer += chunk.toString("latin1")
      // A password-protected server answers -NOAUTH: it is up all the same.
      if (answer.includes("\r\n")) done(answer.startsWith("+PONG") || answer.startsWith("-NOAUTH"))
    })
  })

const waitFor = async (what: string, check: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> => {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    if (await check()) return
    await new Promise((resolve) => setTimeout(resolve, 25))
  }
  throw new Error(`timed out waiting for ${what}`)
}

/** A running (or stopped, restartable) redis-server child process. */
export interface RedisServer {
  readonly port: number
  readonly url: string
  /** Stops the server (SIGTERM, then SIGKILL after 2 s); the port stays reserved for `start`. */
  readonly stop: () => Promise<void>
  /** Starts it again on the same port, empty (no persistence). */
  readonly start: () => Promise<void>
  /** Stops it and removes its directory. Idempotent. */
  readonly dispose: () => Promise<void>
  /** Sends a signal to the process (e.g. `SIGSTOP` for a silent server, `SIGCONT` to resume). */
  readonly signal: (signal: NodeJS.Signals) => void
  /** SIGKILL, then waits for the process to exit; `start` brings it back on the same port and directory. */
  readonly kill: () => Promise<void>
}

export interface RedisServerOptions {
  readonly port?: number
  /** Extra command-line arguments, e.g. `["--requirepass", "secret"]`. */
  readonly args?: ReadonlyArray<string>
  /**
   * Serve TLS only: `port` becomes the `--tls-port` (plain `--port 0`), and
   * `url` is `rediss://`. Clients need not present a certificate.
   */
  readonly tls?: {
    readonly cert: string
    readonly key: string
    readonly caCert: string
    readonly caPem: string
    /** Require clients to present a certificate signed by the CA (this client's is used for the readiness check). */
    readonly requireClient?: { readonly certPem: string; readonly keyPem: string }
  }
}

const stopChild = (child: ChildProcess): Promise<void> =>
  new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve()
    const kill = setTimeout(() => child.kill("SIGKILL"), 2_000)
    child.once("exit", () => {
      clearTimeout(kill)
      resolve()
    })
    child.kill("SIGTERM")
  })

/**
 * Runs `start` again (it picks new free ports) when a server exits at once: a port found free can be
 * taken by another process (another test file's server, a cluster bus port) before redis-server binds it.
 */
const withFreshPorts = async <A>(start: () => Promise<A>, attempts = 4): Promise<A> => {
  for (let attempt = 1; ; attempt++) {
    try {
      return await start()
    } catch (error) {
      if (attempt >= attempts || !(error instanceof Error && / exited with /.test(error.message))) throw error
    }
  }
}

/**
 * Starts a redis-server on a free loopback port (or `options.port`).
 *
 * @example
 * ```ts
 * const server = await startRedisServer()
 * try { ... server.url ... } finally { await server.dispose() }
 * ```
 */
export const startRedisServer = async (options: RedisServerOptions = {}): Promise<RedisServer> =>
  options.port === undefined
    ? withFreshPorts(() => startRedisServerOnce(options))
    : startRedisServerOnce(options)

const startRedisServerOnce = async (options: RedisServerOptions = {}): Promise<RedisServer> => {
  const port = options.port ?? (await freePort())
  const dir = await mkdtemp(join(tmpdir(), "dogpile-redis-"))
  let child: ChildProcess | undefined
  let disposed = false

  const start = async (): Promise<void> => {
    if (child !== undefined && child.exitCode === null && child.signalCode === null) return
    const listen = options.tls === undefined
      ? ["--port", String(port)]
      : [
        "--port", "0",
        "--tls-port", String(port),
        "--tls-cert-file", options.tls.cert,
        "--tls-key-file", options.tls.key,
        "--tls-ca-cert-file", options.tls.caCert,
        "--tls-auth-clients", options.tls.requireClient === undefined ? "no" : "yes"
      ]
    const spawned = spawn(
      REDIS_SERVER,
      [
        ...listen,
        "--bind", "127.0.0.1",
        "--save", "",
        "--appendonly", "no",
        "--dir", dir,
        "--daemonize", "no",
        "--loglevel", "warning",
        ...(options.args ?? [])
      ],
      { stdio: ["ignore", "ignore", "pipe"] }
    )
    child = spawned
    let failure: Error | undefined
    spawned.once("error", (error) => {
      failure = error
    })
    await waitFor(`redis-server on port ${port}`, async () => {
      if (failure !== undefined) throw failure
      if (spawned.exitCode !== null) throw new Error(`redis-server on port ${port} exited with ${spawned.exitCode}`)
      const secure = options.tls === undefined ? undefined : {
        ca: options.tls.caPem,
        ...(options.tls.requireClient === undefined
          ? {}
          : { cert: options.tls.requireClient.certPem, key: options.tls.requireClient.keyPem })
      }
      return ping(port, secure)
    })
  }
  const stop = async (): Promise<void> => {
    if (child === undefined) return
    // A SIGSTOPped process ignores SIGTERM until it is continued.
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGCONT")
    await stopChild(child)
  }
  const dispose = async (): Promise<void> => {
    if (disposed) return
    disposed = true
    await stop()
    await rm(dir, { recursive: true, force: true })
    taken.delete(port)
  }
  try {
    await start()
  } catch (error) {
    await dispose()
    throw error
  }
  const scheme = options.tls === undefined ? "redis" : "rediss"
  const signal = (name: NodeJS.Signals) => {
    if (child !== undefined && child.exitCode === null && child.signalCode === null) child.kill(name)
  }
  const kill = (): Promise<void> =>
    new Promise((resolve) => {
      const running = child
      if (running === undefined || running.exitCode !== null || running.signalCode !== null) return resolve()
      running.once("exit", () => resolve())
      running.kill("SIGKILL")
    })
  return { port, url: `${scheme}://127.0.0.1:${port}`, stop, start, dispose, signal, kill }
}

/** A local Redis Cluster of masters only, on loopback. */
export interface RedisCluster {
  readonly nodes: ReadonlyArray<{ readonly host: string; readonly port: number }>
  /** The master processes; a killed one restarts on its port with its `nodes-PORT.conf` (`kill`, `start`). */
  readonly servers: ReadonlyArray<RedisServer>
  /** Resolves when every node reports `cluster_state:ok` (after a restart). */
  readonly awaitOk: (timeoutMs?: number) => Promise<void>
  readonly dispose: () => Promise<void>
}

const awaitOk = async (servers: ReadonlyArray<RedisServer>, timeoutMs: number): Promise<void> => {
  for (const server of servers) {
    await waitFor(`cluster_state:ok on ${server.port}`, async () => {
      const info = await execFileAsync(REDIS_CLI, ["-p", String(server.port), "cluster", "info"]).catch(() => undefined)
      return info !== undefined && info.stdout.includes("cluster_state:ok")
    }, timeoutMs)
  }
}

/**
 * Starts `masters` cluster-enabled servers from the same binary, joins them
 * with `redis-cli --cluster create` and waits for `cluster_state:ok` on every
 * node. Takes about a second.
 */
export const startRedisCluster = async (
  masters = 3,
  options: {
    /** `cluster-node-timeout` (default 2 s): longer keeps a SIGSTOPped master from being failed by its peers (CLUSTERDOWN). */
    readonly nodeTimeoutMs?: number
  } = {}
): Promise<RedisCluster> => {
  const servers: Array<RedisServer> = []
  const dispose = async () => {
    await Promise.all(servers.map((server) => server.dispose()))
  }
  try {
    for (let i = 0; i < masters; i++) {
      servers.push(await withFreshPorts(async () => {
        const port = await freePort({ clusterBus: true })
        return startRedisServer({
          port,
          args: ["--cluster-enabled", "yes", "--cluster-config-file", `nodes-${port}.conf`, "--cluster-node-timeout", String(options.nodeTimeoutMs ?? 2000)]
        })
      }))
    }
    await execFileAsync(REDIS_CLI, [
      "--cluster", "create",
      ...servers.map((server) => `127.0.0.1:${server.port}`),
      "--cluster-replicas", "0",
      "--cluster-yes"
    ])
    await awaitOk(servers, 20_000)
  } catch (error) {
    await dispose()
    throw error
  }
  return {
    nodes: servers.map((server) => ({ host: "127.0.0.1", port: server.port })),
    servers,
    awaitOk: (timeoutMs = 20_000) => awaitOk(servers, timeoutMs),
    dispose
  }
}

// ---- TLS certificates ---------------------------------------------------------
// For the TLS tests, generated with the `openssl` binary into a temporary
// directory: a self-signed CA, a server certificate it signs for 127.0.0.1 /
// localhost, a client certificate, and an unrelated CA. Nothing leaves the machine.

const OPENSSL = process.env["OPENSSL_BIN"] ?? "openssl"

/** Files of a generated CA and server certificate; `dispose` removes them. */
export interface TlsFiles {
  readonly dir: string
  readonly caCert: string
  readonly serverCert: string
  readonly serverKey: string
  /** The CA certificate's PEM text (what a client trusts). */
  readonly caPem: string
  /** A client certificate and key (PEM text) signed by the CA, for servers that require one. */
  readonly clientCertPem: string
  readonly clientKeyPem: string
  readonly dispose: () => Promise<void>
}

const openssl = (dir: string, args: ReadonlyArray<string>) => execFileAsync(OPENSSL, [...args], { cwd: dir })

/** A self-signed CA (`ca.crt`, `ca.key`) named `name` in `dir`. */
const makeCa = async (dir: string, name: string): Promise<void> => {
  await openssl(dir, ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", `/CN=${name}`,
    "-keyout", `${name}.key`, "-out", `${name}.crt`])
}

/**
 * Generates a CA and a server certificate signed by it (SAN `IP:127.0.0.1`,
 * `DNS:localhost`), plus an unrelated CA (`otherCaPem`) that a client can
 * wrongly trust to provoke a handshake failure. Needs `openssl` on the PATH.
 */
export const makeTlsFiles = async (): Promise<TlsFiles & { readonly otherCaPem: string }> => {
  const dir = await mkdtemp(join(tmpdir(), "dogpile-tls-"))
  try {
    await makeCa(dir, "ca")
    await makeCa(dir, "other-ca")
    await openssl(dir, ["req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=127.0.0.1",
      "-keyout", "server.key", "-out", "server.csr"])
    await writeFile(join(dir, "san.ext"), "subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    await openssl(dir, ["x509", "-req", "-in", "server.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial",
      "-days", "2", "-extfile", "san.ext", "-out", "server.crt"])
    await openssl(dir, ["req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=client",
      "-keyout", "client.key", "-out", "client.csr"])
    await openssl(dir, ["x509", "-req", "-in", "client.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial",
      "-days", "2", "-out", "client.crt"])
    const caPem = await readFile(join(dir, "ca.crt"), "utf8")
    const otherCaPem = await readFile(join(dir, "other-ca.crt"), "utf8")
    return {
      dir,
      caCert: join(dir, "ca.crt"),
      serverCert: join(dir, "server.crt"),
      serverKey: join(dir, "server.key"),
      caPem,
      otherCaPem,
      clientCertPem: await readFile(join(dir, "client.crt"), "utf8"),
      clientKeyPem: await readFile(join(dir, "client.key"), "utf8"),
      dispose: () => rm(dir, { recursive: true, force: true })
    }
  } catch (error) {
    await rm(dir, { recursive: true, force: true })
    throw error
  }
}
