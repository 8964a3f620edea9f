#!/usr/bin/env node
/**
 * The `dogpile` executable: runs {@link Cli.main} on Node and exits with its code.
 *
 * @since 0.1.0
 */
import { NodeRuntime, NodeServices } from "@effect/platform-node"
import { Effect, Exit, Runtime } from "effect"
import * as Cli from "./Cli.ts"

NodeRuntime.runMain(Cli.main.pipe(Effect.provide(NodeServices.layer)), {
  disableErrorReporting: true,
  teardown: (exit, onExit) =>
    Exit.isSuccess(exit) && typeof exit.value === "number" ? onExit(exit.value) : Runtime.defaultTeardown(exit, onExit)
})
