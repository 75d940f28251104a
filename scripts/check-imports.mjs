#!/usr/bin/env node
// Checks the package layout's import rules (docs/architecture.md, "Import rules") over every
// relative import in the tree. Exits 1 and lists each offending import when one breaks a rule.
import { execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { dirname, join, normalize, relative } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')

/** Package roots, longest first so that trading/model wins over trading. */
const FIXED = [
  'runtime/protocol',
  'runtime/http',
  'runtime/function',
  'runtime/bundler',
  'runtime/gateway',
  'runtime/host',
  'runtime/scheduler',
  'runtime/cli',
  'storage',
  'trading/model',
  'trading/llm',
  'trading',
  'research',
]
const TEST_KIT = 'test/kit'

/** The package a path belongs to, or null for the files around them (bench, bin, scripts, test, root config). */
export function packageOf(path) {
  const fn = /^functions\/([^/]+)\//.exec(path)
  if (fn) return `functions/${fn[1]}`
  return FIXED.find((p) => path.startsWith(`${p}/`)) ?? null
}

const isTest = (path) => /(^|\/)test\//.test(path) || /\.test\.ts$/.test(path)
const entryOf = (pkg) => `${pkg}/index.ts`
const under = (path, ...dirs) => dirs.some((d) => path.startsWith(`${d}/`))

/** Which packages a package may import (by entry only), beside itself. */
function allowed(pkg) {
  if (pkg.startsWith('functions/')) return ['runtime/function', 'runtime/protocol', 'trading', 'trading/model', 'trading/llm', 'storage']
  if (pkg === 'trading' || pkg === 'trading/model' || pkg === 'trading/llm') return ['runtime/protocol', 'storage', 'trading']
  if (pkg === 'research') return null // any entry but functions/*; rule (b) only
  return null // runtime/*, storage: rule (a) and (b)
}

/** The rule an import from `from` to `to` breaks, or null. */
export function violation(from, to) {
  const src = packageOf(from)
  if (!src) return null
  const dst = packageOf(to)
  if (to.startsWith(`${TEST_KIT}/`))
    return isTest(from) && to === `${TEST_KIT}/index.ts` ? null : '(b) only tests import the test kit, through test/kit/index.ts'
  if (dst === src) return null
  if (under(from, 'runtime', 'storage') && under(to, 'trading', 'research', 'functions'))
    return '(a) runtime/ and storage/ never import trading/, research/ or functions/'
  if (!dst) return `(b) ${src} imports a file outside every package`
  if (to !== entryOf(dst)) return `(b) across packages only entries are imported: use ${entryOf(dst)}`
  const ok = allowed(src)
  if (src.startsWith('trading') && under(to, 'runtime') && dst !== 'runtime/protocol')
    return '(c) trading imports from runtime only runtime/protocol'
  if (ok && !ok.includes(dst)) return `(${src.startsWith('functions/') ? 'd' : 'c'}) ${src} may import only ${ok.join(', ')}`
  if (src === 'research' && dst.startsWith('functions/'))
    return '(b) research does not import functions; what it shares with them lives in trading'
  return null
}

const SPEC = /(?:\bfrom\s*|\bimport\s*\(\s*|\bimport\s+|vi\.mock\(\s*)(['"])(\.{1,2}\/[^'"]+)\1/g

function main() {
  const files = execFileSync('git', ['ls-files', '-co', '--exclude-standard', '*.ts', '*.mts', '*.mjs'], { cwd: root, encoding: 'utf8' })
    .split('\n')
    .filter(Boolean)
  const problems = []
  for (const file of files) {
    let text
    try {
      text = readFileSync(join(root, file), 'utf8')
    } catch {
      continue
    }
    for (const m of text.matchAll(SPEC)) {
      const to = normalize(join(dirname(file), m[2]))
      const why = violation(file, to)
      if (why) problems.push(`${file}: ${m[2]}\n    ${why}`)
    }
  }
  if (problems.length) {
    console.error(`${problems.length} import(s) break the layout rules:\n${problems.join('\n')}`)
    process.exit(1)
  }
  console.log(`Imports follow the layout rules (${files.length} files checked).`)
}

if (process.argv[1] && relative(process.argv[1], fileURLToPath(import.meta.url)) === '') main()
