import { parseDocument } from 'yaml'
import type { GatewayRouteContext } from '../../runtime/gateway/index.ts'
import { KtrdrError, TRADING_FUNCTIONS } from '../../trading/index.ts'
import { checkChildInput, commonDataDays, outsideData, readStrategy, resolveTimeframe } from '../parents/_admit.ts'
import { badField } from '../parents/_body.ts'
import { createParentRunner, type ChildTask, type ParentSpec } from '../parents/runner.ts'
import { parseEquityCsv, stability, stitch, stitchedCsv, type FoldCurve } from './aggregate.ts'
import { barTimes, emptyWindow } from './_bars.ts'
import { addDuration, formatDuration, parseDuration, planFolds, type Duration } from './folds.ts'
import { parseWalkForwardBody } from './request.ts'
import {
  BASELINE_OF,
  childFailure,
  compactRuns,
  compactTraining,
  excess,
  inSampleProblem,
  TEST_METRICS,
  TRAINING_METRICS,
  type TestRun,
} from '../parents/_compact.ts'
import type { FoldRecord, WalkForwardRecord, WalkForwardSummary } from './_types.ts'

/** Folds one walk-forward may plan: each is a training and a backtest, and the record carries every fold's figures. */
export const WALKFORWARD_MAX_FOLDS = 100

type Json = Record<string, unknown>

const taskKey = (fold: number, phase: 'train' | 'backtest') => `fold_${fold}:${phase}`

function parseKey(key: string): { fold: number; phase: 'train' | 'backtest' } {
  const m = /^fold_(\d+):(train|backtest)$/.exec(key)
  if (!m) throw new Error(`not a walk-forward task: ${key}`)
  return { fold: Number(m[1]), phase: m[2] as 'train' | 'backtest' }
}

/** The skipped folds in words, the first few of them. */
function skipReasons(skipped: Array<{ fold: number; reason: string }>): string {
  const shown = skipped.slice(0, 3).map((s) => `fold ${s.fold}: ${s.reason}`)
  return shown.join('; ') + (skipped.length > 3 ? `; and ${skipped.length - 3} more` : '')
}

/** One row per fold and symbol of folds.json: windows, children, training figures, test figures beside baselines. */
function foldRows(record: WalkForwardRecord) {
  return record.folds.map((f) => ({
    fold: f.fold,
    train: { start: f.train.start, end: f.train.end },
    test: { start: f.test.start, end: f.test.end },
    operations: { train: f.training?.operation_id ?? null, backtest: f.test.operation_id ?? null },
    workers: { train: f.training?.worker_id ?? null, backtest: f.test.worker_id ?? null },
    model_path: f.training?.model_path ?? null,
    skipped: f.skipped?.reason ?? null,
    training: f.training ? { ...f.training.metrics, samples: f.training.samples } : null,
    test_runs: (f.test.runs ?? []).map((run) => ({
      symbol: run.symbol,
      start_time: run.start_time,
      end_time: run.end_time,
      bars: run.bars,
      ...run.metrics,
      excess_return_pct: excess(run),
      ...run.baselines,
      verdict: run.verdict,
      overlap_bars: run.out_of_sample.overlap_bars,
      in_sample_end: run.out_of_sample.in_sample_end,
    })),
  }))
}

/**
 * Walk-forward analysis (docs/architecture.md#walk-forward-and-sweeps): train → test folds over a
 * date range, each fold's training and its strictly later backtest as child operations, then one
 * out-of-sample equity curve stitched from the test windows, a table of the folds and how stable
 * each figure was across them, stored under `results/walkforward/<op>/`.
 */
