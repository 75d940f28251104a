import { defineCommand } from 'citty'
import { apiArgs, followEvents, guard, intArg, table, useGatewayApi } from '../../runtime/cli/index.ts'

type Row = {
  name: string
  status: string
  error: string | null
  metrics: Record<string, number | null>
  excess_return_pct: number | null
  baselines: Record<string, number | null> | null
  training_metrics: Record<string, number | null> | null
  best: boolean
}
type Sweep = {
  operation_id: string
  status: string
  created_at: string
  model_name: string | null
  request: { strategy: string; symbol: string; timeframe: string; search: { method: string }; rank_by: string }
  progress: { percentage: number; current_step: string; settled: number; total: number }
  trainings: unknown[]
  backtests: unknown[]
  table: Row[] | null
  summary: {
    runs: number
    completed: number
    failed: number
    rank_by: string
    best: { name: string; value: number } | null
    files: { summary: string; table: string }
  } | null
  error: { message: string } | null
}

const TERMINAL = new Set(['completed', 'failed', 'cancelled'])
const f = (v: number | null | undefined, digits = 2) => (typeof v === 'number' && Number.isFinite(v) ? v.toFixed(digits) : '-')
const pct = (v: number | null | undefined) => (typeof v === 'number' && Number.isFinite(v) ? `${v.toFixed(2)}%` : '-')

/**
 * `learning_rate=0.001,0.005 hidden_layers=64-32,16`: parameters separated by spaces, values by
 * commas; `64-32` is a list of layer sizes; `a..b` a range for random search (`a..b:log`, `a..b:int`).
 */
export function parseParams(text: string | undefined, flag: string): Record<string, unknown> | undefined {
  if (!text) return undefined
  const out: Record<string, unknown> = {}
  for (const part of text.trim().split(/\s+/)) {
    const eq = part.indexOf('=')
    if (eq <= 0) throw new Error(`--${flag}: "${part}" is not name=values (e.g. learning_rate=0.001,0.005)`)
    const name = part.slice(0, eq)
    const spec = part.slice(eq + 1)
    const range = /^([\d.e+-]+)\.\.([\d.e+-]+)(?::(log|int))?$/.exec(spec)
    if (range) {
      out[name] = {
        min: Number(range[1]),
        max: Number(range[2]),
        ...(range[3] === 'log' ? { log: true } : range[3] === 'int' ? { integer: true } : {}),
      }
      continue
    }
    out[name] = spec.split(',').map((v) => {
      if (v === 'true' || v === 'false') return v === 'true'
      if (/^\d+(-\d+)+$/.test(v) || (name === 'hidden_layers' && /^\d+$/.test(v))) return v.split('-').map(Number)
      const n = Number(v)
      if (v === '' || !Number.isFinite(n)) throw new Error(`--${flag}: ${name} value "${v}" is not a number`)
      return n
    })
  }
  return out
}

function tableText(s: Sweep): string {
  const rows = (s.table ?? []).map((r) => ({
    best: r.best ? '*' : '',
    run: r.name,
    status: r.status,
    return: pct(r.metrics.total_return_pct),
    'buy&hold': pct(r.baselines?.buy_and_hold_pct),
    'random p50': pct(r.baselines?.random_p50_pct),
    'p-value': f(r.baselines?.p_value, 4),
    sharpe: f(r.metrics.sharpe_ratio),
    'max dd': pct(r.metrics.max_drawdown_pct),
    trades: r.metrics.total_trades ?? '-',
    'test acc': r.training_metrics ? `${f(r.training_metrics.test_accuracy, 3)} (maj ${f(r.training_metrics.majority_baseline, 3)})` : '-',
  }))
  return table(rows, ['best', 'run', 'status', 'return', 'buy&hold', 'random p50', 'p-value', 'sharpe', 'max dd', 'trades', 'test acc'])
}

