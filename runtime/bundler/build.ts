import { execFile } from 'node:child_process'
import { existsSync, promises as fsp } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { promisify } from 'node:util'
import {
  KtrdrError,
  MANIFEST_FILE,
  packArchive,
  parseManifest,
  sha256Hex,
  type ArchiveFile,
  type FunctionManifest,
} from '../protocol/index.ts'
import type { FunctionDescription } from '../function/index.ts'
import { nitroBuild, REPO_ROOT, TRACED_PACKAGES } from './_nitro.ts'

const run = promisify(execFile)
export const BUNDLE_ENTRY = 'server/index.mjs'

/**
 * Optional `functions/<name>/bundle.json`: packages to trace (external), to include although never
 * imported statically, and to leave out of the traced node_modules (`exclude`: e.g. prebuilt native
 * binaries for hardware the cluster does not have; a build's `include` brings one back).
 */
export interface BundleConfig {
  external?: string[]
  include?: string[]
  exclude?: string[]
}

async function readBundleConfig(fnDir: string): Promise<BundleConfig> {
  const path = join(fnDir, 'bundle.json')
  if (!existsSync(path)) return {}
  try {
    return JSON.parse(await fsp.readFile(path, 'utf8')) as BundleConfig
  } catch (cause) {
    throw new KtrdrError({
      code: 'BUNDLE_CONFIG_INVALID',
      cause,
      message: `${path} is not valid JSON: ${(cause as Error).message}`,
    })
  }
}

export interface BuildFunctionOptions {
  /** Where the archive goes. Default `<rootDir>/.ktrdr/build`. */
  outDir?: string
  /** Where `functions/<name>` is looked up. Default: the repository root. */
  rootDir?: string
  signal?: AbortSignal
  /** Extra packages to trace into node_modules instead of inlining (native addons, runtime assets). */
  external?: string[]
  /** Packages to copy into the bundle although no static import names them (optional backends). */
  include?: string[]
  /** Recorded in the manifest; default: the last git commit touching the function dir, when that dir is clean. */
  sourceCommit?: string | null
  /** Archives of this function kept in `outDir`, this one included; older ones are deleted. Default KEEP_BUILDS. */
  keepBuilds?: number
}

/**
 * Archives kept per function in the build folder. Each build with other content writes a new
 * `<name>-<sha12>.tgz` (2–40 MB for train and backtest), so `ktrdr up` and `fn deploy` grew
 * `.ktrdr/build/` by one archive per source change, without bound. Published versions live in the
 * gateway's bundles mount, not here: these are only the local copies.
 */
export const KEEP_BUILDS = 3

export interface BuiltBundle {
  name: string
  archivePath: string
  sha256: string
  size: number
  manifest: FunctionManifest
  buildMs: number
  /** The unpacked Nitro output (kept for inspection; removed on the next build of this function). */
  outputDir: string
}

/** `functions/<name>` or a directory holding `index.ts`. */
export function resolveFunctionDir(target: string, rootDir = REPO_ROOT): string {
  const candidates = [resolve(target), resolve(rootDir, 'functions', target)]
  for (const dir of candidates) if (existsSync(join(dir, 'index.ts'))) return dir
  throw new KtrdrError({
    code: 'FUNCTION_SOURCE_NOT_FOUND',
    message: `No function at "${target}": expected ${candidates.map((d) => join(d, 'index.ts')).join(' or ')}`,
  })
}

/**
 * Builds one function into a content-addressed bundle: Nitro (programmatic API) bundles the
 * executor runtime with the function aliased in, so server/index.mjs runs with nothing but Node;
 * the manifest is read from that built bundle; everything is packed into a deterministic tar.gz.
 */
