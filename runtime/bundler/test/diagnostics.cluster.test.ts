// What a failed build says: the real load error of a bundle, tsc's message for a type error.
import { existsSync } from 'node:fs'
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, relative } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { PROJECT_ROOT, tempProjectDir, type TempProjectDir } from '../../../test/kit/index.ts'
import { buildFunctionBundle, hashFunctionSources } from '../index.ts'
import { meaningfulLines } from '../build.ts'

let out: string

/** The error a build fails with (a build that succeeds fails the test). */
async function failureOf(build: Promise<unknown>): Promise<Error & { code: string; statusCode: number }> {
  try {
    await build
  } catch (error) {
    return error as Error & { code: string; statusCode: number }
  }
  throw new Error('The build succeeded')
}
let project: TempProjectDir

beforeAll(async () => {
  out = await mkdtemp(join(tmpdir(), 'ktrdr-build-diag-'))
  project = await tempProjectDir('diag-')
})
afterAll(async () => {
  await rm(out, { recursive: true, force: true })
  await project?.cleanup()
})

describe('a bundle that fails to load', () => {
  it("shows the function's own error, not `Command failed: node …/index.mjs`", async () => {
    const error = await failureOf(
      buildFunctionBundle(join(import.meta.dirname, 'fixtures', 'throws-on-load'), { outDir: join(out, 'throws'), sourceCommit: null }),
    )
    expect(error).toMatchObject({ code: 'BUNDLE_IMPORT_FAILED', statusCode: 422 })
    expect(error.message).toContain('throws-on-load fixture exploded while loading')
    expect(error.message).not.toContain('Command failed')
    expect(error.message).not.toMatch(/node:internal|Node\.js v\d/)
  })

  it("keeps the error and where it was thrown from Node's report, not its internal frames and version", () => {
    const report = [
      'file:///b/server/chunks/index.mjs:12',
      "    throw new Error('boom')",
      '    ^',
      '',
      'Error: boom',
      '    at file:///b/server/chunks/index.mjs:12:11',
      '    at ModuleJob.run (node:internal/modules/esm/module_job:271:25)',
      '    at async onImport.tracePromise.__proto__ (node:internal/modules/esm/loader:547:26)',
      '',
      'Node.js v20.19.0',
    ].join('\n')
    expect(meaningfulLines(report)).toEqual([
      'file:///b/server/chunks/index.mjs:12',
      "    throw new Error('boom')",
      '    ^',
      'Error: boom',
      '    at file:///b/server/chunks/index.mjs:12:11',
    ])
  })
})

describe('the type check before a build', () => {
  it("fails the build with tsc's message before Nitro runs, and is skipped when not asked for", async () => {
    const fnDir = join(project.dir, 'typo-fn')
    await mkdir(fnDir)
    await writeFile(
      join(fnDir, 'index.ts'),
      [
        "import { z } from 'zod'",
        `import { defineFunction } from '${relative(fnDir, join(PROJECT_ROOT, 'runtime', 'function', 'index.ts'))}'`,
        '',
        'export default defineFunction({',
        "  name: 'typo-fn',",
        "  description: 'A function with a type error',",
        '  input: z.object({ n: z.number() }),',
        '  async run(input) {',
        '    const doubled: number = `${input.n * 2}`',
        '    return { doubled }',
        '  },',
        '})',
        '',
      ].join('\n'),
    )
    const outDir = join(out, 'typo')
    const error = await failureOf(buildFunctionBundle(fnDir, { outDir, sourceCommit: null, typecheck: true }))
    expect(error).toMatchObject({ code: 'FUNCTION_TYPECHECK_FAILED', statusCode: 422 })
    expect(error.message).toMatch(/typo-fn\/index\.ts\(9,11\): error TS2322: Type 'string' is not assignable to type 'number'/)
    expect(error.message).toContain('1 error')
    // Nothing was built: no archive, no Nitro output.
    expect(existsSync(join(outDir, 'typo-fn'))).toBe(false)

    // Without the check it builds (types are erased), and the manifest records what it was built from.
    const built = await buildFunctionBundle(fnDir, { outDir, sourceCommit: null })
    expect(built).toMatchObject({ name: 'typo-fn', typecheckMs: null })
    expect(built.manifest.source_sha256).toBe((await hashFunctionSources(fnDir)).sha256)
  })
})
