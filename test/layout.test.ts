// The package layout's import rules (docs/architecture.md): the checker's verdicts on typical
// imports, and the whole tree passing it.
import { execFileSync } from 'node:child_process'
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
// @ts-expect-error plain .mjs script without types
import { packageOf, violation } from '../scripts/check-imports.mjs'

describe('import rules', () => {
  it('knows the package roots, trading/model before trading', () => {
    expect(packageOf('trading/model/io.ts')).toBe('trading/model')
    expect(packageOf('trading/data/store.ts')).toBe('trading')
    expect(packageOf('functions/train/src/loop.ts')).toBe('functions/train')
    expect(packageOf('runtime/gateway/registry/registry.ts')).toBe('runtime/gateway')
    expect(packageOf('bench/index.ts')).toBe(null)
  })

  it('(a) runtime and storage never import the domain', () => {
    expect(violation('runtime/gateway/_app.ts', 'research/api/data.ts')).toMatch(/^\(a\)/)
    expect(violation('storage/index.ts', 'trading/index.ts')).toMatch(/^\(a\)/)
    expect(violation('runtime/host/test/x.test.ts', 'functions/echo/index.ts')).toMatch(/^\(a\)/)
  })

  it('(b) only entries across packages; tests reach others through the test kit', () => {
    expect(violation('research/api/models.ts', 'runtime/gateway/_files.ts')).toMatch(/^\(b\)/)
    expect(violation('research/api/models.ts', 'runtime/gateway/index.ts')).toBe(null)
    expect(violation('research/api/test/a.test.ts', 'trading/test/_helpers.ts')).toMatch(/^\(b\)/)
    expect(violation('research/api/test/a.test.ts', 'test/kit/index.ts')).toBe(null)
    expect(violation('research/api/data.ts', 'test/kit/index.ts')).toMatch(/^\(b\)/)
    expect(violation('trading/test/a.test.ts', 'trading/data/_time.ts')).toBe(null)
  })

  it('(c) trading uses only runtime/protocol and storage; (d) functions only their five entries', () => {
    expect(violation('trading/data/store.ts', 'runtime/gateway/index.ts')).toMatch(/^\(c\)/)
    expect(violation('trading/_errors.ts', 'runtime/protocol/index.ts')).toBe(null)
    expect(violation('functions/train/src/run.ts', 'trading/model/index.ts')).toBe(null)
    expect(violation('functions/train/src/run.ts', 'runtime/bundler/index.ts')).toMatch(/^\(d\)/)
    expect(violation('functions/train/src/run.ts', 'functions/backtest/index.ts')).toMatch(/^\(d\)/)
    expect(violation('functions/train/src/run.ts', 'trading/model/_versions.ts')).toMatch(/^\(b\)/)
  })

  it('the tree follows them', () => {
    const out = execFileSync(process.execPath, [join(import.meta.dirname, '../scripts/check-imports.mjs')], { encoding: 'utf8' })
    expect(out).toMatch(/Imports follow the layout rules/)
  })
})

const ROOT = join(import.meta.dirname, '..')
const SOURCE_DIRS = ['bench', 'bin', 'functions', 'research', 'runtime', 'scripts', 'server', 'storage', 'test', 'trading']
const SKIP_DIRS = new Set(['node_modules', 'dist', '.output', '.nitro', '.ktrdr'])

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name)
    if (entry.isDirectory()) return SKIP_DIRS.has(entry.name) ? [] : sourceFiles(path)
    return /\.(?:ts|mts|mjs|js)$/.test(entry.name) ? [path] : []
  })
}

describe('package.json', () => {
  it('every dependency is imported (or resolved by name) in the tree, or is a peer of one that is', () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { dependencies: Record<string, string> }
    const files = [...SOURCE_DIRS.flatMap((d) => sourceFiles(join(ROOT, d))), join(ROOT, 'cli.ts'), join(ROOT, 'nitro.config.ts')]
    const text = files.map((f) => readFileSync(f, 'utf8')).join('\n')
    const deps = Object.keys(pkg.dependencies)
    const named = (dep: string) => new RegExp(`['"\`]${dep.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}(?:/|['"\`])`).test(text)
    const peersOfUsed = new Set(
      deps.filter(named).flatMap((dep) => {
        const manifest = JSON.parse(readFileSync(join(ROOT, 'node_modules', dep, 'package.json'), 'utf8')) as {
          peerDependencies?: Record<string, string>
        }
        return Object.keys(manifest.peerDependencies ?? {})
      }),
    )
    expect(deps.filter((dep) => !named(dep) && !peersOfUsed.has(dep))).toEqual([])
  })
})
