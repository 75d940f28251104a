// `ktrdr` as a user starts it: from the build `npm ci` compiles into dist/cli/ (scripts/build-cli.mjs),
// importing only the subcommand it runs. Start times are a bench figure (bench/cli.bench.ts), not
// asserted here; what was loaded is.
import { spawn, spawnSync } from 'node:child_process'
import { mkdir, mkdtemp, readFile, rename, rm, stat, utimes, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { compiledCli } from '../../bin/_dist.mjs'
import { REPO } from './_cluster.ts'

const BIN = join(REPO, 'bin', 'ktrdr.mjs')
const RECORDER = join(REPO, 'test', 'cluster', '_record-imports.mjs')
const COMMANDS = ['gateway', 'host', 'up', 'workers', 'ops', 'invoke', 'fn', 'secret', 'data', 'strategy', 'demo']
/** What only a server or a training needs: none of it may load to print help or query the gateway. */
const HEAVY = [
  '/node_modules/@tensorflow/',
  '/node_modules/nitropack/',
  '/node_modules/h3/',
  '/node_modules/db0/',
  '/node_modules/better-sqlite3/',
  // The trading core (strategy YAML, CSV data): the research pack reached it through its `up` hook.
  '/node_modules/yaml/',
  '/node_modules/csv-parse/',
  // The protocol's schemas (225 modules): `--help` loaded them to suggest a name for `--help`
  // itself, which the unknown-option check took for a typo.
  '/node_modules/zod/',
]

let dir: string

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ktrdr-cli-start-'))
  // What `npm ci` runs (prepare): the tests below must see a build that matches the sources.
  const built = spawnSync(process.execPath, [join(REPO, 'scripts', 'build-cli.mjs')], { cwd: REPO, encoding: 'utf8' })
  expect(built.status, built.stderr).toBe(0)
})
afterAll(async () => {
  await rm(dir, { recursive: true, force: true })
})

/** Runs the CLI with the import recorder; resolves with its exit code, output and every module URL it loaded. */
async function runKtrdr(args: string[], env: Record<string, string> = {}) {
  const record = join(dir, `imports-${Math.random().toString(36).slice(2)}.txt`)
  await writeFile(record, '')
  const child = spawn(process.execPath, ['--import', RECORDER, BIN, ...args], {
    cwd: dir,
    env: { ...process.env, NO_COLOR: '1', KTRDR_RECORD_IMPORTS: record, ...env },
  })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (c) => (stdout += c))
  child.stderr.on('data', (c) => (stderr += c))
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve))
  const modules = (await readFile(record, 'utf8')).split('\n').filter(Boolean)
  return { code, stdout, stderr, modules }
}

