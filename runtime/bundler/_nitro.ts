// The Nitro half of a bundle build: the executor runtime bundled with the function aliased in,
// JavaScript inlined, packages that need their own files traced into server/node_modules.
import { existsSync, promises as fsp } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join, relative, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { KtrdrError } from '../protocol/index.ts'

const here = dirname(fileURLToPath(import.meta.url))
export const REPO_ROOT = resolve(here, '../..')
export const EXECUTOR_ENTRY = join(here, '../function/executor.ts')

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

/** Rollup warnings about third-party code that say nothing about the function being built. */
const QUIET_WARNINGS = new Set([
  'INVALID_ANNOTATION',
  'UNUSED_EXTERNAL_IMPORT',
  'CIRCULAR_DEPENDENCY',
  'THIS_IS_UNDEFINED',
  'EVAL',
  'MODULE_LEVEL_DIRECTIVE',
])

function isTraced(id: string, traced: string[]): boolean {
  const path = id.replace(/\\/g, '/')
  // A scope ("@tensorflow") matches every package in it.
  return traced.some((pkg) => path === pkg || path.startsWith(`${pkg}/`) || path.includes(`/node_modules/${pkg}/`))
}

export async function nitroBuild(fnDir: string, work: string, output: string, traced: string[], include: string[], signal?: AbortSignal) {
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
      plugins: [
        {
          // Rollup's tree-shaking drops statements it deems free of side effects, a side-effect-free
          // infinite loop included (`for (;;) {}` compiled to an empty function that returned at once
          // instead of running into its deadline). A bundle must behave like its source: our own
          // modules (the function, the core library, the executor runtime) are kept whole; only
          // dependencies under node_modules are tree-shaken. Cost: echo's archive +0.5 KB, backtest's +12 KB (0.3%).
          name: 'ktrdr-keep-own-code',
          transform: {
            order: 'post',
            handler(code: string, id: string) {
              if (id.startsWith('\0') || id.includes('/node_modules/')) return null
              return { code, map: null, moduleSideEffects: 'no-treeshake' as const }
            },
          },
        },
        {
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
        },
      ],
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
    if (forced.size > 0)
      await traceEntries(
        [...forced].map((id) => createRequire(join(REPO_ROOT, 'package.json')).resolve(id)),
        nodeModules,
      )
    const companions = Object.entries(OPTIONAL_COMPANIONS)
      .filter(([pkg]) => existsSync(join(nodeModules, pkg)))
      .flatMap(([, extra]) => extra)
      .filter(isInstalled)
    const wanted = [...new Set([...include, ...companions])]
    if (wanted.length > 0) await copyIncludedPackages(wanted, nodeModules)
  } catch (cause) {
    throw new KtrdrError({
      code: 'BUNDLE_BUILD_FAILED',
      cause,
      message: `Building ${relative(REPO_ROOT, fnDir) || fnDir} failed: ${(cause as Error).message}`,
    })
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
    await fsp.cp(dirname(pkgJson), join(nodeModules, pkg), {
      recursive: true,
      dereference: true,
      filter: (src) => !src.slice(dirname(pkgJson).length).includes('/node_modules/'),
    })
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
    if (
      existsSync(target) ||
      !(await fsp.stat(abs).then(
        (st) => st.isFile(),
        () => false,
      ))
    )
      continue
    await fsp.mkdir(dirname(target), { recursive: true })
    await fsp.copyFile(abs, target)
  }
}
