import { defineCommand } from 'citty'
import { apiArgs, followEvents, guard, intArg, listArg, table, useGatewayApi } from '../../runtime/cli/index.ts'
import type { FoldRecord, WalkForwardRequest, WalkForwardSummary } from '../walkforward/_types.ts'

/** A walk-forward as GET /api/v1/walkforward/:id answers it (the fields this command shows). */
type WalkForward = {
  operation_id: string
  status: string
  created_at: string
  model_name: string
  request: WalkForwardRequest
  progress: { percentage: number; current_step: string; settled: number; total: number }
  folds: FoldRecord[]
  summary: WalkForwardSummary | null
  error: { message: string; code?: string } | null
}

const TERMINAL = new Set(['completed', 'failed', 'cancelled'])
const f = (v: number | null | undefined, digits = 2) => (typeof v === 'number' && Number.isFinite(v) ? v.toFixed(digits) : '-')
const pct = (v: number | null | undefined) => (typeof v === 'number' && Number.isFinite(v) ? `${v.toFixed(2)}%` : '-')

/** The folds as a table: windows, training accuracy beside its baseline, test return beside buy-and-hold and random entries. */
function foldsTable(w: WalkForward): string {
  const rows = w.folds.flatMap((fold) =>
    (fold.test.runs?.length ? fold.test.runs : [null]).map((run) => ({
      fold: fold.fold,
      train: `${fold.train.start}..${fold.train.end}`,
      test: `${fold.test.start}..${fold.test.end}`,
      'test acc': fold.training
        ? `${f(fold.training.metrics.test_accuracy, 3)} (maj ${f(fold.training.metrics.majority_baseline, 3)})`
        : '-',
      symbol: fold.skipped ? 'skipped' : (run?.symbol ?? '-'),
      return: pct(run?.metrics.total_return_pct),
      'buy&hold': pct(run?.baselines.buy_and_hold_pct),
      'random p50': pct(run?.baselines.random_p50_pct),
      'p-value': f(run?.baselines.p_value, 4),
      sharpe: f(run?.metrics.sharpe_ratio),
      trades: run?.metrics.total_trades ?? '-',
      overlap: run?.out_of_sample.overlap_bars ?? '-',
    })),
  )
  return table(rows, [
    'fold',
    'train',
    'test',
    'test acc',
    'symbol',
    'return',
    'buy&hold',
    'random p50',
    'p-value',
    'sharpe',
    'trades',
    'overlap',
  ])
}

const STABILITY_ROWS = [
  'total_return_pct',
  'buy_and_hold_pct',
  'random_p50_pct',
  'excess_return_pct',
  'sharpe_ratio',
  'max_drawdown_pct',
  'win_rate',
  'total_trades',
]

/** The folds left out, each with why: nothing dropped goes unsaid. */
function skippedText(w: WalkForward): string[] {
  const skipped = w.folds.filter((f) => f.skipped)
  if (!skipped.length) return []
  return [
    `${skipped.length} of ${w.folds.length} folds skipped (left out of the stitched curve and every figure across folds):`,
    ...skipped.map((f) => `  fold ${f.fold} (test ${f.test.start}..${f.test.end}): ${f.skipped!.reason}`),
  ]
}

