import type { FunctionContext } from '../../../runtime/function/index.ts'
import { KtrdrError } from '../../../trading/index.ts'
import type { BacktestParameters, ResolvedEngineConfig } from './_types.ts'
import { resolveEngineConfig } from './config.ts'
import type { BacktestInput, ParameterSet } from './input.ts'
import type { Annualization, PerformanceMetrics } from './metrics.ts'
import { loadBacktestModel, parseDate, prepareSymbol } from './pipeline.ts'
import { resolveModelRef } from '../../../trading/index.ts'
import { runKey, writeRunDetails, type StoredDetails } from './results.ts'
import { runSweep } from './sweep.ts'
import { resolveWindow } from './window.ts'
import { buyAndHold, randomEntryBaseline, type BuyAndHold, type RandomEntryBaseline } from './baselines.ts'
import type { DecisionSummary } from './explain.ts'
import { lowerBound } from '../../../trading/index.ts'

/** The headline a run supports: an edge only at p ≤ 0.05 against random entries. */
function verdict(random: RandomEntryBaseline | null, decisions: DecisionSummary): string {
  if (!random) return `no trades: ${decisions.why_no_trades ?? 'nothing executed'}`
  const pct = random.percentile.toFixed(1)
  return random.p_value <= 0.05
    ? `beats random entries at the ${pct}th percentile (p = ${random.p_value.toFixed(4)}): evidence of an edge`
    : `at the ${pct}th percentile of random entries (p = ${random.p_value.toFixed(4)}): no evidence of an edge`
}

/** docs/domain.md#backtest-result for one (symbol × parameter set), plus where its details are stored. */
export interface BacktestRunResult {
  strategy_name: string
  symbol: string
  timeframe: string
  start_time: string
  end_time: string
  execution_time_seconds: number
  config: Record<string, unknown> & {
    initial_capital: number
    commission: number
    slippage: number
    start_date: string | null
    end_date: string | null
  }
  metrics: PerformanceMetrics
  trade_count: number
  equity_curve_length: number
  parameter_set: number
  parameter_set_name: string | null
  annualization: Annualization
  final_equity: number
  synthetic_data: boolean
  /** What the model called, what each filter dropped, time in market, exposure; why no trades. */
  decisions: DecisionSummary
  /** Buy-and-hold and random entries over the same window, and the verdict they support. */
  baselines: { buy_and_hold: BuyAndHold; random_entries: RandomEntryBaseline | null; verdict: string }
  /** The window against the model's in-sample bars (training + validation labels). */
  out_of_sample: { in_sample_start: string | null; in_sample_end: string | null; overlap_bars: number; checked: boolean }
  warnings: Array<{ code: string; message: string }>
  results: StoredDetails & { mount: 'results'; prefix: string }
}

export interface BacktestJobResult extends BacktestRunResult {
  operation_id: string
  model: {
    key: string
    /** What the request named when it was a reference (`strategy@production`, `strategy/1h_latest`). */
    reference?: string
    /** The symbols the model was trained on. */
    training_symbols: string[]
    strategy_name: string
    output_type: string
    features: number
    sequence_length: number
  }
  results_prefix: string
  /** Every (symbol × set) run; the top-level fields repeat runs[0] (the guide's single-backtest shape). */
  runs: BacktestRunResult[]
  timings: {
    load_model_s: number
    load_data_s: number
    features_s: number
    inference_s: number
    engine_s: number
    baselines_s: number
    store_s: number
    total_s: number
    bars: number
    engine_bars_per_second: number
  }
}

/** Runs per invocation: every run's summary (≈1.5 KB) is part of the operation result. */
const MAX_RUNS = 1000

const iso = (ms: number) => new Date(ms).toISOString().replace('.000Z', 'Z')

function engineParams(input: BacktestInput, set: ParameterSet | undefined): BacktestParameters[] {
  const base: BacktestParameters = { initial_capital: input.initial_capital, commission: input.commission, slippage: input.slippage }
  if (!set) return [base]
  const { name: _name, ...overrides } = set
  return [base, overrides]
}

function configView(cfg: ResolvedEngineConfig, startDate: string | null, endDate: string | null, set: ParameterSet | undefined) {
  return {
    initial_capital: cfg.initialCapital,
    commission: cfg.commission,
    slippage: cfg.slippage,
    start_date: startDate,
    end_date: endDate,
    output_format: cfg.outputFormat,
    confidence_threshold: cfg.confidenceThreshold,
    position_awareness: cfg.positionAwareness,
    allow_short_from_flat: cfg.allowShortFromFlat,
    min_signal_separation: cfg.minSignalSeparationHours,
    round_trip_cost: cfg.roundTripCost,
    min_edge_multiplier: cfg.minEdgeMultiplier,
    position_size_fraction: cfg.positionSizeFraction,
    ...(set?.name ? { name: set.name } : {}),
  }
}

