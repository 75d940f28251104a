// `ktrdr demo` — the README's main command: the whole research loop on one machine. A local
// cluster (gateway + 2 hosts) in this process, the train and backtest functions built and
// deployed, a synthetic market generated, a strategy trained and backtested on a later window,
// all through the gateway's REST API, with progress printed while it works.
import { readdir } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { defineCommand } from 'citty'
import { consola } from 'consola'
import { deployFunction, followOperation, isFinished, startLocalCluster, type GatewayClient } from '../../runtime/cli/index.ts'
import type { Operation, OperationLogLine } from '../../runtime/protocol/index.ts'

// The demo is all about its output: consola drops below-warn messages when it thinks it runs
// under a test runner (an env var inherited by a child process is enough), so fix the level.
const log = consola.create({ level: Math.max(consola.level, 3) })

const H = 3_600_000

interface DemoOptions {
  port: number
  /** First host port; 0 = any free port. */
  hostPort: number
  /** planted: the synthetic market with trend regimes a strategy can learn; plain: without. */
  market: 'planted' | 'plain'
  home: string
  strategy: string
  symbol: string
  bars: number
  epochs: number
  seed: number
  serve: boolean
}

/** An operation whose result the demo reads field by field (train's and backtest's result shapes). */
type Op = Omit<Operation, 'result'> & { result: any }

/**
 * Follows an operation over its server-sent events (the current state, each change, then the
 * final state), printing each new progress step; the follower reconnects if the stream drops.
 * Bounded by `timeoutMs`.
 */
async function follow(client: GatewayClient, id: string, label: string, timeoutMs: number): Promise<Op> {
  let last = ''
  let lastStep = ''
  let lastAt = 0
  let latest: Operation | null = null
  const deadline = AbortSignal.timeout(timeoutMs)
  let final: Op
  try {
    final = (await followOperation(client, id, {
      signal: deadline,
      onState: (op) => {
        latest = op
        const step = op.progress.current_step ?? op.status
        const line = `${op.progress.percentage.toFixed(0).padStart(3)}%  ${step}`
        const done = isFinished(op)
        // Every new step is printed; within one step (training batches) at most a line per 500 ms.
        if (line !== last && (step !== lastStep || done || Date.now() - lastAt >= 500)) {
          log.log(`  [${label}] ${line}`)
          last = line
          lastStep = step
          lastAt = Date.now()
        }
      },
      // What the function reports at info (its data, split, path and each epoch's numbers) comes
      // with the stream; its warnings already reach the terminal through the host's own log.
      onOther: (event) => {
        if (event.event !== 'log') return
        const line = JSON.parse(event.data) as OperationLogLine
        if (line.stream === 'logger' && line.level === 'info') log.log(`  [${label}] ${line.message}`)
      },
    })) as Op
  } catch (error) {
    if (deadline.aborted)
      throw new Error(
        `${label} ${id} did not finish within ${timeoutMs / 1000} s (still ${(latest as Operation | null)?.status ?? 'unknown'})`,
      )
    throw error
  }
  if (final.status === 'completed') return final
  throw new Error(`${label} ${final.operation_id} ${final.status}: ${final.error?.message ?? 'no error message'}`)
}

const fmtPct = (v: number) => `${(v * 100).toFixed(2)}%`
const fmtNum = (v: number, d = 2) => v.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d })

