/**
 * Runs the `dogpile` bin as an operator runs it (tsx, from the repository
 * root, the workspace sources), for the CLI's tests.
 */
import { execFile } from "node:child_process"
import { fileURLToPath } from "node:url"

/** The repository root. */
export const root = fileURLToPath(new URL("../../../", import.meta.url))

/** A finished run of the bin. */
export interface Ran {
  readonly code: number
  readonly stdout: string
  readonly stderr: string
}

/**
 * Runs `dogpile ...args` with `env` (REDIS_URL unset unless given) and
 * resolves with its exit code and output (never rejects on a non-zero exit).
 */
export const runDogpile = (args: ReadonlyArray<string>, env: Record<string, string>): Promise<Ran> =>
  new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      ["--import", "tsx", "--conditions=@dogpile-effect/source", "packages/cli/src/bin.ts", ...args],
      { cwd: root, env: { ...process.env, REDIS_URL: "", ...env }, timeout: 60_000 },
      (error, stdout, stderr) => {
        if (error !== null && typeof error.code !== "number") return reject(error)
        resolve({ code: error === null ? 0 : Number(error.code), stdout, stderr })
      }
    )
  })
