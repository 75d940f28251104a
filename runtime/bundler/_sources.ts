// What a bundle is built from, as one sha256: the function's modules and every module of ours they
// reach (found by esbuild's resolver: the same imports Rollup follows in the Nitro build), the
// bundler itself, the lockfile (every package version, inlined or traced), bundle.json and the
// Node major. Deploys compare it with the deployed version's `source_sha256` to skip a build of
// unchanged code: hashing echo's ~60 inputs takes ~0.2 s where its Nitro build takes 8–10 s.
import { createHash } from 'node:crypto'
import { existsSync, promises as fsp } from 'node:fs'
import { join, relative, sep } from 'node:path'
import { EXECUTOR_ENTRY, REPO_ROOT } from './_nitro.ts'

export interface FunctionSources {
  /** sha256 over the inputs' repository-relative paths and contents, in path order. */
  sha256: string
  /** The inputs, relative to the repository root, sorted. */
  files: string[]
}

export interface HashFunctionSourcesOptions {
  /** Packages traced or included besides bundle.json's (the build's `external`/`include` options). */
  external?: string[]
  include?: string[]
}

const BUNDLER_DIR = join(REPO_ROOT, 'runtime', 'bundler')

/** The bundler's own modules: a change in how bundles are made changes every bundle. */
async function bundlerFiles(): Promise<string[]> {
  const names = await fsp.readdir(BUNDLER_DIR)
  return names.filter((n) => n.endsWith('.ts')).map((n) => join(BUNDLER_DIR, n))
}

/** Our modules the executor entry reaches with the function aliased in; packages stay external (the lockfile stands for them). */
async function reachedModules(fnDir: string): Promise<string[]> {
  const { build } = await import('esbuild')
  const result = await build({
    absWorkingDir: REPO_ROOT,
    entryPoints: [EXECUTOR_ENTRY],
    bundle: true,
    write: false,
    metafile: true,
    format: 'esm',
    platform: 'node',
    packages: 'external',
    logLevel: 'silent',
    plugins: [
      {
        name: 'ktrdr-function-alias',
        setup(b) {
          b.onResolve({ filter: /^#ktrdr\/function$/ }, () => ({ path: join(fnDir, 'index.ts') }))
        },
      },
    ],
  })
  return Object.keys(result.metafile!.inputs).map((p) => join(REPO_ROOT, p))
}

/**
 * The build inputs of the function in `fnDir` and their sha256. Throws what esbuild says when the
 * sources do not resolve (a missing module, a syntax error): the build would fail the same way.
 */
export async function hashFunctionSources(fnDir: string, options: HashFunctionSourcesOptions = {}): Promise<FunctionSources> {
  const lockfile = ['package-lock.json', 'package.json'].map((n) => join(REPO_ROOT, n)).find((p) => existsSync(p))
  const bundleConfig = join(fnDir, 'bundle.json')
  const paths = new Set([
    ...(await reachedModules(fnDir)),
    ...(await bundlerFiles()),
    ...(lockfile ? [lockfile] : []),
    ...(existsSync(bundleConfig) ? [bundleConfig] : []),
  ])
  const files = [...paths].map((p) => relative(REPO_ROOT, p).split(sep).join('/')).sort()
  const hash = createHash('sha256')
  hash.update(`node ${process.versions.node.split('.')[0]}\0`)
  hash.update(
    `options ${JSON.stringify({ external: [...(options.external ?? [])].sort(), include: [...(options.include ?? [])].sort() })}\0`,
  )
  for (const file of files)
    hash
      .update(file)
      .update('\0')
      .update(await fsp.readFile(join(REPO_ROOT, file)))
      .update('\0')
  return { sha256: hash.digest('hex'), files }
}