export async function runDemo(o: DemoOptions): Promise<void> {
  const started = Date.now()
  const home = resolve(o.home)
  const [{ createKtrdrStorage }, synthetic, store, { researchRoutes }] = await Promise.all([
    import('../../storage/index.ts'),
    import('../../trading/index.ts'),
    import('../../trading/index.ts'),
    import('../api/index.ts'),
  ])
  const storageConfig = { root: home }
  const storage = await createKtrdrStorage(storageConfig)
  const cleanups: Array<() => Promise<unknown>> = [() => storage.dispose()]

  try {
    log.start(`1/6 Local cluster: gateway on 127.0.0.1:${o.port}, 2 hosts, storage under ${home}`)
    const cluster = await startLocalCluster({
      home,
      port: o.port,
      hosts: 2,
      hostPort: o.hostPort,
      slots: 1,
      workerIdPrefix: 'demo-host',
      gateway: {
        apiToken: null,
        clusterToken: null,
        quiet: true,
        routes: [...researchRoutes, ...(await import('../ui/index.ts')).dashboardRoutes],
      },
      host: (i) => ({ workerType: 'general', cacheDir: join(home, `host-${i + 1}`), logLevel: 'warn', detectGpu: false, gpu: false }),
    })
    cleanups.unshift(() => cluster.close({ timeoutMs: 5000 }))
    const { client } = cluster
    const base = cluster.url
    const workers = await client<unknown[] | { workers: unknown[] }>('/api/v1/workers')
    log.success(`Gateway ${base}, ${Array.isArray(workers) ? workers.length : workers.workers.length} hosts registered`)

    log.start('2/6 Building and deploying the train and backtest functions (Nitro bundles)')
    for (const name of ['train', 'backtest']) {
      const version = await deployFunction(name, { gateway: client, outDir: join(home, 'build') })
      log.success(
        `${name} v${version.version} (${(version.size / 1024).toFixed(0)} KiB, sha256 ${version.sha256.slice(0, 12)}, built in ${((version.buildMs ?? 0) / 1000).toFixed(1)} s)`,
      )
    }

    const structure = o.market === 'planted' ? 'trend_regimes' : 'none'
    log.start(
      `3/6 Synthetic market: ${o.symbol} 1h, ${o.bars.toLocaleString('en-US')} bars (seed ${o.seed}, ${o.market === 'planted' ? `planted structure: up/down trend regimes of ~${synthetic.PLANTED_REGIME_BARS} bars` : 'plain: no planted structure'}) — SYNTHETIC data, not a real market`,
    )
    const series = synthetic.generateSyntheticSeries({
      symbol: o.symbol,
      timeframe: '1h',
      preset: 'forex',
      seed: o.seed,
      bars: o.bars,
      start: '2020-01-01',
      structure,
    })
    await store.saveBars(storage.data, series, {
      meta: { synthetic: true, generator: synthetic.SYNTHETIC_GENERATOR, seed: o.seed, preset: 'forex', structure },
    })
    const first = series.time[0]
    const last = series.time[series.length - 1]
    // Train on the first 70%, backtest on the rest: the backtest window is unseen by training.
    const split = series.time[Math.floor(series.length * 0.7)]
    const day = (ms: number) => new Date(ms).toISOString().slice(0, 10)
    log.success(`${o.symbol} 1h ${day(first)} → ${day(last)}; train ≤ ${day(split - 24 * H)}, backtest ${day(split)} → ${day(last)}`)

    const { EXAMPLE_STRATEGIES_DIR, seedExampleStrategies } = await import('../seed.ts')
    const files = (await readdir(EXAMPLE_STRATEGIES_DIR).catch(() => [] as string[])).filter((f) => f.endsWith('.yaml'))
    if (!files.includes(`${o.strategy}.yaml`))
      throw new Error(`examples/strategies/${o.strategy}.yaml not found: pick one of ${files.join(', ') || '(none)'}`)
    const copied = await seedExampleStrategies(storage.strategies, EXAMPLE_STRATEGIES_DIR, { overwrite: true })
    log.success(`Copied ${copied.length} example strategies into the strategies mount`)

    log.start(`4/6 Training ${o.strategy} (${o.epochs} epochs) through POST /api/v1/trainings/start`)
    const train = await client<Op>('/api/v1/trainings/start', {
      method: 'POST',
      body: {
        strategy_name: o.strategy,
        symbols: [o.symbol],
        timeframe: '1h',
        start_date: day(first),
        end_date: day(split - 24 * H),
        epochs: o.epochs,
        seed: o.seed,
      },
    })
    const trained = await follow(client, train.operation_id, 'train', 30 * 60_000)
    const modelPath: string = trained.result?.model_path
    if (!modelPath) throw new Error(`train ${train.operation_id} completed without a model_path in its result`)
    const tm = trained.result?.test_metrics ?? {}
    log.success(`Model ${modelPath} (operation ${train.operation_id}, host ${trained.worker_id})`)
    const purged = trained.result?.data_summary?.purged
    if (purged)
      log.log(
        `  Labels purged at the split boundaries: ${purged.train} train, ${purged.validation} validation (they read the next split's bars)`,
      )
    if (typeof tm.test_accuracy === 'number' && typeof tm.majority_baseline === 'number') {
      log.log(
        `  Test accuracy ${fmtPct(tm.test_accuracy)} vs ${fmtPct(tm.majority_baseline)} always-${tm.majority_class}; balanced accuracy ${fmtPct(tm.balanced_accuracy)} vs ${fmtPct(tm.baseline.balanced_accuracy)}; macro F1 ${fmtNum(tm.macro_f1)} vs ${fmtNum(tm.baseline.macro_f1)}`,
      )
    } else if (tm.baselines) {
      log.log(
        `  Test MAE ${tm.mae.toExponential(2)} vs ${tm.baselines.zero_return.mae.toExponential(2)} (zero return); direction ${fmtPct(tm.directional_accuracy)} vs ${fmtPct(tm.baselines.zero_return.directional_accuracy)}`,
      )
    }
    for (const w of trained.result?.warnings ?? []) log.warn(`  ${w.message}`)

    log.start('5/6 Backtesting strictly out of sample (require_out_of_sample) through POST /api/v1/backtests/start')
    // One name per strategy: the file name is what train stored the model under.
    const strategyName: string = trained.result?.session_info?.strategy_name ?? o.strategy
    const bt = await client<Op>('/api/v1/backtests/start', {
      method: 'POST',
      body: {
        model_path: modelPath,
        strategy_name: strategyName,
        symbol: o.symbol,
        timeframe: '1h',
        start_date: day(split),
        end_date: day(last),
        initial_capital: 100_000,
        commission: 0.001,
        slippage: 0.0005,
        require_out_of_sample: true,
      },
    })
    const done = await follow(client, bt.operation_id, 'backtest', 15 * 60_000)
    const r = done.result
    const m = r.metrics

    log.start('6/6 Results')
    const b = r.baselines
    const rnd = b.random_entries
    const d = r.decisions
    const rows: Array<[string, string]> = [
      ['Strategy / model', `${r.strategy_name} / ${r.model?.key ?? modelPath}`],
      [
        'Window',
        `${r.start_time} → ${r.end_time} (${r.equity_curve_length.toLocaleString('en-US')} bars, ${r.synthetic_data ? 'SYNTHETIC data' : 'market data'}, out of sample: ${r.out_of_sample.overlap_bars} bars overlap training)`,
      ],
      ['Total return', `${fmtNum(m.total_return)} (${fmtNum(m.total_return_pct)}%), annualised ${fmtPct(m.annualized_return)}`],
      [
        'Buy and hold',
        `${fmtNum(b.buy_and_hold.market_return_pct)}% market, ${fmtNum(b.buy_and_hold.return_pct)}% at the same position size and costs`,
      ],
      [
        'Random entries',
        rnd
          ? `${rnd.draws} draws, same trades/sides/holding times: median ${fmtNum(rnd.p50_return_pct)}%, 5–95% ${fmtNum(rnd.p05_return_pct)}% … ${fmtNum(rnd.p95_return_pct)}%; strategy ${fmtNum(rnd.strategy_return_pct)}% → ${fmtNum(rnd.percentile, 1)}th percentile, p = ${rnd.p_value.toFixed(4)}`
          : '-',
      ],
      [
        'Sharpe / Sortino / Calmar',
        `${fmtNum(m.sharpe_ratio)} / ${fmtNum(m.sortino_ratio)} / ${fmtNum(m.calmar_ratio)} (annualised by ${fmtNum(r.annualization?.periods_per_year ?? 0, 0)} bars/year)`,
      ],
      ['Max drawdown', `${fmtNum(m.max_drawdown_pct)}% (${fmtNum(m.max_drawdown)})`],
      [
        'Trades',
        `${m.total_trades} (win rate ${fmtPct(m.win_rate)}, profit factor ${fmtNum(m.profit_factor)}, avg hold ${fmtNum(m.avg_holding_period, 1)} h)`,
      ],
      [
        'Decisions',
        `${d.calls.buy} BUY / ${d.calls.sell} SELL / ${d.calls.hold} HOLD calls; filtered: ${d.filtered.confidence} confidence, ${d.filtered.cost} cost, ${d.filtered.separation} separation, ${d.filtered.position} already in position, ${d.filtered.long_only} long-only; in the market ${fmtNum(d.time_in_market_pct, 0)}% of bars, exposure ${fmtNum(d.exposure_pct, 1)}%${d.why_no_trades ? `; no trades: ${d.why_no_trades}` : ''}`,
      ],
      [
        'Engine',
        r.timings
          ? `features ${fmtNum(r.timings.features_s, 3)} s, inference ${fmtNum(r.timings.inference_s, 3)} s, engine ${fmtNum(r.timings.engine_s, 3)} s, baselines ${fmtNum(r.timings.baselines_s ?? 0, 3)} s`
          : '-',
      ],
      ['Operations', `train ${train.operation_id}, backtest ${bt.operation_id}`],
    ]
    const width = Math.max(...rows.map(([k]) => k.length))
    for (const [k, v] of rows) log.log(`  ${k.padEnd(width)}  ${v}`)
    for (const w of r.warnings ?? []) log.warn(`  ${w.message}`)
    log.log('')
    // The honest headline: an edge only where random entries with the same trades rarely match it.
    log.log(`Verdict (${o.market} market, out of sample): ${b.verdict}`)
    const resultsDir = join(home, 'results')
    log.log('')
    log.log('Full results:')
    log.log(`  trades        ${join(resultsDir, r.results.trades_key)}`)
    if (r.results.equity_curve_key) log.log(`  equity curve  ${join(resultsDir, r.results.equity_curve_key)}`)
    log.log(`  summary       ${join(resultsDir, r.results_prefix, 'summary.json')}`)
    log.log(`  model         ${join(home, modelPath)}`)
    log.log('')
    log.log(
      `Look at them in the dashboard or through the API${o.serve ? '' : ' (the gateway keeps them; `ktrdr demo --serve` or `ktrdr up --port ' + o.port + '` to query)'}:`,
    )
    // Keys become URL paths segment by segment (symbols and strategy names may hold odd characters).
    const url = (key: string) => key.split('/').map(encodeURIComponent).join('/')
    const modelKey: string = trained.result?.model_key ?? modelPath.replace(/^models\//, '')
    log.log(`  dashboard     ${base}/ui/#/backtests/${bt.operation_id}   (and #/trainings/${train.operation_id})`)
    log.log(`  tearsheet     npx ktrdr report ${bt.operation_id} --url ${base}   (one HTML file, opens offline)`)
    log.log(`  curl -s ${base}/api/v1/operations/${bt.operation_id}/results | jq .results.metrics`)
    log.log(`  curl -s ${base}/api/v1/results/${url(r.results_prefix)} | jq -r '.data[].key'`)
    log.log(`  curl -s ${base}/api/v1/results/${url(r.results.trades_key)} | jq '.[0:3]'`)
    if (r.results.equity_curve_key) log.log(`  curl -s ${base}/api/v1/results/${url(r.results.equity_curve_key)} | head`)
    log.log(`  curl -s ${base}/api/v1/trainings/${train.operation_id}/performance | jq`)
    log.log(`  curl -s ${base}/api/v1/models/${url(modelKey)} | jq .data.metrics`)
    log.log(`  npx ktrdr model list --url ${base}   (per symbol set: the latest version, tags, test accuracy beside the majority)`)
    log.log(`  curl -s '${base}/api/v1/operations?limit=10' | jq`)
    log.log(`  curl -s ${base}/api/v1/workers | jq`)
    log.success(`Demo finished in ${((Date.now() - started) / 1000).toFixed(0)} s`)

    if (o.serve) {
      log.info(`Cluster stays up at ${base}; Ctrl-C to stop`)
      await new Promise<void>((resolveStop) => {
        process.once('SIGINT', () => resolveStop())
        process.once('SIGTERM', () => resolveStop())
      })
    }
  } finally {
    for (const c of cleanups) await c().catch((e: unknown) => log.warn(`cleanup: ${(e as Error).message}`))
  }
}

export default defineCommand({
  meta: { name: 'demo', description: 'Local cluster + synthetic market + train + backtest, end to end through the REST API' },
  args: {
    port: { type: 'string', description: 'Gateway port (0 = any free port)', default: process.env.KTRDR_PORT ?? '8000' },
    home: { type: 'string', description: 'Storage root (mounts, gateway db, bundles)', default: process.env.KTRDR_HOME ?? '.ktrdr' },
    'host-port': { type: 'string', description: 'First host port (0 = any free port)', default: '0' },
    market: {
      type: 'string',
      description: 'planted (trend regimes a strategy can learn) or plain (no planted structure)',
      default: 'planted',
    },
    strategy: { type: 'string', description: 'Strategy from examples/strategies/', default: 'regime_momentum' },
    symbol: { type: 'string', description: 'Synthetic symbol', default: 'EURUSD' },
    bars: { type: 'string', description: 'Hourly bars to generate', default: '12000' },
    epochs: { type: 'string', description: 'Training epochs', default: '5' },
    seed: { type: 'string', description: 'Seed for the market and the model', default: '42' },
    serve: { type: 'boolean', description: 'Keep the cluster running afterwards (for the curl commands)', default: false },
  },
  async run({ args }) {
    const int = (v: string, name: string, min: number) => {
      const n = Number(v)
      if (!Number.isInteger(n) || n < min) {
        log.error(`--${name} must be an integer ≥ ${min} (got ${v})`)
        process.exit(2)
      }
      return n
    }
    try {
      if (args.market !== 'planted' && args.market !== 'plain') {
        log.error(`--market must be planted or plain (got ${args.market})`)
        process.exit(2)
      }
      await runDemo({
        port: int(args.port, 'port', 0),
        hostPort: int(args['host-port'], 'host-port', 0),
        market: args.market,
        home: args.home,
        strategy: args.strategy,
        symbol: args.symbol,
        bars: int(args.bars, 'bars', 2000),
        epochs: int(args.epochs, 'epochs', 1),
        seed: int(args.seed, 'seed', 0),
        serve: args.serve,
      })
      process.exit(0)
    } catch (error) {
      const message = (error as Error).message
      const hint = /EADDRINUSE/.test(message) ? ` (is a cluster already running there? stop it or pass --port 0)` : ''
      log.error(`Demo failed: ${message}${hint}`)
      process.exit(1)
    }
  },
})