export async function buildFunctionBundle(target: string, opts: BuildFunctionOptions = {}): Promise<BuiltBundle> {
  const started = performance.now()
  const rootDir = resolve(opts.rootDir ?? REPO_ROOT)
  const fnDir = resolveFunctionDir(target, rootDir)
  const outDir = resolve(opts.outDir ?? join(rootDir, '.ktrdr', 'build'))
  const work = await fsp.mkdtemp(join(tmpdir(), 'ktrdr-build-'))
  try {
    const output = join(work, 'output')
    const config = await readBundleConfig(fnDir)
    const traced = [...TRACED_PACKAGES, ...(config.external ?? []), ...(opts.external ?? [])]
    const include = [...(config.include ?? []), ...(opts.include ?? [])]
    await nitroBuild(fnDir, work, output, traced, include, opts.signal)
    opts.signal?.throwIfAborted()
    for (const pkg of config.exclude ?? []) {
      if (include.includes(pkg)) continue
      await fsp.rm(join(output, 'server', 'node_modules', pkg), { recursive: true, force: true })
    }
    const description = await describeBundle(join(output, BUNDLE_ENTRY), opts.signal)
    const sourceCommit = opts.sourceCommit !== undefined ? opts.sourceCommit : await gitCommitOf(fnDir)
    const manifest = parseManifest({
      ...description,
      entry: BUNDLE_ENTRY,
      // Fixed per source commit (not wall-clock) so the same source gives the same sha256.
      built_at: sourceCommit
        ? await gitCommitDate(fnDir, sourceCommit)
        : new Date(Number(process.env.SOURCE_DATE_EPOCH ?? 0) * 1000).toISOString(),
      source_commit: sourceCommit,
      node: `>=${process.versions.node.split('.')[0]}`,
    } satisfies FunctionManifest)
    const files = await collectFiles(join(output, 'server'), 'server')
    files.push({ name: MANIFEST_FILE, data: new TextEncoder().encode(`${JSON.stringify(manifest, null, 2)}\n`) })
    const archive = packArchive(files)
    const sha256 = sha256Hex(archive)
    await fsp.mkdir(outDir, { recursive: true })
    const archivePath = join(outDir, `${manifest.name}-${sha256.slice(0, 12)}.tgz`)
    await fsp.writeFile(archivePath, archive)
    await pruneArchives(outDir, manifest.name, archivePath, opts.keepBuilds ?? KEEP_BUILDS)
    const outputDir = join(outDir, manifest.name)
    await fsp.rm(outputDir, { recursive: true, force: true })
    await fsp.rename(output, outputDir).catch(() => fsp.cp(output, outputDir, { recursive: true }))
    return {
      name: manifest.name,
      archivePath,
      sha256,
      size: archive.byteLength,
      manifest,
      buildMs: Math.round(performance.now() - started),
      outputDir,
    }
  } finally {
    await fsp.rm(work, { recursive: true, force: true })
  }
}

/**
 * Deletes the archives of `name` in `outDir` beyond the newest `keep` (by mtime, `current` first
 * whatever the clock says). Only `<name>-<12 hex>.tgz`: another function's archives, whose names
 * may start with this one's, and files we did not write stay.
 */
async function pruneArchives(outDir: string, name: string, current: string, keep: number): Promise<void> {
  const pattern = new RegExp(`^${name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}-[0-9a-f]{12}\\.tgz$`)
  const others = await Promise.all(
    (await fsp.readdir(outDir))
      .map((file) => join(outDir, file))
      .filter((path) => path !== current && pattern.test(path.slice(outDir.length + 1)))
      .map(async (path) => ({
        path,
        mtimeMs: await fsp.stat(path).then(
          (st) => st.mtimeMs,
          () => 0,
        ),
      })),
  )
  others.sort((a, b) => b.mtimeMs - a.mtimeMs)
  // A concurrent build may have removed one already.
  await Promise.all(others.slice(Math.max(0, keep - 1)).map(({ path }) => fsp.rm(path, { force: true })))
}

/** Runs the built entry in describe mode: proves it loads standalone and yields the manifest fields. */
async function describeBundle(entry: string, signal?: AbortSignal): Promise<FunctionDescription> {
  try {
    const { stdout } = await run(process.execPath, [entry], {
      env: { ...process.env, KTRDR_EXECUTOR_DESCRIBE: '1', NODE_OPTIONS: '' },
      signal,
      timeout: 30_000,
      cwd: dirname(entry),
    })
    return JSON.parse(stdout.trim().split('\n').pop()!) as FunctionDescription
  } catch (cause) {
    const stderr = (cause as { stderr?: string }).stderr ?? ''
    throw new KtrdrError({
      code: 'BUNDLE_IMPORT_FAILED',
      cause,
      message: `The built bundle does not load: ${stderr.trim().split('\n').slice(-5).join(' | ') || (cause as Error).message}`,
    })
  }
}

async function collectFiles(dir: string, prefix: string): Promise<ArchiveFile[]> {
  const out: ArchiveFile[] = []
  for (const entry of await fsp.readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name)
    const name = `${prefix}/${entry.name}`
    const stat = await fsp.stat(path) // follows symlinks: the archive carries real files only
    if (stat.isDirectory()) out.push(...(await collectFiles(path, name)))
    else if (stat.isFile()) out.push({ name, data: await fsp.readFile(path), mode: stat.mode & 0o111 ? '755' : '644' })
  }
  return out
}

async function gitCommitOf(dir: string): Promise<string | null> {
  try {
    const { stdout: dirty } = await run('git', ['status', '--porcelain', '--', '.'], { cwd: dir })
    if (dirty.trim()) return null
    const { stdout } = await run('git', ['log', '-1', '--format=%H', '--', '.'], { cwd: dir })
    return stdout.trim() || null
  } catch {
    return null
  }
}

async function gitCommitDate(dir: string, commit: string): Promise<string> {
  const { stdout } = await run('git', ['show', '-s', '--format=%cI', commit], { cwd: dir })
  return new Date(stdout.trim()).toISOString()
}
