// `ktrdr compare <op…>`: 2–6 backtests or trainings side by side (GET /api/v1/compare), as a table or HTML.
import { writeFile } from 'node:fs/promises'
import { resolve } from 'node:path'
import { defineCommand } from 'citty'
import { apiArgs, guard, useGatewayApi } from '../../runtime/cli/index.ts'
import type { Comparison } from '../api/compare.ts'
import { buildTearsheet } from '../ui/report.ts'
import { formatCell } from './_format.ts'

const WIDE = 40

/**
 * Metric rows down, operations across; the best column of a row marked with `*`, baselines
 * indented under the figure they belong to. Long text (verdicts, windows) follows the table.
 */
export function comparisonTable(c: Comparison): string {
  const header = ['', ...c.operations.map((o) => o.label)]
  const ids = ['', ...c.operations.map((o) => o.operation_id)]
  const wide = c.rows.filter((r) => r.format === 'text' && r.values.some((v) => typeof v === 'string' && v.length > WIDE))
  const rows = c.rows.filter((r) => !wide.includes(r))
  const body = rows.map((r) => [
    r.baseline_of ? `  ${r.label}` : r.label,
    ...r.values.map((v, i) => `${formatCell(v, r.format)}${r.best === i ? ' *' : ''}`),
  ])
  const all = [header, ids, ...body]
  const widths = header.map((_, i) => Math.max(...all.map((row) => row[i].length)))
  const line = (row: string[], numeric = false) =>
    row
      .map((cell, i) => (i > 0 && numeric ? cell.padStart(widths[i]) : cell.padEnd(widths[i])))
      .join('  ')
      .trimEnd()
  const notes = wide.flatMap((r) => [`${r.label}:`, ...r.values.map((v, i) => `  ${c.operations[i].operation_id}  ${v ?? '-'}`)])
  return [
    line(header),
    line(ids),
    widths.map((w) => '-'.repeat(w)).join('  '),
    ...body.map((row, k) => line(row, rows[k].format !== 'text')),
    '',
    ...notes,
    ...(notes.length ? [''] : []),
    '* the best of the row (none on a tie)',
  ].join('\n')
}

export default defineCommand({
  meta: { name: 'compare', description: 'Compare 2–6 completed backtests (or trainings) side by side, each figure beside its baselines' },
  args: {
    operations: { type: 'positional', required: true, description: 'Operation ids' },
    html: { type: 'string', description: 'Also write a self-contained HTML comparison to this file' },
    json: apiArgs.json,
    url: apiArgs.url,
  },
  run: ({ args }) =>
    guard(async () => {
      const api = useGatewayApi(args.url)
      const ids = (args._ as string[]).length ? (args._ as string[]) : [String(args.operations)]
      const comparison = await api<Comparison>('/api/v1/compare', { query: { ids: ids.join(',') } })
      if (args.json) console.log(JSON.stringify(comparison, null, 2))
      else console.log(comparisonTable(comparison))
      if (args.html) {
        const charts: Record<string, unknown> = {}
        if (comparison.kind === 'backtest')
          for (const o of comparison.operations)
            charts[o.operation_id] = await api(`/api/v1/backtests/${encodeURIComponent(o.operation_id)}/chart`, {
              query: { max_points: 1500, max_trades: 0 },
            })
        const html = await buildTearsheet({
          view: 'compare',
          data: { comparison, charts },
          title: `Comparing ${comparison.operations.map((o) => o.operation_id).join(', ')}`,
          generatedBy: 'ktrdr compare',
        })
        const out = resolve(args.html)
        await writeFile(out, html)
        console.error(`Wrote ${out} (${(Buffer.byteLength(html) / 1024).toFixed(0)} KiB, opens offline)`)
      }
    }),
})
