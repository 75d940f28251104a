import { execFile } from 'node:child_process'
import { cp, mkdir, mkdtemp, readdir, readFile, rm, utimes, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { echo } from '../../../test/kit/index.ts'
import { packArchive, sha256Hex, unpackArchive } from '../../protocol/index.ts'
import { buildFunctionBundle, KEEP_BUILDS, type BuiltBundle } from '../build.ts'
import { readArchiveManifest } from '../../protocol/index.ts'
import { runFunctionInProcess } from '../../function/index.ts'

const run = promisify(execFile)
let dir: string
let first: BuiltBundle

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ktrdr-fn-build-'))
  first = await buildFunctionBundle('echo', { outDir: join(dir, 'a'), sourceCommit: null })
})
afterAll(async () => {
  await rm(dir, { recursive: true, force: true })
})

describe('buildFunctionBundle', () => {
  it('produces a tar.gz with manifest.json at the root whose sha256 is the archive hash', async () => {
    const archive = new Uint8Array(await readFile(first.archivePath))
    expect(sha256Hex(archive)).toBe(first.sha256)
    expect(first.size).toBe(archive.byteLength)
    const files = unpackArchive(archive)
    const manifest = readArchiveManifest(files, 'echo')
    expect(manifest).toEqual(first.manifest)
    expect(manifest).toMatchObject({
      name: 'echo',
      operation_type: 'dummy',
      entry: 'server/index.mjs',
      max_attempts: 1,
      timeout_seconds: 3600,
    })
    // The input schema is the zod schema as JSON Schema (what callers send).
    expect(manifest.input_schema).toMatchObject({ type: 'object', properties: { fail: { enum: ['throw', 'exit', 'hang', 'oom'] } } })
  })

  it('is reproducible: the same source gives the same sha256', async () => {
    const second = await buildFunctionBundle('echo', { outDir: join(dir, 'b'), sourceCommit: null })
    expect(second.sha256).toBe(first.sha256)
  })

  it('is standalone: the entry loads from a copy outside the repository with only Node', async () => {
    const copy = join(dir, 'standalone')
    await cp(first.outputDir, copy, { recursive: true })
    const { stdout } = await run(process.execPath, [join(copy, 'server/index.mjs')], {
      env: { PATH: process.env.PATH, KTRDR_EXECUTOR_DESCRIBE: '1' },
      cwd: tmpdir(),
    })
    expect(JSON.parse(stdout).name).toBe('echo')
  })

  it('keeps the newest KEEP_BUILDS archives of the function in its build folder, nothing else touched', async () => {
    const out = join(dir, 'pruned')
    await mkdir(out)
    // Four older echo builds (oldest first), another function whose name starts with echo's, a file of someone else's.
    const older = ['aaaaaaaaaaaa', 'bbbbbbbbbbbb', 'cccccccccccc', 'dddddddddddd'].map((hex) => `echo-${hex}.tgz`)
    const untouched = ['echo-v2-aaaaaaaaaaaa.tgz', 'notes.txt']
    const now = Date.now() / 1000
    for (const [i, file] of [...older, ...untouched].entries()) {
      await writeFile(join(out, file), 'old')
      await utimes(join(out, file), now - 3600 + i * 60, now - 3600 + i * 60)
    }
    expect(KEEP_BUILDS).toBe(3)
    const built = await buildFunctionBundle('echo', { outDir: out, sourceCommit: null })
    const left = (await readdir(out)).filter((f) => f.endsWith('.tgz') || f.endsWith('.txt')).sort()
    expect(left).toEqual([`echo-${built.sha256.slice(0, 12)}.tgz`, ...older.slice(-2), ...untouched].sort())
  })

  it('says clearly when the target does not exist', async () => {
    await expect(buildFunctionBundle('no-such-function', { outDir: join(dir, 'c') })).rejects.toMatchObject({
      statusCode: 404,
      code: 'FUNCTION_SOURCE_NOT_FOUND',
    })
  })
})

describe('archives', () => {
  it('pack is deterministic; unpack never yields unsafe paths and refuses garbage', () => {
    const files = [
      { name: 'b.txt', data: new Uint8Array([1]) },
      { name: 'a/c.txt', data: new Uint8Array([2, 3]) },
    ]
    expect(sha256Hex(packArchive(files))).toBe(sha256Hex(packArchive([...files].reverse())))
    expect(unpackArchive(packArchive(files)).map((f) => f.name)).toEqual(['a/c.txt', 'b.txt'])
    // A hostile ../ or absolute path never comes out as one: nothing can be written outside the bundle dir.
    const names = unpackArchive(
      packArchive([
        { name: '../x', data: new Uint8Array([1]) },
        { name: '/etc/y', data: new Uint8Array([1]) },
      ]),
    ).map((f) => f.name)
    for (const name of names) expect(name.startsWith('/') || name.split('/').includes('..')).toBe(false)
    expect(() => unpackArchive(new Uint8Array([1, 2, 3]))).toThrow(/not a valid tar.gz/)
  })
})

describe('runFunctionInProcess', () => {
  it('runs a function with real storage, collects progress and validates input', async () => {
    const { result, progress, storage, cleanup } = await runFunctionInProcess(echo, { message: 'hi', steps: 4 })
    expect(result).toMatchObject({ message: 'hi', pid: process.pid })
    expect(progress.map((p) => p.percentage)).toEqual([25, 50, 75, 100])
    await storage.results.setItem('probe', 'ok')
    expect(await storage.results.getItem('probe')).toBe('ok')
    await cleanup()
    await expect(runFunctionInProcess(echo, { steps: 'many' })).rejects.toMatchObject({ statusCode: 422, code: 'INPUT_INVALID' })
  })

  it('aborts through a real AbortSignal', async () => {
    const controller = new AbortController()
    const pending = runFunctionInProcess(
      echo,
      { delay_ms: 10_000, steps: 100 },
      { signal: controller.signal, onProgress: () => controller.abort(new Error('stop')) },
    )
    await expect(pending).rejects.toThrow()
  })
})