function summaryText(s: Sweep): string {
  const lines = [
    `${s.operation_id}  ${s.status}  ${s.progress.percentage}%  ${s.progress.current_step}`,
    `  ${s.request.strategy} on ${s.request.symbol} ${s.request.timeframe}: ${s.request.search.method} search, ${s.trainings.length} trainings, ${s.backtests.length} backtests${s.model_name ? `; models under ${s.model_name}` : ''}`,
  ]
  if (s.table) lines.push('', tableText(s))
  if (s.summary) {
    const best = s.summary.best
      ? `best by ${s.summary.rank_by}: ${s.summary.best.name} (${f(s.summary.best.value, 4)})`
      : `no single best by ${s.summary.rank_by}`
    lines.push(
      '',
      `${s.summary.completed} of ${s.summary.runs} runs completed; ${best}`,
      `files: /api/v1/results/${s.summary.files.summary} · ${s.summary.files.table}`,
    )
    for (const r of (s.table ?? []).filter((x) => x.error)) lines.push(`  ${r.name}: ${r.error}`)
  }
  if (s.error) lines.push('', `error: ${s.error.message}`)
  return lines.join('\n')
}

const start = defineCommand({
  meta: {
    name: 'start',
    description: 'Start a sweep: training hyperparameters and/or backtest parameter sets, each run a child operation',
  },
  args: {
    strategy: { type: 'string', required: true, description: 'A strategy in the strategies mount' },
    train: { type: 'string', description: 'Training parameters: "learning_rate=0.001,0.005 hidden_layers=64-32,16"' },
    backtest: { type: 'string', description: 'Backtest parameters: "confidence_threshold=0.4,0.6 min_signal_separation=0,4"' },
    'train-start': { type: 'string', description: 'YYYY-MM-DD' },
    'train-end': { type: 'string', description: 'YYYY-MM-DD: the last day of training (unless --model)' },
    'test-start': { type: 'string', required: true, description: 'YYYY-MM-DD: the first day of the out-of-sample backtest' },
    'test-end': { type: 'string', description: 'YYYY-MM-DD' },
    model: { type: 'string', description: 'Backtest this model instead of training (strategy/1h_v3)' },
    symbol: { type: 'string', description: 'Default: the strategy’s first symbol' },
    timeframe: { type: 'string', description: 'Default: the strategy’s base timeframe' },
    epochs: { type: 'string', description: 'Override training.epochs' },
    seed: { type: 'string', description: 'Training seed' },
    random: { type: 'string', description: 'Random search: this many combinations (default: the whole grid)' },
    'search-seed': { type: 'string', description: 'Seed of the random search (default 1)' },
    'rank-by': { type: 'string', description: 'sharpe_ratio (default), total_return_pct, excess_return_pct, max_drawdown_pct, p_value, …' },
    'max-parallel': { type: 'string', description: 'Children at once (default: the hosts’ slots)' },
    wait: { type: 'boolean', description: 'Follow it until it ends, then print the table' },
    ...apiArgs,
  },
  run: ({ args }) =>
    guard(async () => {
      const api = useGatewayApi(args.url)
      const parameters = parseParams(args.train, 'train')
      const training = args.model
        ? undefined
        : Object.fromEntries(
            Object.entries({
              start_date: args['train-start'],
              end_date: args['train-end'],
              epochs: intArg('epochs', args.epochs, { min: 1 }),
              seed: intArg('seed', args.seed),
              parameters,
            }).filter(([, v]) => v !== undefined),
          )
      const backtest = Object.fromEntries(
        Object.entries({
          start_date: args['test-start'],
          end_date: args['test-end'],
          model_path: args.model,
          parameters: parseParams(args.backtest, 'backtest'),
        }).filter(([, v]) => v !== undefined),
      )
      const samples = intArg('random', args.random, { min: 1 })
      const body: Record<string, unknown> = { strategy: args.strategy, backtest }
      if (training) body.training = training
      else if (parameters) throw new Error('--train varies the training: it cannot go with --model')
      if (args.symbol) body.symbol = args.symbol
      if (args.timeframe) body.timeframe = args.timeframe
      if (samples !== undefined) body.search = { method: 'random', samples, seed: intArg('search-seed', args['search-seed']) ?? 1 }
      if (args['rank-by']) body.rank_by = args['rank-by']
      const parallel = intArg('max-parallel', args['max-parallel'], { min: 1 })
      if (parallel !== undefined) body.max_parallel = parallel
      const started = await api<Sweep>('/api/v1/sweeps', { method: 'POST', body })
      if (args.json && !args.wait) return console.log(JSON.stringify(started, null, 2))
      console.log(`Started ${started.operation_id}: ${started.trainings.length} trainings, ${started.backtests.length} backtests`)
      if (!args.wait) return
      let last = ''
      let final: Sweep | null = null
      // The gateway pushes each change (a child started or read); nothing polls.
      for await (const event of followEvents(api, `/api/v1/sweeps/${encodeURIComponent(started.operation_id)}/events`, {
        done: (e) => TERMINAL.has(e.event),
      })) {
        const s = JSON.parse(event.data) as Sweep
        const line = `${s.progress.settled}/${s.progress.total} children done: ${s.progress.current_step}`
        if (line !== last && !args.json) console.log(line)
        last = line
        if (TERMINAL.has(event.event)) final = s
      }
      if (!final) throw new Error(`The event stream of ${started.operation_id} ended before it finished`)
      console.log(args.json ? JSON.stringify(final, null, 2) : summaryText(final))
      if (final.status !== 'completed') process.exitCode = 1
    }),
})

