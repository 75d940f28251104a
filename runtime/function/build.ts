import { execFile } from 'node:child_process'
import { existsSync, promises as fsp } from 'node:fs'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { dirname, join, relative, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import type { FunctionManifest } from '../protocol/function.ts'
import { KtrdrError } from '../protocol/errors.ts'
import { packArchive, sha256Hex, type ArchiveFile } from './archive.ts'
import { MANIFEST_FILE, parseManifest } from './manifest.ts'
import type { FunctionDescription } from './_describe.ts'

const run = promisify(execFile)
const here = dirname(fileURLToPath(import.meta.url))
const REPO_ROOT = resolve(here, '../..')
const EXECUTOR_ENTRY = join(here, 'executor.ts')
export const BUNDLE_ENTRY = 'server/index.mjs'

/**
 * Packages that load files next to their code at runtime (.node addons, .wasm, @stoqey/ib's config
 * via __dirname), never inlined. All of @tensorflow stays external together: a backend traced into
 * node_modules must register with the same tfjs-core instance the function uses.
 */
export const TRACED_PACKAGES = ['better-sqlite3', 'bindings', '@stoqey/ib', '@tensorflow', 'node-llama-cpp', '@node-llama-cpp']

/**
 * Packages a traced dependency loads by a computed specifier when present (so no bundler sees
 * them): tfjs picks the wasm backend (≈3× the cpu backend) only if it can import it.
 */
const OPTIONAL_COMPANIONS: Record<string, string[]> = { '@tensorflow/tfjs-core': ['@tensorflow/tfjs-backend-wasm'] }

/** Scopes whose bare imports are always external (see the externals option in nitroBuild). */
const FORCE_EXTERNAL = ['@tensorflow/']

function isInstalled(pkg: string): boolean {
  try {
    createRequire(join(REPO_ROOT, 'package.json')).resolve(`${pkg}/package.json`)
    return true
  } catch {
    return false
  }
}

/** Optional `functions/<name>/bundle.json`: packages to trace (external) and to include although never imported statically. */
export interface BundleConfig { external?: string[]; include?: string[] }

async function readBundleConfig(fnDir: string): Promise<BundleConfig> {
  const path = join(fnDir, 'bundle.json')
  if (!existsSync(path)) return {}
  try {
    return JSON.parse(await fsp.readFile(path, 'utf8')) as BundleConfig
  } catch (cause) {
    throw new KtrdrError({ statusCode: 422, code: 'BUNDLE_CONFIG_INVALID', retryable: false, cause, message: `${path} is not valid JSON: ${(cause as Error).message}` })
  }
}

/** Rollup warnings about third-party code that say nothing about the function being built. */
const QUIET_WARNINGS = new Set(['INVALID_ANNOTATION', 'UNUSED_EXTERNAL_IMPORT', 'CIRCULAR_DEPENDENCY', 'THIS_IS_UNDEFINED', 'EVAL', 'MODULE_LEVEL_DIRECTIVE'])

function isTraced(id: string, traced: string[]): boolean {
  const path = id.replace(/\\/g, '/')
  // A scope ("@tensorflow") matches every package in it.
  return traced.some((pkg) => path === pkg || path.startsWith(`${pkg}/`) || path.includes(`/node_modules/${pkg}/`))
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
}

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
  throw new KtrdrError({ statusCode: 404, code: 'FUNCTION_SOURCE_NOT_FOUND', retryable: false, message: `No function at "${target}": expected ${candidates.map((d) => join(d, 'index.ts')).join(' or ')}` })
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
    await nitroBuild(fnDir, work, output, traced, [...(config.include ?? []), ...(opts.include ?? [])], opts.signal)
    opts.signal?.throwIfAborted()
    const description = await describeBundle(join(output, BUNDLE_ENTRY), opts.signal)
    const sourceCommit = opts.sourceCommit !== undefined ? opts.sourceCommit : await gitCommitOf(fnDir)
    const manifest = parseManifest({
      ...description,
      entry: BUNDLE_ENTRY,
      // Fixed per source commit (not wall-clock) so the same source gives the same sha256.
      built_at: sourceCommit ? await gitCommitDate(fnDir, sourceCommit) : new Date(Number(process.env.SOURCE_DATE_EPOCH ?? 0) * 1000).toISOString(),
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
    const outputDir = join(outDir, manifest.name)
    await fsp.rm(outputDir, { recursive: true, force: true })
    await fsp.rename(output, outputDir).catch(() => fsp.cp(output, outputDir, { recursive: true }))
    return { name: manifest.name, archivePath, sha256, size: archive.byteLength, manifest, buildMs: Math.round(performance.now() - started), outputDir }
  } finally {
    await fsp.rm(work, { recursive: true, force: true })
  }
}

async function nitroBuild(fnDir: string, work: string, output: string, traced: string[], include: string[], signal?: AbortSignal) {
  const { createNitro, prepare, copyPublicAssets, build } = await import('nitropack')
  const forced = new Set<string>()
  const srcDir = join(work, 'src')
  await fsp.mkdir(srcDir, { recursive: true })
  const nitro = await createNitro({
    // rootDir is the empty work dir so that the repository's own nitro.config.ts (the gateway's
    // server build) is never merged into a function bundle; packages resolve from the repo.
    rootDir: work,
    nodeModulesDirs: [join(REPO_ROOT, 'node_modules')],
    srcDir, // empty: no routes, plugins or middleware get scanned into an executor
    buildDir: join(work, '.nitro'),
    dev: false,
    preset: 'node-listener',
    entry: EXECUTOR_ENTRY,
    output: { dir: output, serverDir: join(output, 'server'), publicDir: join(output, 'public') },
    alias: { '#ktrdr/function': join(fnDir, 'index.ts') },
    imports: false,
    scanDirs: [],
    sourceMap: false,
    minify: false,
    serveStatic: false,
    logLevel: 1,
    typescript: { generateTsConfig: false },
    compatibilityDate: '2025-01-01',
    // Inline all JS (one file loads faster: ~95 ms vs ~135 ms cold start for echo); packages
    // with native addons or runtime assets are traced into the bundle's node_modules instead.
    externals: { inline: [(id: string) => !isTraced(id, traced)] },
    rollupConfig: {
      plugins: [{
        // nitro inlines a package whose entry mlly does not accept as a node import, traced or
        // not: @tensorflow/tfjs and tfjs-core are such CJS entries, which left two tfjs-core copies
        // (the inlined one and the one tfjs-layers loads from node_modules), so layers a function
        // registers were unknown when loading a model. Bare imports of these scopes are made
        // external before nitro sees them; their files are traced into node_modules after the build.
        name: 'ktrdr-force-external',
        resolveId: {
          order: 'pre',
          handler(id: string) {
            if (!FORCE_EXTERNAL.some((scope) => id.startsWith(scope)) || !isTraced(id, traced)) return null
            forced.add(id)
            return { id, external: true }
          },
        },
      }],
      onwarn(warning, warn) {
        if (warning.code && QUIET_WARNINGS.has(warning.code)) return
        warn(warning)
      },
    },
  })
  const abort = () => void nitro.close()
  signal?.addEventListener('abort', abort, { once: true })
  try {
    await prepare(nitro)
    await copyPublicAssets(nitro)
    await build(nitro)
    const nodeModules = join(output, 'server', 'node_modules')
    if (forced.size > 0) await traceEntries([...forced].map((id) => createRequire(join(REPO_ROOT, 'package.json')).resolve(id)), nodeModules)
    const companions = Object.entries(OPTIONAL_COMPANIONS).filter(([pkg]) => existsSync(join(nodeModules, pkg))).flatMap(([, extra]) => extra).filter(isInstalled)
    const wanted = [...new Set([...include, ...companions])]
    if (wanted.length > 0) await copyIncludedPackages(wanted, nodeModules)
  } catch (cause) {
    throw new KtrdrError({ statusCode: 422, code: 'BUNDLE_BUILD_FAILED', retryable: false, cause, message: `Building ${relative(REPO_ROOT, fnDir) || fnDir} failed: ${(cause as Error).message}` })
  } finally {
    signal?.removeEventListener('abort', abort)
    await nitro.close()
  }
}

/**
 * Packages no static import names (optional backends loaded by a computed specifier): each is
 * copied whole, plus whatever its entry needs (traced with nft), into the bundle's node_modules.
 */
async function copyIncludedPackages(include: string[], nodeModules: string) {
  const require = createRequire(join(REPO_ROOT, 'package.json'))
  const entries: string[] = []
  for (const pkg of include) {
    const pkgJson = require.resolve(`${pkg}/package.json`)
    await fsp.cp(dirname(pkgJson), join(nodeModules, pkg), { recursive: true, dereference: true, filter: (src) => !src.slice(dirname(pkgJson).length).includes('/node_modules/') })
    entries.push(require.resolve(pkg))
  }
  await traceEntries(entries, nodeModules)
}

/** Copies the files these entry points need (nft trace) into the bundle's node_modules. */
async function traceEntries(entries: string[], nodeModules: string) {
  const { nodeFileTrace } = await import('@vercel/nft')
  const { fileList } = await nodeFileTrace(entries, { base: '/', processCwd: REPO_ROOT })
  for (const file of fileList) {
    const abs = `/${file}`
    const at = abs.lastIndexOf('/node_modules/')
    if (at < 0) continue
    const target = join(nodeModules, abs.slice(at + '/node_modules/'.length))
    if (existsSync(target) || !(await fsp.stat(abs).then((st) => st.isFile(), () => false))) continue
    await fsp.mkdir(dirname(target), { recursive: true })
    await fsp.copyFile(abs, target)
  }
}

/** Runs the built entry in describe mode: proves it loads standalone and yields the manifest fields. */
async function describeBundle(entry: string, signal?: AbortSignal): Promise<FunctionDescription> {
  try {
    const { stdout } = await run(process.execPath, [entry], { env: { ...process.env, KTRDR_EXECUTOR_DESCRIBE: '1', NODE_OPTIONS: '' }, signal, timeout: 30_000, cwd: dirname(entry) })
    return JSON.parse(stdout.trim().split('\n').pop()!) as FunctionDescription
  } catch (cause) {
    const stderr = (cause as { stderr?: string }).stderr ?? ''
    throw new KtrdrError({ statusCode: 422, code: 'BUNDLE_IMPORT_FAILED', retryable: false, cause, message: `The built bundle does not load: ${stderr.trim().split('\n').slice(-5).join(' | ') || (cause as Error).message}` })
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