function summaryText(w: WalkForward): string {
  const r = w.request
  const lines = [
    `${w.operation_id}  ${w.status}  ${w.progress.percentage}%  ${w.progress.current_step}`,
    `  ${r.strategy} on ${r.symbols.join(',')} ${r.timeframe}, ${r.start_date} → ${r.end_date}: ${r.mode}, train ${r.train_window}, test ${r.test_window}, step ${r.step}`,
    `  models under ${w.model_name}`,
    '',
    foldsTable(w),
  ]
  const skipped = skippedText(w)
  if (skipped.length) lines.push('', ...skipped)
  if (w.summary) {
    for (const [symbol, s] of Object.entries(w.summary.stitched)) {
      const c = w.summary.consistency[symbol]
      lines.push(
        '',
        `${symbol} out of sample (stitched, ${s.bars} bars): ${pct(s.total_return_pct)} vs buy-and-hold ${pct(s.buy_and_hold_return_pct)}, max drawdown ${pct(s.max_drawdown_pct)}`,
        `  positive in ${c.positive}/${c.folds} folds, beat buy-and-hold in ${c.beat_buy_and_hold}/${c.folds}, beat random entries (p ≤ 0.05) in ${c.significant}/${c.folds}`,
        table(
          STABILITY_ROWS.filter((m) => w.summary!.stability[symbol]?.[m]).map((m) => {
            const x = w.summary!.stability[symbol][m]
            return {
              metric: m,
              mean: f(x.mean),
              std: f(x.std),
              min: f(x.min),
              max: f(x.max),
              'positive folds': x.positive_share === null ? '-' : `${Math.round(x.positive_share * 100)}%`,
            }
          }),
          ['metric', 'mean', 'std', 'min', 'max', 'positive folds'],
        ),
      )
    }
    lines.push('', `files: /api/v1/results/${w.summary.files.summary} · ${w.summary.files.folds} · ${w.summary.files.equity}`)
  }
  if (w.error) lines.push('', `error: ${w.error.message}`)
  return lines.join('\n')
}

const start = defineCommand({
  meta: { name: 'start', description: 'Start a walk-forward: rolling or anchored train → out-of-sample test folds' },
  args: {
    strategy: { type: 'string', required: true, description: 'A strategy in the strategies mount' },
    train: { type: 'string', required: true, description: 'Training window: 90d, 12w, 6m, 1y' },
    test: { type: 'string', required: true, description: 'Test window, right after each training window' },
    step: { type: 'string', description: 'How far each fold moves (default: the test window)' },
    mode: { type: 'string', description: 'rolling (default) or anchored' },
    symbols: { type: 'string', description: 'Comma-separated (default: the strategy’s)' },
    timeframe: { type: 'string', description: 'Default: the strategy’s base timeframe' },
    start: { type: 'string', description: 'YYYY-MM-DD (default: the first day with data)' },
    end: { type: 'string', description: 'YYYY-MM-DD (default: the last day with data)' },
    epochs: { type: 'string', description: 'Override training.epochs' },
    seed: { type: 'string', description: 'Training seed' },
    'max-parallel': { type: 'string', description: 'Children at once (default: the hosts’ slots)' },
    commission: { type: 'string', description: 'Backtest commission (fraction)' },
    slippage: { type: 'string', description: 'Backtest slippage (fraction)' },
    capital: { type: 'string', description: 'Backtest initial capital' },
    wait: { type: 'boolean', description: 'Follow it until it ends, then print the folds and the summary' },
    ...apiArgs,
  },
  run: ({ args }) =>
    guard(async () => {
      const api = useGatewayApi(args.url)
      const number = (name: string, v: string | undefined) => {
        if (v === undefined) return undefined
        const n = Number(v)
        if (!Number.isFinite(n)) throw new Error(`--${name} must be a number, got "${v}"`)
        return n
      }
      const body: Record<string, unknown> = { strategy: args.strategy, train_window: args.train, test_window: args.test }
      const symbols = listArg(args.symbols)
      const optional: Record<string, unknown> = {
        step: args.step,
        mode: args.mode,
        symbols,
        timeframe: args.timeframe,
        start_date: args.start,
        end_date: args.end,
        epochs: intArg('epochs', args.epochs, { min: 1 }),
        seed: intArg('seed', args.seed),
        max_parallel: intArg('max-parallel', args['max-parallel'], { min: 1 }),
        commission: number('commission', args.commission),
        slippage: number('slippage', args.slippage),
        initial_capital: number('capital', args.capital),
      }
      for (const [k, v] of Object.entries(optional)) if (v !== undefined) body[k] = v
      const started = await api<WalkForward>('/api/v1/walkforward', { method: 'POST', body })
      if (args.json && !args.wait) return console.log(JSON.stringify(started, null, 2))
      const runnable = started.folds.filter((x) => !x.skipped).length
      console.log(`Started ${started.operation_id}: ${runnable} folds, ${runnable * 2} child operations`)
      for (const line of skippedText(started)) console.log(line)
      if (!args.wait) return
      let last = ''
      let final: WalkForward | null = null
      // The gateway pushes each change (a child started or read); nothing polls.
      for await (const event of followEvents(api, `/api/v1/walkforward/${encodeURIComponent(started.operation_id)}/events`, {
        done: (e) => TERMINAL.has(e.event),
      })) {
        const w = JSON.parse(event.data) as WalkForward
        const line = `${w.progress.settled}/${w.progress.total} children done: ${w.progress.current_step}`
        if (line !== last && !args.json) console.log(line)
        last = line
        if (TERMINAL.has(event.event)) final = w
      }
      if (!final) throw new Error(`The event stream of ${started.operation_id} ended before it finished`)
      console.log(args.json ? JSON.stringify(final, null, 2) : summaryText(final))
      if (final.status !== 'completed') process.exitCode = 1
    }),
})

