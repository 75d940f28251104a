// `ktrdr report <operation_id>`: one self-contained HTML tearsheet of a backtest or a training.
import { writeFile } from 'node:fs/promises'
import { resolve } from 'node:path'
import { defineCommand } from 'citty'
import { apiArgs, guard, intArg, useGatewayApi } from '../../runtime/cli/index.ts'
import { buildTearsheet } from '../ui/report.ts'

const enc = encodeURIComponent

export default defineCommand({
  meta: {
    name: 'report',
    description: 'Write a self-contained HTML tearsheet (charts, metrics beside baselines) of a finished backtest or training',
  },
  args: {
    operation_id: { type: 'positional', required: true, description: 'A completed backtest or training' },
    out: { type: 'string', description: 'Output file (default: report-<operation_id>.html)' },
    symbol: { type: 'string', description: 'Backtest run to draw: its symbol (default: the first run)' },
    run: { type: 'string', description: 'Backtest run to draw: its parameter set index' },
    'max-points': { type: 'string', description: 'Points per curve (min/max decimated on the gateway)', default: '4000' },
    json: { type: 'boolean', description: 'Print what was written as JSON (file, size, what it shows)' },
    url: apiArgs.url,
  },
  run: ({ args }) =>
    guard(async () => {
      const maxPoints = intArg('max-points', args['max-points'], { min: 2, max: 1_000_000 })
      const api = useGatewayApi(args.url)
      const id = String(args.operation_id)
      const results = await api<{ operation_type: string; status: string; results: Record<string, any> | null }>(
        `/api/v1/operations/${enc(id)}/results`,
      )
      if (results.status !== 'completed' || !results.results)
        throw new Error(`Operation ${id} is ${results.status}: a report needs a completed backtest or training`)
      const r = results.results
      let html: string
      let what: string
      let view: 'backtest' | 'training'
      if (results.operation_type === 'backtesting' || Array.isArray(r.runs)) {
        const chart = await api<Record<string, any>>(`/api/v1/backtests/${enc(id)}/chart`, {
          query: { max_points: maxPoints, symbol: args.symbol, run: args.run, max_trades: 100_000 },
        })
        view = 'backtest'
        what = `backtest ${r.strategy_name ?? ''} ${chart.symbol} run ${chart.run}: ${chart.bars} bars, ${chart.trade_count} trades`
        html = await buildTearsheet({
          view: 'backtest',
          data: { result: r, chart },
          title: `Backtest ${r.strategy_name ?? ''} ${chart.symbol} · ${id}`,
        })
      } else if (results.operation_type === 'training' || r.training_metrics) {
        view = 'training'
        what = `training ${r.model_key ?? ''}: ${r.training_metrics?.epochs_trained ?? '?'} epochs`
        html = await buildTearsheet({
          view: 'training',
          data: { result: r, operationId: id },
          title: `Training ${r.model_key ?? ''} · ${id}`,
        })
      } else {
        throw new Error(`Operation ${id} is a ${results.operation_type} operation: reports exist for backtests and trainings`)
      }
      const out = resolve(args.out || `report-${id}.html`)
      await writeFile(out, html)
      const bytes = Buffer.byteLength(html)
      if (args.json) return void console.log(JSON.stringify({ file: out, bytes, operation_id: id, view, summary: what.trim() }, null, 2))
      console.log(`Wrote ${out} (${(bytes / 1024).toFixed(0)} KiB, opens offline): ${what}`)
    }),
})
