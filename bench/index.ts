// `npm run bench`: runs every bench/*.bench.ts in turn (one process, nothing else running) and
// writes BENCHMARKS.md. Figures are ratios against baselines measured in the same run, so they
// travel between machines better than absolute numbers.
import { readdir, writeFile } from 'node:fs/promises'
import { cpus, totalmem, release } from 'node:os'
import { resolve } from 'node:path'
import { pathToFileURL } from 'node:url'
import type { BenchSection } from './_types.ts'

const only = process.argv.slice(2)
const dir = resolve(import.meta.dirname ?? 'bench')
const files = (await readdir(dir))
  .filter((f) => f.endsWith('.bench.ts'))
  .filter((f) => only.length === 0 || only.some((o) => f.includes(o)))
  .sort()

const sections: Array<BenchSection & { file: string; seconds: number; error?: string }> = []
for (const file of files) {
  const started = performance.now()
  process.stdout.write(`bench ${file} … `)
  try {
    const mod = (await import(pathToFileURL(resolve(dir, file)).href)) as { default: () => Promise<BenchSection | BenchSection[]> }
    const result = await mod.default()
    const seconds = (performance.now() - started) / 1000
    for (const section of Array.isArray(result) ? result : [result]) sections.push({ ...section, file, seconds })
    console.log(`${seconds.toFixed(1)} s`)
  } catch (error) {
    const seconds = (performance.now() - started) / 1000
    console.log(`FAILED: ${(error as Error).message}`)
    sections.push({ title: file, rows: [], file, seconds, error: (error as Error).stack ?? String(error) })
  }
}

const cpu = cpus()[0]?.model ?? 'unknown CPU'
const lines: string[] = [
  '# Benchmarks',
  '',
  `Produced by \`npm run bench${only.length ? ' -- ' + only.join(' ') : ''}\` on ${new Date().toISOString().slice(0, 10)}.`,
  '',
  `Machine: ${cpus().length} × ${cpu}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB RAM, Linux ${release()}, Node ${process.version}.`,
  'Each figure compares against a baseline measured in the same run; goals are from the issues.',
  '',
]
for (const s of sections) {
  lines.push(`## ${s.title}`, '', `Source: \`bench/${s.file}\` (${s.seconds.toFixed(1)} s).`, '')
  if (s.error) {
    lines.push('```', s.error, '```', '')
    continue
  }
  if (s.rows.length > 0) {
    const cols = [...new Set(s.rows.flatMap((r) => Object.keys(r)))]
    lines.push(`| ${cols.join(' | ')} |`, `| ${cols.map(() => '---').join(' | ')} |`)
    for (const r of s.rows) lines.push(`| ${cols.map((c) => fmt(r[c])).join(' | ')} |`)
    lines.push('')
  }
  for (const n of s.notes ?? []) lines.push(`- ${n}`)
  if (s.notes?.length) lines.push('')
}
if (only.length === 0) await writeFile(resolve(dir, '..', 'BENCHMARKS.md'), lines.join('\n'))
else console.log(lines.join('\n'))

function fmt(v: string | number | undefined): string {
  if (v === undefined) return ''
  if (typeof v === 'number') return Number.isInteger(v) ? v.toLocaleString('en-US') : v.toPrecision(4)
  return v
}