describe('ktrdr from dist/cli/', () => {
  it('--help lists every command from the build, importing no subcommand, server or tfjs', async () => {
    const r = await runKtrdr(['--help'])
    expect(r.code, r.stderr).toBe(0)
    for (const name of COMMANDS) expect(r.stdout).toMatch(new RegExp(`^\\s+${name}\\s+\\S`, 'm'))
    expect(r.modules.some((u) => u.includes('/dist/cli/'))).toBe(true)
    expect(r.modules.filter((u) => u.endsWith('.ts'))).toEqual([])
    expect(r.modules.filter((u) => u.includes('/node_modules/tsx/'))).toEqual([])
    expect(r.modules.filter((u) => HEAVY.some((h) => u.includes(h)))).toEqual([])
    // Only the root and its helpers: no chunk of a subcommand (their file names start with the command's).
    const chunks = r.modules.filter((u) => u.includes('/dist/cli/')).map((u) => u.split('/').pop()!)
    expect(chunks.filter((f) => COMMANDS.some((c) => f.startsWith(`${c}-`)))).toEqual([])
  })

  it('--version prints the package version from the build, importing no subcommand, server or tfjs', async () => {
    const r = await runKtrdr(['--version'])
    const { version } = JSON.parse(await readFile(join(REPO, 'package.json'), 'utf8')) as { version: string }
    expect({ code: r.code, stdout: r.stdout }).toEqual({ code: 0, stdout: `${version}\n` })
    expect(r.modules.some((u) => u.includes('/dist/cli/'))).toBe(true)
    expect(r.modules.filter((u) => HEAVY.some((h) => u.includes(h)))).toEqual([])
    const chunks = r.modules.filter((u) => u.includes('/dist/cli/')).map((u) => u.split('/').pop()!)
    expect(chunks.filter((f) => COMMANDS.some((c) => f.startsWith(`${c}-`)))).toEqual([])
  })

  it('workers against a gateway that is not there: the error, exit 1, only the workers command loaded', async () => {
    const r = await runKtrdr(['workers', '--url', 'http://127.0.0.1:1'])
    expect(r.code).toBe(1)
    expect(r.stderr).toContain('Cannot reach the gateway at http://127.0.0.1:1')
    expect(r.modules.filter((u) => HEAVY.some((h) => u.includes(h)))).toEqual([])
    const chunks = r.modules.filter((u) => u.includes('/dist/cli/')).map((u) => u.split('/').pop()!)
    expect(chunks.filter((f) => COMMANDS.some((c) => f.startsWith(`${c}-`)))).toEqual([expect.stringMatching(/^workers-/)])
  })

  it('a subcommand’s own help loads that subcommand only', async () => {
    const r = await runKtrdr(['fn', '--help'])
    expect(r.code, r.stderr).toBe(0)
    for (const sub of ['new', 'describe', 'build', 'deploy', 'list', 'versions', 'alias', 'rollback', 'gc']) expect(r.stdout).toContain(sub)
    expect(r.modules.filter((u) => HEAVY.some((h) => u.includes(h)))).toEqual([])
  })

  it('KTRDR_CLI_SOURCES=1 runs the TypeScript sources through tsx, with the same help', async () => {
    const [compiled, sources] = [await runKtrdr(['--help']), await runKtrdr(['--help'], { KTRDR_CLI_SOURCES: '1' })]
    expect(sources.code, sources.stderr).toBe(0)
    expect(sources.modules.some((u) => u.endsWith('/cli.ts'))).toBe(true)
    expect(sources.modules.some((u) => u.includes('/dist/cli/'))).toBe(false)
    expect(sources.stdout).toBe(compiled.stdout)
  })
})

describe('compiledCli: is the build current?', () => {
  async function fixture() {
    const root = await mkdtemp(join(dir, 'root-'))
    await mkdir(join(root, 'dist', 'cli', 'abc'), { recursive: true })
    await writeFile(join(root, 'dist', 'cli', 'abc', 'cli.js'), '')
    await writeFile(join(root, 'a.ts'), 'export const a = 1\n')
    const { size, mtimeMs } = await stat(join(root, 'a.ts'))
    const sha256 = (await import('node:crypto')).createHash('sha256').update('export const a = 1\n').digest('hex')
    const manifest = { version: 1, root, entry: 'abc/cli.js', inputs: { 'a.ts': { size, mtimeMs, sha256 } } }
    await writeFile(join(root, 'dist', 'cli', 'manifest.json'), JSON.stringify(manifest))
    return root
  }

  it('runs the build while every source matches, also after a touch that left the content alone', async () => {
    const root = await fixture()
    expect(compiledCli(root)).toEqual({ entry: join(root, 'dist', 'cli', 'abc', 'cli.js') })
    await utimes(join(root, 'a.ts'), new Date(), new Date(Date.now() + 5000))
    expect(compiledCli(root)).toEqual({ entry: join(root, 'dist', 'cli', 'abc', 'cli.js') })
  })

  it('falls back when a source changed (same size, or not), is gone, the checkout moved, or the build or its manifest is missing', async () => {
    let root = await fixture()
    await writeFile(join(root, 'a.ts'), 'export const a = 2\n')
    expect(compiledCli(root)).toEqual({ reason: 'a.ts changed since the build' })
    await writeFile(join(root, 'a.ts'), 'export const a = 22\n')
    expect(compiledCli(root)).toEqual({ reason: 'a.ts changed since the build' })
    await rm(join(root, 'a.ts'))
    expect(compiledCli(root)).toEqual({ reason: 'a.ts is gone since the build' })
    root = await fixture()
    const moved = `${root}-moved`
    await rename(root, moved)
    expect(compiledCli(moved)).toEqual({ reason: `the build is of ${root}` })
    root = await fixture()
    await rm(join(root, 'dist', 'cli', 'abc'), { recursive: true })
    expect(compiledCli(root)).toEqual({ reason: 'abc/cli.js is missing from dist/cli/' })
    await rm(join(root, 'dist', 'cli', 'manifest.json'))
    expect(compiledCli(root)).toEqual({ reason: 'dist/cli/manifest.json is missing or unreadable' })
  })
})