export async function createWalkForwards(ctx: GatewayRouteContext) {
  const spec: ParentSpec<WalkForwardRecord> = {
    kind: 'walkforward',
    // A fold skipped when planned starts nothing; one whose backtest found no bars settled both its children.
    total: (r) => r.folds.filter((f) => f.skipped?.phase !== 'plan').length * 2,
    parallel: (r) => r.request.max_parallel,
    *tasks(r): Generator<ChildTask> {
      // A fold whose model is ready goes first: results come in fold order and each model is tested soon after it exists.
      for (const f of r.folds)
        if (f.training && !f.skipped)
          yield {
            key: taskKey(f.fold, 'backtest'),
            fn: TRADING_FUNCTIONS.backtest,
            input: { ...r.backtest_input, model_path: f.training.model_path, start_date: f.test.start, end_date: f.test.end },
            metadata: { walkforward: r.operation_id, fold: f.fold, phase: 'backtest' },
          }
      for (const f of r.folds)
        if (!f.skipped)
          yield {
            key: taskKey(f.fold, 'train'),
            fn: TRADING_FUNCTIONS.train,
            input: { ...r.train_input, start_date: f.train.start, end_date: f.train.end },
            metadata: { walkforward: r.operation_id, fold: f.fold, phase: 'train' },
          }
    },
    settle(r, key, op) {
      const { fold, phase } = parseKey(key)
      const f = r.folds[fold - 1]
      // A window without bars (a holiday, a gap in the data) is not a failure of the walk-forward: the
      // fold is skipped, said aloud, and the others are aggregated without it.
      if (phase === 'backtest' && op.status === 'failed' && op.error?.code === 'BACKTEST_WINDOW_EMPTY') {
        f.skipped = { phase: 'backtest', reason: `its backtest ${op.operation_id} found no bars: ${op.error.message}` }
        f.test = { ...f.test, operation_id: op.operation_id, worker_id: op.worker_id ?? null, runs: [] }
        return
      }
      if (op.status !== 'completed') throw childFailure(`fold ${fold} ${phase === 'train' ? 'training' : 'backtest'}`, op)
      if (phase === 'train') {
        f.training = compactTraining(op)
        return
      }
      const runs = compactRuns(op)
      f.test = { ...f.test, operation_id: op.operation_id, worker_id: op.worker_id ?? null, runs }
      if (runs.every((run) => run.bars === 0)) {
        f.skipped = {
          phase: 'backtest',
          reason: `its backtest ${op.operation_id} reported 0 bars of ${r.request.symbols.join(', ')} ${r.request.timeframe} in the test window ${f.test.start} → ${f.test.end}`,
        }
        return
      }
      // Strictly out of sample: the backtest's own guard measured the overlap with the model's in-sample bars.
      for (const run of runs) {
        if (run.bars === 0) continue
        const problem = inSampleProblem(run)
        if (problem) throw Object.assign(new Error(`fold ${fold} backtest ${op.operation_id}: ${problem}`), { code: 'BACKTEST_IN_SAMPLE' })
      }
    },
    complete: (r) => aggregate(r),
  }
  const runner = await createParentRunner(ctx, spec)

  async function aggregate(r: WalkForwardRecord) {
    const prefix = r.results_prefix
    const stitched: WalkForwardSummary['stitched'] = {}
    const curves: Array<[string, ReturnType<typeof stitch>]> = []
    const stabilityBySymbol: WalkForwardSummary['stability'] = {}
    const consistency: WalkForwardSummary['consistency'] = {}
    const tested = r.folds.filter((f) => !f.skipped)
    const skipped = r.folds
      .filter((f) => f.skipped)
      .map((f) => ({ fold: f.fold, test: { start: f.test.start, end: f.test.end }, reason: f.skipped!.reason }))
    if (!tested.length)
      throw new KtrdrError({
        code: 'WALKFORWARD_NO_BARS',
        message: `Every one of the ${r.folds.length} folds between ${r.request.start_date} and ${r.request.end_date} was skipped: ${skipReasons(skipped)}`,
        details: { start: r.request.start_date, end: r.request.end_date, skipped },
      })
    for (const symbol of r.request.symbols) {
      // A symbol without bars in one fold's window (the others had some) leaves that fold out of its figures.
      const runs = tested
        .map((f) => ({ fold: f.fold, run: f.test.runs?.find((x) => x.symbol === symbol) }))
        .filter(({ run }) => run?.bars !== 0)
      const pieces: FoldCurve[] = []
      for (const { fold, run } of runs) {
        if (!run?.equity_curve_key) throw new Error(`fold ${fold} has no ${symbol} equity curve to stitch`)
        const raw = await ctx.storage.results.getItemRaw(run.equity_curve_key)
        if (raw == null) throw new Error(`fold ${fold}: ${run.equity_curve_key} is missing from the results mount`)
        const text = typeof raw === 'string' ? raw : Buffer.from(raw as Uint8Array).toString('utf8')
        pieces.push({ fold, initialCapital: run.initial_capital, points: parseEquityCsv(text) })
      }
      const s = stitch(pieces, pieces[0]?.initialCapital ?? 100_000)
      const { points: _points, ...figures } = s
      stitched[symbol] = figures
      curves.push([symbol, s])
      const present = runs.map((x) => x.run!)
      const metric = (get: (run: TestRun) => number | null) => stability(present.map(get))
      stabilityBySymbol[symbol] = {
        ...Object.fromEntries(TEST_METRICS.map((m) => [m, metric((run) => run.metrics[m])])),
        excess_return_pct: metric(excess),
        buy_and_hold_pct: metric((run) => run.baselines.buy_and_hold_pct),
        buy_and_hold_market_pct: metric((run) => run.baselines.buy_and_hold_market_pct),
        random_p50_pct: metric((run) => run.baselines.random_p50_pct),
        random_percentile: metric((run) => run.baselines.random_percentile),
      }
      consistency[symbol] = {
        folds: present.length,
        positive: present.filter((run) => (run.metrics.total_return_pct ?? 0) > 0).length,
        beat_buy_and_hold: present.filter((run) => (excess(run) ?? 0) > 0).length,
        significant: present.filter((run) => run.baselines.p_value !== null && run.baselines.p_value <= 0.05).length,
      }
    }
    const files = { summary: `${prefix}/summary.json`, folds: `${prefix}/folds.json`, equity: `${prefix}/equity.csv` }
    const summary: WalkForwardSummary = {
      folds: r.folds.length,
      tested: tested.length,
      skipped,
      stitched,
      stability: stabilityBySymbol,
      training_stability: Object.fromEntries(TRAINING_METRICS.map((m) => [m, stability(r.folds.map((f) => f.training?.metrics[m]))])),
      baseline_of: BASELINE_OF,
      consistency,
      files,
    }
    // Files first, the record after: whoever sees the walk-forward completed finds them.
    await ctx.storage.results.setItem(files.equity, stitchedCsv(curves))
    await ctx.storage.results.setItem(files.folds, JSON.stringify(foldRows(r), null, 2))
    await ctx.storage.results.setItem(
      files.summary,
      JSON.stringify({ operation_id: r.operation_id, request: r.request, model_name: r.model_name, ...summary }, null, 2),
    )
    r.summary = summary
  }

  /** Reads the strategy, the data and the deployed functions: refuses (4xx naming the field) what cannot run. */
  async function admit(body: unknown) {
    const b = parseWalkForwardBody(body)
    const { yaml, strategy } = await readStrategy(ctx, b.strategy)
    const td = strategy.training_data
    const symbols = b.symbols ?? (b.symbol ? [b.symbol] : td.symbols)
    const timeframe = resolveTimeframe(strategy, b.timeframe)
    const dataField = b.symbols ? 'symbols' : b.symbol ? 'symbol' : b.timeframe ? 'timeframe' : 'strategy'
    const data = await commonDataDays(ctx, symbols, timeframe, dataField)
    const market = `${symbols.join(', ')} ${timeframe}`
    if (b.start_date && b.start_date < data.start)
      outsideData('start_date', `${b.start_date} is before the first bar (${data.start}) of ${market}`, data)
    if (b.end_date && b.end_date > data.end) outsideData('end_date', `${b.end_date} is after the last bar (${data.end}) of ${market}`, data)
    const start = b.start_date ?? data.start
    const end = b.end_date ?? data.end
    if (start > end) outsideData('start_date', `the data of ${market} has no common days (${data.start} → ${data.end})`, data)

    const train = parseDuration(b.train_window)!
    const test = parseDuration(b.test_window)!
    const step: Duration = b.step ? parseDuration(b.step)! : test
    if (addDuration(start, step) < addDuration(start, test))
      badField(
        'step',
        `${formatDuration(step)} is shorter than test_window ${formatDuration(test)}: test windows would overlap, and the stitched out-of-sample curve needs them apart`,
      )
    const planned = planFolds({ start, end, train, test, step, mode: b.mode }, WALKFORWARD_MAX_FOLDS)
    if (!planned.length)
      throw new KtrdrError({
        code: 'WALKFORWARD_NO_FOLDS',
        message: `train_window: ${formatDuration(train)} of training and ${formatDuration(test)} of testing do not fit between ${start} and ${end}: shorten the windows or widen the range`,
        details: { field: 'train_window', start, end },
      })
    if (planned.length > WALKFORWARD_MAX_FOLDS)
      badField(
        'step',
        `more than ${WALKFORWARD_MAX_FOLDS} folds fit between ${start} and ${end}: take a longer step or test_window, or a shorter range`,
      )

    // A window without bars (a weekend, a holiday, a gap in the data) would fail its child: such a fold
    // is skipped now, before anything trains for it; when no fold is left, nothing starts.
    const times = await barTimes(ctx, symbols, timeframe)
    const folds = planned.map((f): FoldRecord => {
      const reason = emptyWindow(f, times, timeframe)
      return { ...f, training: null, test: { ...f.test }, skipped: reason ? { phase: 'plan', reason } : null }
    })
    const runnable = folds.filter((f) => !f.skipped)
    if (!runnable.length) {
      const skipped = folds.map((f) => ({ fold: f.fold, test: f.test, reason: f.skipped!.reason }))
      throw new KtrdrError({
        code: 'WALKFORWARD_NO_BARS',
        message: `test_window: none of the ${folds.length} folds between ${start} and ${end} has ${market} bars in both its windows (${skipReasons(skipped)}): pick a range or windows that hold trading days`,
        details: { field: 'test_window', start, end, skipped },
      })
    }

    // Check the children's inputs against the deployed functions' own schemas now: a bad value is a 422
    // here, not a walk-forward that fails at its first child.
    const train_input: Json = {
      strategy_yaml: yaml,
      symbols,
      ...(td.timeframes.length === 1 ? { timeframes: [timeframe] } : {}),
      ...(b.epochs !== undefined ? { epochs: b.epochs } : {}),
      ...(b.seed !== undefined ? { seed: b.seed } : {}),
    }
    const backtest_input: Json = {
      symbols,
      timeframe,
      require_out_of_sample: true,
      save_details: 'all',
      ...(b.initial_capital !== undefined ? { initial_capital: b.initial_capital } : {}),
      ...(b.commission !== undefined ? { commission: b.commission } : {}),
      ...(b.slippage !== undefined ? { slippage: b.slippage } : {}),
    }
    const [trainFn, backtestFn] = await Promise.all([
      ctx.functions.resolve(TRADING_FUNCTIONS.train),
      ctx.functions.resolve(TRADING_FUNCTIONS.backtest),
    ])
    const first = runnable[0]
    // Every input field of the children is a field of the request of the same name.
    const same = (f: string) => f.replace(/\[\d+\].*$/, '').split('.')[0]
    checkChildInput(ctx, trainFn, { ...train_input, start_date: first.train.start, end_date: first.train.end }, same)
    checkChildInput(
      ctx,
      backtestFn,
      { ...backtest_input, model_path: `${strategy.name}/${timeframe}_v1`, start_date: first.test.start, end_date: first.test.end },
      same,
    )

    return (operationId: string) => {
      // Fold models go under their own name: the strategy's own `_latest` never moves to a fold's model.
      const model_name = `${strategy.name}.wf_${operationId.slice(-8)}`
      const doc = parseDocument(yaml)
      doc.set('name', model_name)
      return {
        operation_type: 'walkforward' as const,
        request: {
          strategy: b.strategy,
          symbols,
          timeframe,
          start_date: start,
          end_date: end,
          train_window: formatDuration(train),
          test_window: formatDuration(test),
          step: formatDuration(step),
          mode: b.mode,
          epochs: b.epochs ?? null,
          seed: b.seed ?? null,
          max_parallel: b.max_parallel ?? null,
          backtest: {
            ...(b.initial_capital !== undefined ? { initial_capital: b.initial_capital } : {}),
            ...(b.commission !== undefined ? { commission: b.commission } : {}),
            ...(b.slippage !== undefined ? { slippage: b.slippage } : {}),
          },
        },
        train_input: { ...train_input, strategy_yaml: String(doc) },
        backtest_input,
        model_name,
        folds,
        results_prefix: `walkforward/${operationId}`,
        summary: null,
      }
    }
  }

  /** The current step in words: which folds are training or testing. */
  function currentStep(r: WalkForwardRecord): string {
    if (r.status === 'completed') {
      const skipped = r.summary?.skipped.length ?? 0
      return `${r.folds.length - skipped} folds tested out of sample${skipped ? `, ${skipped} skipped (${skipReasons(r.summary!.skipped)})` : ''}`
    }
    if (r.status !== 'running') return r.status
    const running = Object.keys(r.children)
      .filter((k) => !(k in r.settled))
      .map(parseKey)
      .map((k) => `fold ${k.fold} ${k.phase === 'train' ? 'training' : 'testing'}`)
    if (Object.keys(r.settled).length === spec.total(r)) return 'stitching the out-of-sample curve'
    return running.length ? running.join(', ') : 'waiting for a host'
  }

  return {
    runner,
    async start(body: unknown): Promise<WalkForwardRecord> {
      const build = await admit(body)
      return runner.start(build)
    },
    get: runner.get,
    list: runner.list,
    cancel: runner.cancel,
    subscribe: runner.subscribe,
    /** The record as the API shows it: progress in, the inline strategy out (the fold models keep it). */
    view(r: WalkForwardRecord): Record<string, unknown> {
      const { train_input, backtest_input: _bi, ...rest } = r
      const { strategy_yaml: _yaml, ...trainInput } = train_input
      return {
        ...rest,
        train_input: trainInput,
        parent_operation_id: null,
        progress: { ...runner.progress(r), current_step: currentStep(r) },
      }
    },
    idle: runner.idle,
    close: runner.close,
  }
}

export type WalkForwards = Awaited<ReturnType<typeof createWalkForwards>>
