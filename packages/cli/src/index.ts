/**
 * @dogpile-effect/cli: `dogpile`, an operator's command line for
 * dogpile-effect regions in Redis. The modules behind it are exported for
 * programs that want the same commands or reports.
 *
 * @since 0.1.0
 */
export * as Cli from "./Cli.ts"
export * as Commands from "./Commands.ts"
export * as Connect from "./Connect.ts"
export * as Failure from "./Failure.ts"
export * as Layout from "./Layout.ts"
export * as RecordedLayout from "./RecordedLayout.ts"
export * as Render from "./Render.ts"
export * as Root from "./Root.ts"
export * as Stats from "./Stats.ts"
export * as TlsProbe from "./TlsProbe.ts"
