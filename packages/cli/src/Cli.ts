/**
 * The whole `dogpile` command, and the program the `dogpile` bin runs: it
 * parses the arguments, runs the subcommand, prints a failure as one line on
 * stderr and ends with the exit code of {@link Failure.ExitCode}.
 *
 * @since 0.1.0
 */
import { Console, Effect, Layer, References, Schema } from "effect"
import { CliError, CliOutput, Command } from "effect/cli"
import { readFileSync } from "node:fs"
import * as Commands from "./Commands.ts"
import * as Failure from "./Failure.ts"
import * as Root from "./Root.ts"

const PackageJson = Schema.fromJsonString(Schema.Struct({ version: Schema.String }))

/**
 * The CLI's version, printed by `--version`: the `version` of the package's
 * own `package.json` (next to `src/` and `dist/`, so it is read the same from
 * the sources and from an installed package), never a copy that could drift.
 *
 * @example
 * ```ts
 * import { Cli } from "@dogpile-effect/cli"
 * Cli.VERSION // "0.1.0", as in @dogpile-effect/cli/package.json
 * ```
 *
 * @category constants
 * @since 0.1.0
 */
export const VERSION: string =
  Schema.decodeUnknownSync(PackageJson)(readFileSync(new URL("../package.json", import.meta.url), "utf8")).version

/**
 * `dogpile` with its subcommands.
 *
 * @example
 * ```ts
 * import { Cli } from "@dogpile-effect/cli"
 * Cli.command.name // "dogpile"
 * ```
 *
 * @category commands
 * @since 0.1.0
 */
export const command = Root.command.pipe(
  Command.withSubcommands([
    Commands.inspect,
    Commands.get,
    Commands.remove,
    Commands.invalidate,
    Commands.invalidateTags,
    Commands.lock,
    Commands.stats
  ])
)

/** Usage errors as one line on stderr; help and version as usual. */
const presenter = CliOutput.layerPresenter({
  present: (event) =>
    event._tag === "InvalidInvocation"
      ? Console.error(
        Failure.scrub(
          `dogpile: ${event.errors.map((error) => error.message).join("; ")} (see: ${event.commandPath.join(" ")} --help)`,
          []
        )
      )
      : CliOutput.defaultPresenter.present(event)
})

/** The exit code of a failure, after printing its line (usage errors were printed by the presenter). */
const report = (error: unknown): Effect.Effect<number> => {
  if (CliError.isCliError(error)) {
    return Effect.succeed(error._tag === "ShowHelp" && error.errors.length === 0 ? Failure.ExitCode.ok : Failure.ExitCode.usage)
  }
  const failure = Failure.fromError(error, [])
  return Effect.as(Console.error(`dogpile: ${failure.reason}`), failure.exitCode)
}

/**
 * Runs `dogpile` on the arguments of the `Stdio` service and returns its
 * exit code: 0 done, 1 not found, 2 usage or configuration error, 3 Redis
 * error (70: a defect, i.e. a bug). Logs below `Error` are silenced unless `--log-level` asks for them
 * (the Redis client warns while it cannot connect; the command's one-line
 * error says the same).
 *
 * @example
 * ```ts
 * import { Cli } from "@dogpile-effect/cli"
 * import { NodeRuntime, NodeServices } from "@effect/platform-node"
 * import { Effect } from "effect"
 *
 * Cli.main.pipe(
 *   Effect.flatMap((code) => Effect.sync(() => { process.exitCode = code })),
 *   Effect.provide(NodeServices.layer),
 *   NodeRuntime.runMain
 * )
 * ```
 *
 * @category running
 * @since 0.1.0
 */
export const main: Effect.Effect<number, never, Command.Environment> = Command.run(command, { version: VERSION }).pipe(
  Effect.as(Failure.ExitCode.ok as number),
  Effect.catch(report),
  Effect.catchDefect((defect) =>
    Effect.as(Console.error(`dogpile: internal error: ${Failure.fromError(defect, []).reason}`), Failure.ExitCode.internal)
  ),
  Effect.provide(Layer.mergeAll(presenter, Layer.succeed(References.MinimumLogLevel, "Error")))
)
