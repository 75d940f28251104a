import type { CompareFormat, CompareRow } from '../api/_compare.ts'
import { byFormat } from '../ui/public/js/format.js'

/**
 * A comparison cell as text: the dashboard's own formatting (one implementation for both), with an
 * ASCII `-` where a value is missing.
 */
export const formatCell = (v: number | string | null, format: CompareFormat): string => byFormat(v, format, '-')

const WIDE = 40

/**
 * Metric rows down, one column per compared thing (operations, model versions); the best column of
 * a row marked with `*`, baselines indented under the figure they belong to. Long text (verdicts,
 * windows) follows the table.
 */
export function compareGrid(columns: Array<{ id: string; label: string }>, compared: CompareRow[]): string {
  const header = ['', ...columns.map((o) => o.label)]
  const ids = ['', ...columns.map((o) => o.id)]
  const wide = compared.filter((r) => r.format === 'text' && r.values.some((v) => typeof v === 'string' && v.length > WIDE))
  const rows = compared.filter((r) => !wide.includes(r))
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
  const notes = wide.flatMap((r) => [`${r.label}:`, ...r.values.map((v, i) => `  ${columns[i].id}  ${v ?? '-'}`)])
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
