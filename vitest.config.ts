import { defineConfig } from "vitest/config"
import { conditions, projects } from "./vitest.workspace.ts"

export default defineConfig({
  resolve: { conditions: [...conditions, "import", "module", "node", "default"] },
  ssr: { resolve: { conditions: [...conditions, "import", "module", "node", "default"] } },
  test: {
    projects,
    testTimeout: 30_000,
    hookTimeout: 60_000
  }
})