export async function runBacktestJob(input: BacktestInput, ctx: FunctionContext): Promise<BacktestJobResult> {
  const t0 = performance.now()
  const sets: Array<ParameterSet | undefined> = input.parameter_sets?.length ? input.parameter_sets : [undefined]
  const startMs = input.start_date ? parseDate(input.start_date, 'start_date', false) : -Infinity
  const endMs = input.end_date ? parseDate(input.end_date, 'end_date', true) : Infinity
  if (startMs > endMs)
    throw new KtrdrError({
      code: 'INPUT_INVALID',
      message: `start_date ${input.start_date} is after end_date ${input.end_date}`,
    })

  const modelRef = await resolveModelRef(ctx.storage.strategies, input)
  ctx.progress({ percentage: 0, current_step: `Loading model ${modelRef}` })
  const symbols = [...new Set([...(input.symbol ? [input.symbol] : []), ...(input.symbols ?? [])])]
  // `…_latest` and `…@<tag>` mean the model of a symbol set that contains every symbol run here.
  const model = await loadBacktestModel(ctx, modelRef, { symbols: [...symbols], timeframe: input.timeframe })
  const tModel = performance.now()
  if (symbols.length === 0 && model.trainingSymbols.length > 0) symbols.push(model.trainingSymbols[0])
  if (symbols.length === 0) throw new KtrdrError({ code: 'INPUT_INVALID', message: 'Give a symbol or symbols[] to backtest' })
  if (input.model_path && input.strategy_name && input.strategy_name !== model.strategyName) {
    ctx.logger.warn(`strategy_name "${input.strategy_name}" differs from the model's strategy "${model.strategyName}"; using the model's`)
  }
  const timeframe = input.timeframe ?? model.baseTimeframe
  if (timeframe !== model.baseTimeframe) {
    throw new KtrdrError({
      code: 'INPUT_INVALID',
      message: `timeframe ${timeframe} does not match the model's base timeframe ${model.baseTimeframe}: backtest on ${model.baseTimeframe}`,
    })
  }
  // Resolve every set before any heavy work: a bad override fails fast with 400.
  const configs = sets.map((set) => resolveEngineConfig(model.decisions, ...engineParams(input, set)))
  const totalRuns = symbols.length * sets.length
  if (totalRuns > MAX_RUNS)
    throw new KtrdrError({
      code: 'INPUT_INVALID',
      message: `${symbols.length} symbols × ${sets.length} parameter sets = ${totalRuns} runs; at most ${MAX_RUNS} per invocation (their summaries travel in the operation record): split the sweep`,
    })
  const details = input.save_details
  const saveEquity = details === 'all' || (details === 'auto' && totalRuns <= 16)
  const saveTrades = details !== 'none'
  const prefix = `backtests/${ctx.operationId}`

  const timings = {
    load_model_s: (tModel - t0) / 1000,
    load_data_s: 0,
    features_s: 0,
    inference_s: 0,
    engine_s: 0,
    baselines_s: 0,
    store_s: 0,
    total_s: 0,
    bars: 0,
    engine_bars_per_second: 0,
  }
  const runs: BacktestRunResult[] = []
  let lastYield = performance.now()

  for (let si = 0; si < symbols.length; si++) {
    const symbol = symbols[si]
    const share = 100 / symbols.length
    const base = si * share
    ctx.progress({
      percentage: base,
      current_step: `Computing features for ${symbol} ${timeframe}`,
      context: { symbol, phase: 'features' },
    })
    const prepared = await prepareSymbol(ctx, model, { symbol, timeframe, startMs, endMs })
    timings.load_data_s += prepared.timings.load_data_s
    timings.features_s += prepared.timings.features_s
    timings.inference_s += prepared.timings.inference_s
    const { bars } = prepared
    const window = resolveWindow(bars.time, startMs, endMs, prepared.outputs.validFrom, prepared.barMs)
    if (!window) {
      throw new KtrdrError({
        code: 'BACKTEST_WINDOW_EMPTY',
        message: `No ${symbol} ${timeframe} bars between ${input.start_date ?? 'the start'} and ${input.end_date ?? 'the end'} after the indicator warm-up (first usable bar ${prepared.outputs.validFrom < bars.length ? iso(bars.time[prepared.outputs.validFrom]) : 'none'}): widen the window or load more history`,
      })
    }
    // In-sample check: the bars the model's training and validation labels read.
    const inSample = model.inSample.get(symbol)
    const winStart = bars.time[window.start]
    const winEnd = bars.time[window.end]
    const overlapBars =
      inSample && winStart <= inSample.end && winEnd >= inSample.start
        ? lowerBound(bars.time, Math.min(winEnd, inSample.end) + 1) - lowerBound(bars.time, Math.max(winStart, inSample.start))
        : 0
    const warnings: Array<{ code: string; message: string }> = []
    if (overlapBars > 0) {
      const message = `The ${symbol} window ${iso(winStart)} → ${iso(winEnd)} overlaps the model's in-sample bars ${iso(inSample!.start)} → ${iso(inSample!.end)} (${overlapBars} bars): those results are not out of sample`
      if (input.require_out_of_sample)
        throw new KtrdrError({
          code: 'BACKTEST_IN_SAMPLE',
          message: `${message}; start the backtest after ${iso(inSample!.end)}`,
          details: {
            symbol,
            in_sample: { start: iso(inSample!.start), end: iso(inSample!.end) },
            window: { start: iso(winStart), end: iso(winEnd) },
            overlap_bars: overlapBars,
          },
        })
      warnings.push({ code: 'BACKTEST_IN_SAMPLE', message })
      ctx.logger.warn(message)
    } else if (!inSample)
      warnings.push({
        code: 'BACKTEST_NOT_CHECKED',
        message: `The model records no in-sample range for ${symbol}: overlap with its training data was not checked`,
      })
    const outOfSample = {
      in_sample_start: inSample ? iso(inSample.start) : null,
      in_sample_end: inSample ? iso(inSample.end) : null,
      overlap_bars: overlapBars,
      checked: !!inSample,
    }
    const points = window.end - window.start + 1
    timings.bars += points * configs.length
    ctx.progress({
      percentage: base + share * 0.4,
      current_step: `Backtesting ${symbol} ${timeframe}`,
      context: { symbol, phase: 'engine' },
    })
    const tEngine = performance.now()
    let storeMs = 0
    let baseMs = 0
    await runSweep(
      bars,
      prepared.outputs,
      window,
      configs,
      async (i, r) => {
        const key = runKey(ctx.operationId, symbol, i)
        const ts = performance.now()
        const stored = await writeRunDetails(ctx.storage.results, key, symbol, bars, r, { trades: saveTrades, equity: saveEquity })
        storeMs += performance.now() - ts
        const set = sets[i]
        const tb = performance.now()
        const random = randomEntryBaseline(bars, window, r.config, r.trades, { draws: input.baseline_draws, seed: input.baseline_seed })
        const baselines = {
          buy_and_hold: buyAndHold(bars, window, r.config),
          random_entries: random,
          verdict: verdict(random, r.decisions),
        }
        baseMs += performance.now() - tb
        runs.push({
          strategy_name: model.strategyName,
          symbol,
          timeframe,
          start_time: iso(bars.time[window.start]),
          end_time: iso(bars.time[window.end]),
          execution_time_seconds: 0,
          config: configView(r.config, input.start_date ?? null, input.end_date ?? null, set),
          metrics: r.metrics,
          trade_count: r.trades.count,
          equity_curve_length: r.equity.length,
          parameter_set: i,
          parameter_set_name: set?.name ?? null,
          annualization: r.annualization,
          final_equity: r.finalEquity,
          synthetic_data: prepared.synthetic,
          decisions: r.decisions,
          baselines,
          out_of_sample: outOfSample,
          warnings,
          results: { ...stored, mount: 'results', prefix: key },
        })
        // Let the host's cancel message in between runs of a long sweep.
        if (performance.now() - lastYield > 50) {
          await new Promise((resolve) => setImmediate(resolve))
          lastYield = performance.now()
        }
      },
      {
        signal: ctx.signal,
        onSetProgress(i, fraction, bar, state) {
          const done = (i + fraction) / configs.length
          const when = iso(bars.time[bar])
          const k = bar - window.start
          ctx.progress({
            percentage: Math.min(99.9, base + share * (0.4 + 0.6 * done)),
            current_step: `Backtesting ${symbol} ${timeframe} [${when}]`,
            context: {
              symbol,
              current_bar: k + 1,
              total_bars: points,
              current_date: when,
              current_pnl: state.equity - configs[i].initialCapital,
              total_trades: state.trades,
              parameter_set: i,
              parameter_sets: configs.length,
            },
          })
        },
      },
    )
    const engineMs = performance.now() - tEngine - storeMs - baseMs
    timings.baselines_s += baseMs / 1000
    timings.engine_s += engineMs / 1000
    timings.store_s += storeMs / 1000
    const perRun = (performance.now() - tEngine) / 1000 / configs.length
    for (const run of runs.slice(-configs.length))
      run.execution_time_seconds =
        perRun + (prepared.timings.load_data_s + prepared.timings.features_s + prepared.timings.inference_s) / configs.length
  }

  timings.total_s = (performance.now() - t0) / 1000
  timings.engine_bars_per_second = timings.engine_s > 0 ? timings.bars / timings.engine_s : 0
  await ctx.storage.results.setItem(
    `${prefix}/summary.json`,
    JSON.stringify({ operation_id: ctx.operationId, model: model.key, runs, timings }),
  )
  ctx.progress({ percentage: 100, current_step: `Backtest complete: ${runs.length} run(s)` })
  return {
    ...runs[0],
    operation_id: ctx.operationId,
    model: {
      key: model.key,
      ...(model.loaded.reference ? { reference: modelRef } : {}),
      training_symbols: model.trainingSymbols,
      strategy_name: model.strategyName,
      output_type: model.outputType,
      features: model.features.length,
      sequence_length: model.sequenceLength,
    },
    results_prefix: prefix,
    runs,
    timings,
  }
}
