// The type check before a build: Nitro (Rollup + esbuild) strips types without looking at them, so
// a function that does not type-check would otherwise build, deploy and fail at run time.
import { execFile } from 'node:child_process'
import { createHash } from 'node:crypto'
import { promises as fsp } from 'node:fs'
import { createRequire } from 'node:module'
import { basename, join, relative } from 'node:path'
import { promisify } from 'node:util'
import { KtrdrError } from '../protocol/index.ts'
import { REPO_ROOT } from './_nitro.ts'

const run = promisify(execFile)
/** Lines of tsc output carried in the error: the first errors are the ones to fix first. */
const MAX_LINES = 30

/** The function folder's own TypeScript files (its tests too), never node_modules or dot folders. */
async function sourceFiles(dir: string): Promise<string[]> {
  const out: string[] = []
  for (const entry of await fsp.readdir(dir, { withFileTypes: true })) {
    if (entry.name.startsWith('.') || entry.name === 'node_modules') continue
    const path = join(dir, entry.name)
    if (entry.isDirectory()) out.push(...(await sourceFiles(path)))
    else if (/\.[cm]?ts$/.test(entry.name)) out.push(path)
  }
  return out.sort()
}

function tscPath(): string {
  try {
    return createRequire(join(REPO_ROOT, 'package.json')).resolve('typescript/bin/tsc')
  } catch (cause) {
    throw new KtrdrError({
      code: 'FUNCTION_TYPECHECK_UNAVAILABLE',
      cause,
      message:
        'TypeScript is not installed here (a devDependency: npm ci without --omit=dev), so the function cannot be type-checked; build with --no-typecheck to skip the check',
    })
  }
}

/**
 * `tsc --noEmit` over the function folder's files with the project's tsconfig (the modules they
 * import are checked as far as their types are used, as in the project's own check). Incremental:
 * the config and build info stay in `cacheDir`, so a second check of the same function
 * (`up --watch`) only re-checks what changed.
 */
export async function typecheckFunction(fnDir: string, options: { cacheDir: string; signal?: AbortSignal }): Promise<void> {
  const tsc = tscPath()
  const files = await sourceFiles(fnDir)
  const id = createHash('sha256').update(fnDir).digest('hex').slice(0, 12)
  await fsp.mkdir(options.cacheDir, { recursive: true })
  // A stable path for the config as for the build info: tsc takes a config at another path for
  // another program and re-checks everything (echo: 8.2 s both times, against 4.9 s once stable).
  const config = join(options.cacheDir, `${basename(fnDir)}-${id}.tsconfig.json`)
  await fsp.writeFile(
    config,
    JSON.stringify({
      extends: join(REPO_ROOT, 'tsconfig.json'),
      compilerOptions: {
        noEmit: true,
        incremental: true,
        tsBuildInfoFile: join(options.cacheDir, `${basename(fnDir)}-${id}.tsbuildinfo`),
        // This config file is not in the project: @types are looked up from the project, not from here.
        typeRoots: [join(REPO_ROOT, 'node_modules', '@types')],
      },
      files,
      // The project's ambient declarations (modules without types, globals): what its files, the
      // test kit's among them, are checked against in the project's own check.
      include: [join(REPO_ROOT, '**', '*.d.ts')],
    }),
  )
  try {
    await run(process.execPath, [tsc, '-p', config, '--pretty', 'false'], {
      cwd: REPO_ROOT,
      signal: options.signal,
      maxBuffer: 64 * 1024 * 1024,
      env: { ...process.env, NODE_OPTIONS: '' },
    })
  } catch (cause) {
    options.signal?.throwIfAborted()
    const output = `${(cause as { stdout?: string }).stdout ?? ''}${(cause as { stderr?: string }).stderr ?? ''}`.trim()
    const lines = output.split('\n').filter((l) => l.trim())
    const errors = lines.filter((l) => /\berror TS\d+:/.test(l)).length
    const shown = lines.slice(0, MAX_LINES)
    if (lines.length > shown.length) shown.push(`… ${lines.length - shown.length} more lines`)
    throw new KtrdrError({
      code: 'FUNCTION_TYPECHECK_FAILED',
      cause,
      message: `${relative(REPO_ROOT, fnDir) || fnDir} does not type-check (${errors} error${errors === 1 ? '' : 's'}; --no-typecheck builds anyway):\n${shown.join('\n') || (cause as Error).message}`,
      details: { errors },
    })
  }
}
