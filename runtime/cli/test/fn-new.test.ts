// `ktrdr fn new` → `fn build` → the generated test, for every template; `fn deploy` and
// `fn describe` on what it made. A real CLI process, a real gateway and registry.
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  KTRDR_BIN,
  PROJECT_ROOT,
  startNode,
  startRealGateway,
  tempProjectDir,
  type RealGateway,
  type TempProjectDir,
} from '../../../test/kit/index.ts'
import { FUNCTION_TEMPLATES } from '../_templates.ts'

const VITEST = join(PROJECT_ROOT, 'node_modules', 'vitest', 'vitest.mjs')
let g: RealGateway
let dir: string
let project: TempProjectDir

const run = (file: string, args: string[], env: Record<string, string> = {}) =>
  startNode(file, args, { url: g.url, env, timeoutMs: 240_000 }).done
const ktrdr = (...args: string[]) => run(KTRDR_BIN, args)

beforeAll(async () => {
  project = await tempProjectDir('fn-new-')
  g = await startRealGateway()
  dir = g.dir
})
afterAll(async () => {
  await g?.close()
  await project?.cleanup()
})

describe('ktrdr fn new', () => {
  it.each(FUNCTION_TEMPLATES)(
    '--template %s: builds (type check included) and passes its own test as generated',
    async (template) => {
      const name = `new-${template}`
      const created = await ktrdr('fn', 'new', name, '--template', template, '--dir', project.dir)
      expect(created.stderr).toBe('')
      expect(created.code).toBe(0)
      const fnDir = join(project.dir, name)
      expect(created.stdout).toContain(`(template ${template})`)
      expect(await readFile(join(fnDir, 'index.ts'), 'utf8')).toContain(`name: '${name}'`)
      expect(await readFile(join(fnDir, 'README.md'), 'utf8')).toMatch(new RegExp(`^# ${name}\\n\\n.+npx ktrdr fn deploy `))

      const build = await ktrdr('fn', 'build', fnDir, '--out', join(dir, 'build'), '--json')
      expect(build.stderr).toBe('')
      const built = JSON.parse(build.stdout)
      expect(built).toMatchObject({ name, typecheckMs: expect.any(Number), manifest: { name, source_sha256: expect.any(String) } })

      // Its own test, run the way a function's tests run (vitest, in-process through runFunctionInProcess).
      const test = await run(VITEST, ['run', '--root', fnDir], { NO_COLOR: '1', FORCE_COLOR: '0' })
      expect(test.stdout + test.stderr).toMatch(/Tests\s+\d+ passed/)
      expect(test.code).toBe(0)
    },
    300_000,
  )

  it('refuses a bad name, an existing folder and a folder outside the project, saying which', async () => {
    const badName = await ktrdr('fn', 'new', 'Bad_Name', '--dir', project.dir)
    expect(badName.code).not.toBe(0)
    expect(badName.stderr).toContain('"Bad_Name" is not a function name')
    await ktrdr('fn', 'new', 'twice', '--dir', project.dir)
    const twice = await ktrdr('fn', 'new', 'twice', '--dir', project.dir)
    expect(twice.code).not.toBe(0)
    expect(twice.stderr).toMatch(/twice already exists/)
    const outside = await ktrdr('fn', 'new', 'elsewhere', '--dir', dir)
    expect(outside.code).not.toBe(0)
    expect(outside.stderr).toContain('is outside the project')
    const template = await ktrdr('fn', 'new', 'tpl', '--template', 'cron', '--dir', project.dir)
    expect(template.stderr).toContain('--template must be one of echo, job, stream, got "cron"')
  }, 120_000)
})

describe('ktrdr fn deploy / describe on a new function', () => {
  it('deploys once, says "up to date" after, and describes input, placement, versions and aliases', async () => {
    const fnDir = join(project.dir, 'described')
    expect((await ktrdr('fn', 'new', 'described', '--template', 'job', '--dir', project.dir)).code).toBe(0)
    const deploy = await ktrdr('fn', 'deploy', fnDir, '--no-typecheck')
    expect(deploy.stderr).toBe('')
    expect(deploy.stdout).toMatch(/^deployed described@1 /)
    const again = await ktrdr('fn', 'deploy', fnDir)
    expect(again.stdout).toMatch(/^described@1 is up to date: latest was built from these sources .* nothing built/)
    await ktrdr('fn', 'alias', 'described', 'stable', '1')

    const json = await ktrdr('fn', 'describe', 'described', '--json')
    expect(json.stderr).toBe('')
    const view = JSON.parse(json.stdout)
    expect(view).toMatchObject({
      name: 'described',
      version: 1,
      placement: {},
      storage: { results: { access: 'write', prefixes: ['described:'] } },
      input_schema: { type: 'object', properties: { steps: { type: 'integer', default: 10 }, step_ms: { type: 'integer' } } },
      versions: [{ version: 1, aliases: ['latest', 'stable'], source_sha256: expect.stringMatching(/^[0-9a-f]{64}$/) }],
    })
    expect(view.aliases.map((a: { alias: string }) => a.alias).sort()).toEqual(['latest', 'stable'])

    const text = await ktrdr('fn', 'describe', 'described@stable')
    expect(text.stdout).toMatch(/^described@1 {2}A long job/)
    expect(text.stdout).toMatch(/placement\s+any host/)
    expect(text.stdout).toMatch(/storage\s+results write \(described:\)/)
    expect(text.stdout).toMatch(/\n\s+steps\s+integer\s+no\s+10\s+≥ 1, ≤ 100000\n/)
    expect(text.stdout).toMatch(/\n\s+1\s+[0-9a-f]{12}\s+[0-9a-f]{12}\s+.*latest,stable/)

    const missing = await ktrdr('fn', 'describe', 'described@9')
    expect(missing.stderr).toContain('described has no version 9 (versions: 1)')
    const unknown = await ktrdr('fn', 'describe', 'nobody')
    expect(unknown.stderr).toContain('No function "nobody" has been published')
  }, 300_000)
})