const list = defineCommand({
  meta: { name: 'list', description: 'Walk-forwards, newest first' },
  args: { status: { type: 'string', description: 'Filter: pending,running,completed,failed,cancelled' }, ...apiArgs },
  run: ({ args }) =>
    guard(async () => {
      const q = args.status ? `?status=${encodeURIComponent(args.status)}` : ''
      const { data } = await useGatewayApi(args.url)<{ data: WalkForward[] }>(`/api/v1/walkforward${q}`)
      if (args.json) return console.log(JSON.stringify(data, null, 2))
      console.log(
        table(
          data.map((w) => ({
            operation: w.operation_id,
            status: w.status,
            strategy: w.request.strategy,
            folds: w.folds.length,
            windows: `${w.request.mode} ${w.request.train_window}/${w.request.test_window}`,
            'oos return': w.summary
              ? Object.values(w.summary.stitched)
                  .map((s) => pct(s.total_return_pct))
                  .join(',')
              : '-',
            created: w.created_at,
          })),
          ['operation', 'status', 'strategy', 'folds', 'windows', 'oos return', 'created'],
        ),
      )
    }),
})

const show = defineCommand({
  meta: { name: 'show', description: 'One walk-forward: the folds beside their baselines, the stitched curve, stability across folds' },
  args: { id: { type: 'positional', required: true, description: 'Walk-forward operation id' }, ...apiArgs },
  run: ({ args }) =>
    guard(async () => {
      const { data } = await useGatewayApi(args.url)<{ data: WalkForward }>(`/api/v1/walkforward/${encodeURIComponent(args.id)}`)
      console.log(args.json ? JSON.stringify(data, null, 2) : summaryText(data))
    }),
})

const cancel = defineCommand({
  meta: { name: 'cancel', description: 'Cancel a walk-forward and its pending or running children' },
  args: { id: { type: 'positional', required: true, description: 'Walk-forward operation id' }, ...apiArgs },
  run: ({ args }) =>
    guard(async () => {
      const r = await useGatewayApi(args.url)<{ status: string; cancelled_children: string[] }>(
        `/api/v1/walkforward/${encodeURIComponent(args.id)}`,
        { method: 'DELETE' },
      )
      console.log(`${args.id} ${r.status}${r.cancelled_children.length ? `; cancelled ${r.cancelled_children.join(', ')}` : ''}`)
    }),
})

export default defineCommand({
  meta: {
    name: 'walkforward',
    description: 'Walk-forward analysis: rolling or anchored train → out-of-sample test folds, as child operations',
  },
  subCommands: { start, list, show, cancel },
})
