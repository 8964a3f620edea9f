import "./test-support/node20.ts"
import { defineConfig } from "vitest/config"
import { conditions, projects } from "./vitest.workspace.ts"

export default defineConfig({
  resolve: { conditions: [...conditions, "import", "module", "node", "default"] },
  ssr: { resolve: { conditions: [...conditions, "import", "module", "node", "default"] } },
  test: {
    projects,
    // .ci/run sets DOGPILE_TEST_REPORT to collect a JSON report for its summary line.
    reporters: process.env["DOGPILE_TEST_REPORT"] === undefined ? ["default"] : ["default", "json"],
    ...(process.env["DOGPILE_TEST_REPORT"] === undefined ? {} : { outputFile: { json: process.env["DOGPILE_TEST_REPORT"] } }),
    testTimeout: 30_000,
    hookTimeout: 60_000
  }
})
