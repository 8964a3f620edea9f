/**
 * The test projects, one per package. vitest 5 no longer reads this file on its
 * own; `vitest.config.ts` imports it as `test.projects`.
 */
const sourceCondition = "@dogpile-effect/source"

const project = (name: string, globalSetup?: string) => ({
  extends: true as const,
  test: {
    name,
    root: `./packages/${name}`,
    include: ["test/**/*.test.ts"],
    ...(globalSetup === undefined ? {} : { globalSetup: [globalSetup] })
  }
})

/** Starts a redis-server (or uses REDIS_URL) and provides its URL as `inject("redisUrl")`. */
const redisGlobalSetup = "../../test-support/redis-global-setup.ts"

export const projects = [
  project("core"),
  project("codecs"),
  project("redis", redisGlobalSetup),
  project("node-redis", redisGlobalSetup),
  project("hstore", redisGlobalSetup),
  project("python", redisGlobalSetup),
  project("cli", redisGlobalSetup),
  // The docs (tools/docs/): links of the markdown and of the generated API reference, ts blocks typechecked.
  { extends: true as const, test: { name: "docs", root: "./tools/docs", include: ["test/**/*.test.ts"] } },
  // The demo (demo/): a small-scale run of every strategy.
  { extends: true as const, test: { name: "demo", root: "./demo", include: ["test/**/*.test.ts"], globalSetup: ["../test-support/redis-global-setup.ts"] } }
]

export const conditions = [sourceCondition]
