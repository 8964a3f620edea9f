/**
 * Certificates for the TLS tests, generated with the `openssl` binary into a
 * temporary directory: a self-signed CA and a server certificate it signs for
 * `127.0.0.1` / `localhost`. Nothing leaves the machine.
 */
import { execFile } from "node:child_process"
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { promisify } from "node:util"

const execFileAsync = promisify(execFile)
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
