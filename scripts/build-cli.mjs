#!/usr/bin/env node
// Compiles the ktrdr CLI (cli.ts and every repository module it reaches, statically or through a
// lazy subcommand import) into dist/cli/, so that bin/ktrdr.mjs starts it without a TypeScript
// loader: tsx transpiles ~150 modules on every start, ~3 s on 2 busy cores (docs/decisions.md).
// `npm ci` / `npm install` run it (the `prepare` script); `npm run build:cli` runs it by hand.
//
// - Packages stay external (node_modules is there at run time; tfjs backends, better-sqlite3's
//   addon and nitro resolve as they do from the sources).
// - `import.meta.url` becomes each module's source file URL: the code finds its neighbours
//   (examples/strategies, functions/, the executor's _spare.mjs, the strategy worker, nitro's
//   executor entry) in the source tree exactly as when it runs through tsx.
//   Those URLs are absolute: the manifest records the root, and a moved checkout runs the sources.
// - Each build lands in dist/cli/<content hash>/ and dist/cli/manifest.json (renamed into place)
//   points at it, with the size, mtime and sha256 of every input: bin/_dist.mjs compares them at
//   start and runs the sources through tsx when one changed. Older builds are kept a while so a
//   running `ktrdr up` can still import its lazy chunks.
//
// `--prepare`: a failure warns and exits 0 (the CLI still runs, through tsx), so an install never
// fails on this step alone.
import { createHash } from 'node:crypto'
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { dirname, join, relative } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const outBase = join(root, 'dist', 'cli')
const prepare = process.argv.includes('--prepare')
/** Builds kept besides the current one, newest first, for processes started from them. */
const KEEP_PREVIOUS = 2

/** Per-module `import.meta.url` (and dirname/filename) as the source file's, for a bundle that moves the code. */
const sourceLocations = {
  name: 'source-locations',
  setup(build) {
    build.onLoad({ filter: /\.(?:ts|mts|mjs|js)$/ }, (args) => {
      if (args.path.includes('/node_modules/')) return undefined
      const source = readFileSync(args.path, 'utf8')
      const contents = source
        .replaceAll('import.meta.url', JSON.stringify(pathToFileURL(args.path).href))
        .replaceAll('import.meta.dirname', JSON.stringify(dirname(args.path)))
        .replaceAll('import.meta.filename', JSON.stringify(args.path))
      return { contents, loader: /\.m?ts$/.test(args.path) ? 'ts' : 'js' }
    })
  },
}

function sha256(data) {
  return createHash('sha256').update(data).digest('hex')
}

async function main() {
  const started = performance.now()
  const { build } = await import('esbuild')
  const staging = join(outBase, '.staging')
  const result = await build({
    absWorkingDir: root,
    entryPoints: { cli: 'cli.ts' },
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    packages: 'external',
    outdir: staging,
    write: false,
    metafile: true,
    logLevel: 'warning',
    plugins: [sourceLocations],
  })

  const outputs = result.outputFiles
    .map((f) => ({ path: relative(staging, f.path), contents: f.contents }))
    .sort((a, b) => (a.path < b.path ? -1 : 1))
  const hash = createHash('sha256')
  for (const f of outputs) hash.update(f.path).update('\0').update(f.contents).update('\0')
  const id = hash.digest('hex').slice(0, 12)
  const dir = join(outBase, id)

  let exists = false
  try {
    exists = statSync(dir).isDirectory()
  } catch {}
  if (!exists) {
    const tmp = `${dir}.tmp-${process.pid}`
    for (const f of outputs) {
      mkdirSync(dirname(join(tmp, f.path)), { recursive: true })
      writeFileSync(join(tmp, f.path), f.contents)
    }
    try {
      renameSync(tmp, dir)
    } catch (error) {
      // Another install built the same content at the same moment: theirs is as good.
      rmSync(tmp, { recursive: true, force: true })
      if (error.code !== 'ENOTEMPTY' && error.code !== 'EEXIST') throw error
    }
  }

  const inputs = {}
  // Besides the modules: what else decides the output (esbuild reads tsconfig.json and package.json's `type`).
  const decides = [relative(root, fileURLToPath(import.meta.url)), 'tsconfig.json', 'package.json']
  for (const path of [...new Set([...Object.keys(result.metafile.inputs), ...decides])].sort()) {
    const file = join(root, path)
    const { size, mtimeMs } = statSync(file)
    inputs[path] = { size, mtimeMs, sha256: sha256(readFileSync(file)) }
  }
  const manifest = { version: 1, root, entry: `${id}/cli.js`, built: new Date().toISOString(), inputs }
  const tmpManifest = join(outBase, `manifest.json.tmp-${process.pid}`)
  writeFileSync(tmpManifest, `${JSON.stringify(manifest, null, 1)}\n`)
  renameSync(tmpManifest, join(outBase, 'manifest.json'))

  const previous = readdirSync(outBase)
    .filter((name) => /^[\da-f]{12}$/.test(name) && name !== id)
    .map((name) => ({ name, mtimeMs: statSync(join(outBase, name)).mtimeMs }))
    .sort((a, b) => b.mtimeMs - a.mtimeMs)
  for (const old of previous.slice(KEEP_PREVIOUS)) rmSync(join(outBase, old.name), { recursive: true, force: true })

  const seconds = ((performance.now() - started) / 1000).toFixed(1)
  console.log(
    `ktrdr CLI compiled into dist/cli/${id}/ (${Object.keys(inputs).length - decides.length} modules, ${outputs.length} files, ${seconds} s)`,
  )
}

try {
  await main()
} catch (error) {
  if (!prepare) throw error
  console.warn(`ktrdr: could not compile the CLI into dist/cli/ (${error.message}); bin/ktrdr.mjs runs the sources through tsx instead`)
}
