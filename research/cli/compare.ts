// `ktrdr compare <op…>`: 2–6 backtests or trainings side by side (GET /api/v1/compare), as a table or HTML.
import { writeFile } from 'node:fs/promises'
import { resolve } from 'node:path'
import { defineCommand } from 'citty'
import { apiArgs, guard, useGatewayApi } from '../../runtime/cli/index.ts'
import type { Comparison } from '../api/compare.ts'
import { buildTearsheet } from '../ui/report.ts'
import { compareGrid } from './_format.ts'

/** Metric rows down, operations across (the table `ktrdr model compare` prints too). */
export function comparisonTable(c: Comparison): string {
  return compareGrid(
    c.operations.map((o) => ({ id: o.operation_id, label: o.label })),
    c.rows,
  )
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