const list = defineCommand({
  meta: { name: 'list', description: 'Sweeps, newest first' },
  args: { status: { type: 'string', description: 'Filter: pending,running,completed,failed,cancelled' }, ...apiArgs },
  run: ({ args }) =>
    guard(async () => {
      const q = args.status ? `?status=${encodeURIComponent(args.status)}` : ''
      const { data } = await useGatewayApi(args.url)<{ data: Sweep[] }>(`/api/v1/sweeps${q}`)
      if (args.json) return console.log(JSON.stringify(data, null, 2))
      console.log(
        table(
          data.map((s) => ({
            operation: s.operation_id,
            status: s.status,
            strategy: s.request.strategy,
            runs: s.summary?.runs ?? '-',
            best: s.summary?.best?.name ?? '-',
            created: s.created_at,
          })),
          ['operation', 'status', 'strategy', 'runs', 'best', 'created'],
        ),
      )
    }),
})

const show = defineCommand({
  meta: { name: 'show', description: 'One sweep: a row per run named by its parameters, figures beside baselines, the best marked' },
  args: { id: { type: 'positional', required: true, description: 'Sweep operation id' }, ...apiArgs },
  run: ({ args }) =>
    guard(async () => {
      const { data } = await useGatewayApi(args.url)<{ data: Sweep }>(`/api/v1/sweeps/${encodeURIComponent(args.id)}`)
      console.log(args.json ? JSON.stringify(data, null, 2) : summaryText(data))
    }),
})

const cancel = defineCommand({
  meta: { name: 'cancel', description: 'Cancel a sweep and its pending or running children' },
  args: { id: { type: 'positional', required: true, description: 'Sweep operation id' }, ...apiArgs },
  run: ({ args }) =>
    guard(async () => {
      const r = await useGatewayApi(args.url)<{ status: string; cancelled_children: string[] }>(
        `/api/v1/sweeps/${encodeURIComponent(args.id)}`,
        {
          method: 'DELETE',
        },
      )
      console.log(`${args.id} ${r.status}${r.cancelled_children.length ? `; cancelled ${r.cancelled_children.join(', ')}` : ''}`)
    }),
})

export default defineCommand({
  meta: {
    name: 'sweep',
    description: 'Parameter sweeps: training hyperparameters and backtest parameter sets fanned out as child operations',
  },
  subCommands: { start, list, show, cancel },
})
