/**
 * The test projects, one per package. vitest 5 no longer reads this file on its
 * own; `vitest.config.ts` imports it as `test.projects`.
 */
const sourceCondition = "@dogpile-effect/source"

const project = (name: string) => ({
  extends: true as const,
  test: {
    name,
    root: `./packages/${name}`,
    include: ["test/**/*.test.ts"]
  }
})

export const projects = [project("core"), project("codecs"), project("redis"), project("hstore")]

export const conditions = [sourceCondition]
