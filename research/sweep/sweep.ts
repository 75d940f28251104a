import { parseDocument } from 'yaml'
import type { GatewayRouteContext } from '../../runtime/gateway/index.ts'
import { KtrdrError, TRADING_FUNCTIONS, validateStrategy } from '../../trading/index.ts'
import { checkChildInput, commonDataDays, hostSlots, outsideData, readStrategy, resolveTimeframe } from '../parents/_admit.ts'
import { badField } from '../parents/_body.ts'
import { BASELINE_OF, childFailure, compactRuns, compactTraining, excess, inSampleProblem, TEST_METRICS } from '../parents/_compact.ts'
import { createParentRunner, type ChildTask, type ParentSpec } from '../parents/runner.ts'
import { combinationName, gridCombinations, gridSize, isRange, randomCombinations, type Combination, type ValueSpec } from './grid.ts'
import { aliasOf, applyTrainingParams, notApplicable, TRAINING_PARAMS, typeProblem } from './params.ts'
import { parseSweepBody } from './request.ts'
import type { SweepBacktest, SweepRecord, SweepRow, SweepSummary, SweepTraining } from './_types.ts'

/** Trainings one sweep may start, and runs (trainings × backtest parameter sets) it may table. */
export const SWEEP_MAX_TRAININGS = 100
export const SWEEP_MAX_RUNS = 1000
const LOWER_IS_BETTER = new Set(['max_drawdown_pct', 'p_value'])

type Json = Record<string, unknown>
const nameOf = (c: Combination) => combinationName(c, aliasOf)

function rankValue(row: SweepRow, rank: string): number | null {
  if (rank === 'excess_return_pct') return row.excess_return_pct
  if (rank === 'p_value') return row.baselines?.p_value ?? null
  return row.metrics[rank] ?? null
}

/**
 * Marks the one run with the best `rank`, ties broken by total return; a tie that remains marks
 * none (like the comparison table: "best" must single one out).
 */
export function markBest(rows: SweepRow[], rank: string): SweepSummary['best'] {
  const lower = LOWER_IS_BETTER.has(rank)
  const scored = rows
    .filter((r) => r.status === 'completed' && rankValue(r, rank) !== null)
    .map((r) => ({ r, v: rankValue(r, rank)!, t: r.metrics.total_return_pct ?? Number.NEGATIVE_INFINITY }))
  if (!scored.length) return null
  scored.sort((a, b) => (lower ? a.v - b.v : b.v - a.v) || b.t - a.t)
  const [top, next] = scored
  if (next && next.v === top.v && next.t === top.t) return null
  top.r.best = true
  return { name: top.r.name, value: top.v }
}

/** The table as CSV: a run per row, its parameters, its figures beside their baselines, the best marked. */
function tableCsv(rows: SweepRow[], trainingKeys: string[], backtestKeys: string[]): string {
  const cell = (v: unknown) => {
    if (v === null || v === undefined) return ''
    const s = Array.isArray(v) ? v.join('-') : String(v)
    return /[",\n]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s
  }
  const head = [
    'name',
    ...trainingKeys,
    ...backtestKeys,
    'status',
    ...TEST_METRICS,
    'buy_and_hold_pct',
    'random_p50_pct',
    'random_percentile',
    'p_value',
    'excess_return_pct',
    'test_accuracy',
    'majority_baseline',
    'best',
    'error',
  ]
  const lines = [head.join(',')]
  for (const r of rows)
    lines.push(
      [
        r.name,
        ...trainingKeys.map((k) => r.training_params[k]),
        ...backtestKeys.map((k) => r.backtest_params[k]),
        r.status,
        ...TEST_METRICS.map((m) => r.metrics[m]),
        r.baselines?.buy_and_hold_pct,
        r.baselines?.random_p50_pct,
        r.baselines?.random_percentile,
        r.baselines?.p_value,
        r.excess_return_pct,
        r.training_metrics?.test_accuracy,
        r.training_metrics?.majority_baseline,
        r.best ? 'best' : '',
        r.error,
      ]
        .map(cell)
        .join(','),
    )
  return lines.join('\n') + '\n'
}

/**
 * Parameter sweeps (docs/architecture.md#walk-forward-and-sweeps): a grid or seeded random search
 * over training hyperparameters (each combination a training child on the same window) and
 * position-manager parameters (the backtest's `parameter_sets`), each model backtested out of
 * sample as a child; then one table, a row per run named by its parameters, its figures beside the
 * baselines, the best marked. A run that fails is a failed row; the sweep fails only when all do.
 */
export async function createSweeps(ctx: GatewayRouteContext) {
  const trainingOf = (r: SweepRecord, bt: SweepBacktest) => (bt.training ? r.trainings.find((t) => t.key === bt.training)! : null)
  const spec: ParentSpec<SweepRecord> = {
    kind: 'sweep',
    // A backtest whose training failed never starts: it is not waited for.
    total: (r) => r.trainings.length + r.backtests.filter((bt) => !trainingOf(r, bt)?.error).length,
    parallel: (r) => r.request.max_parallel,
    *tasks(r): Generator<ChildTask> {
      for (const bt of r.backtests) {
        const model = bt.training ? trainingOf(r, bt)!.result?.model_path : r.request.backtest.model_path
        if (model)
          yield {
            key: bt.key,
            fn: TRADING_FUNCTIONS.backtest,
            input: { ...r.backtest_input, model_path: model, parameter_sets: bt.sets.map((s) => ({ name: s.name, ...s.params })) },
            metadata: { sweep: r.operation_id, runs: bt.sets.length },
          }
      }
      for (const t of r.trainings)
        yield {
          key: t.key,
          fn: TRADING_FUNCTIONS.train,
          input: { ...r.train_input, strategy_yaml: t.strategy_yaml },
          metadata: { sweep: r.operation_id, run: t.name },
        }
    },
    settle(r, key, op) {
      const training = r.trainings.find((t) => t.key === key)
      if (training) {
        if (op.status === 'completed') training.result = compactTraining(op)
        else training.error = errorOf(childFailure(`training ${training.name || 'of the strategy'}`, op))
        return
      }
      const bt = r.backtests.find((b) => b.key === key)!
      bt.operation_id = op.operation_id
      bt.worker_id = op.worker_id ?? null
      if (op.status !== 'completed') {
        bt.error = errorOf(childFailure('backtest', op))
        return
      }
      const runs = compactRuns(op)
      const problem = runs.map(inSampleProblem).find(Boolean)
      if (problem) bt.error = { message: `backtest ${op.operation_id}: ${problem}`, code: 'BACKTEST_IN_SAMPLE' }
      else bt.runs = runs
    },
    complete: (r) => summarise(r),
  }
  const runner = await createParentRunner(ctx, spec)

  const errorOf = (e: Error & { code?: string }) => ({ message: e.message, ...(e.code ? { code: e.code } : {}) })

  async function summarise(r: SweepRecord) {
    const rows: SweepRow[] = []
    for (const bt of r.backtests) {
      const t = trainingOf(r, bt)
      bt.sets.forEach((set, i) => {
        const run = bt.runs?.find((x) => x.parameter_set === i)
        const error = t?.error?.message ?? bt.error?.message ?? (run ? null : 'the backtest returned no run for this set')
        rows.push({
          name: [t?.name, set.name].filter(Boolean).join(',') || 'default',
          training_params: t?.params ?? {},
          backtest_params: set.params,
          status: error ? 'failed' : 'completed',
          error,
          operations: { train: t?.result?.operation_id ?? null, backtest: bt.operation_id },
          metrics: run?.metrics ?? {},
          excess_return_pct: run ? excess(run) : null,
          baselines: run?.baselines ?? null,
          training_metrics: t?.result?.metrics ?? null,
          verdict: run?.verdict ?? null,
          overlap_bars: run?.out_of_sample.overlap_bars ?? null,
          best: false,
        })
      })
    }
    const completed = rows.filter((x) => x.status === 'completed').length
    if (!completed) {
      const first = r.trainings.find((t) => t.error)?.error ?? r.backtests.find((bt) => bt.error)?.error
      throw Object.assign(new Error(`every run of the sweep failed; the first: ${rows[0]?.error}`), first?.code ? { code: first.code } : {})
    }
    const prefix = r.results_prefix
    const files = { summary: `${prefix}/summary.json`, table: `${prefix}/table.csv` }
    const summary: SweepSummary = {
      runs: rows.length,
      completed,
      failed: rows.length - completed,
      rank_by: r.request.rank_by,
      better: LOWER_IS_BETTER.has(r.request.rank_by) ? 'lower' : 'higher',
      best: markBest(rows, r.request.rank_by),
      baseline_of: BASELINE_OF,
      files,
    }
    const trainingKeys = Object.keys(r.request.training?.parameters ?? {})
    const backtestKeys = Object.keys(r.request.backtest.parameters)
    // Files first, the record after: whoever sees the sweep completed finds them.
    await ctx.storage.results.setItem(files.table, tableCsv(rows, trainingKeys, backtestKeys))
    await ctx.storage.results.setItem(
      files.summary,
      JSON.stringify({ operation_id: r.operation_id, request: r.request, model_name: r.model_name, ...summary, table: rows }, null, 2),
    )
    r.table = rows
    r.summary = summary
  }

  /** The training and backtest combinations the request asks for (400/422 naming the parameter). */
  function combinations(b: ReturnType<typeof parseSweepBody>) {
    const tSpace = Object.entries(b.training?.parameters ?? {}) as Array<[string, ValueSpec]>
    const bSpace = Object.entries(b.backtest.parameters ?? {}) as Array<[string, ValueSpec]>
    for (const [name, spec] of tSpace) {
      const field = `training.parameters.${name}`
      if (isRange(spec) && TRAINING_PARAMS[name].kind === 'layers') badField(field, 'layer sizes cannot be drawn from a range: list them')
      for (const v of isRange(spec) ? [spec.min, spec.max] : spec) {
        const problem = TRAINING_PARAMS[name].kind === 'integer' && isRange(spec) ? null : typeProblem(name, v)
        if (problem) badField(field, `${problem} (got ${JSON.stringify(v)})`)
      }
    }
    let pairs: Array<{ t: Combination; b: Combination }>
    if (b.search.method === 'grid') {
      const tLists = tSpace as Array<[string, unknown[]]>
      const bLists = bSpace as Array<[string, unknown[]]>
      if (gridSize(tLists) > SWEEP_MAX_TRAININGS)
        badField(
          'training.parameters',
          `${gridSize(tLists)} training combinations; at most ${SWEEP_MAX_TRAININGS}: use fewer values or search.method "random"`,
        )
      const runs = gridSize(tLists) * gridSize(bLists)
      if (runs > SWEEP_MAX_RUNS)
        badField(
          bSpace.length ? 'backtest.parameters' : 'training.parameters',
          `${runs} runs; at most ${SWEEP_MAX_RUNS}: use fewer values or search.method "random"`,
        )
      const ts = gridCombinations(tLists)
      const bs = gridCombinations(bLists)
      pairs = ts.flatMap((t) => bs.map((x) => ({ t, b: x })))
    } else {
      const samples = b.search.samples ?? 10
      const tNames = new Set(tSpace.map(([n]) => n))
      pairs = randomCombinations([...tSpace, ...bSpace], samples, b.search.seed, nameOf).map((c) => ({
        t: Object.fromEntries(Object.entries(c).filter(([k]) => tNames.has(k))),
        b: Object.fromEntries(Object.entries(c).filter(([k]) => !tNames.has(k))),
      }))
      if (new Set(pairs.map((p) => nameOf(p.t))).size > SWEEP_MAX_TRAININGS)
        badField('search.samples', `more than ${SWEEP_MAX_TRAININGS} training combinations: take fewer samples`)
    }
    return pairs
  }

  async function admit(body: unknown) {
    const b = parseSweepBody(body)
    const { yaml, strategy } = await readStrategy(ctx, b.strategy)
    for (const name of Object.keys(b.training?.parameters ?? {})) {
      const why = notApplicable(name, strategy)
      if (why) badField(`training.parameters.${name}`, why)
    }
    const symbol = b.symbol ?? strategy.training_data.symbols[0]
    const timeframe = resolveTimeframe(strategy, b.timeframe)
    const data = await commonDataDays(ctx, [symbol], timeframe, b.symbol ? 'symbol' : b.timeframe ? 'timeframe' : 'strategy')
    const market = `${symbol} ${timeframe}`
    if (b.backtest.start_date > data.end)
      outsideData('backtest.start_date', `${b.backtest.start_date} is after the last bar (${data.end}) of ${market}`, data)
    if (b.training?.end_date && b.training.end_date < data.start)
      outsideData('training.end_date', `${b.training.end_date} is before the first bar (${data.start}) of ${market}`, data)
    if (b.backtest.model_path) await requireModel(b.backtest.model_path)
    const pairs = combinations(b)

    // Trainings: one per distinct combination of training parameters (one, unchanged, when only the
    // backtest is swept); none with model_path.
    const trainings: Array<{ name: string; params: Combination }> = []
    if (!b.backtest.model_path)
      for (const { t } of pairs) if (!trainings.some((x) => x.name === nameOf(t))) trainings.push({ name: nameOf(t), params: t })
    // Backtests: each training's model carries the sets paired with it; one model alone (model_path, or
    // a single training) has its sets shared out over the hosts' slots.
    const groups = trainings.length
      ? trainings.map((t, i) => ({ training: `train_${i + 1}`, sets: pairs.filter((p) => nameOf(p.t) === t.name).map((p) => p.b) }))
      : [{ training: null as string | null, sets: pairs.map((p) => p.b) }]
    const backtests: Array<{ training: string | null; sets: Combination[] }> = []
    for (const g of groups) {
      const chunks = groups.length === 1 ? Math.min(g.sets.length, hostSlots(ctx)) : 1
      const size = Math.ceil(g.sets.length / chunks)
      for (let i = 0; i < g.sets.length; i += size) backtests.push({ training: g.training, sets: g.sets.slice(i, i + size) })
    }

    const base = parseDocument(yaml)
    const variants = (modelName: string) =>
      trainings.map((t, i): SweepTraining => {
        const doc = applyTrainingParams(base, t.params)
        doc.set('name', modelName)
        const text = String(doc)
        const v = validateStrategy(text)
        if (!v.strategy) {
          const first = v.errors[0]
          const param =
            Object.keys(t.params).find((p) => first?.path?.startsWith(TRAINING_PARAMS[p].path.join('.'))) ?? Object.keys(t.params)[0]
          throw new KtrdrError({
            code: 'STRATEGY_INVALID',
            message: `training.parameters.${param ?? ''}: ${t.name} makes ${b.strategy} invalid: ${v.errors
              .slice(0, 3)
              .map((e) => `${e.path} ${e.message}`)
              .join('; ')}`,
            details: { field: param ? `training.parameters.${param}` : 'training.parameters', errors: v.errors },
          })
        }
        return { key: `train_${i + 1}`, name: t.name, params: t.params, strategy_yaml: text, result: null, error: null }
      })

    const train_input: Json = {
      symbols: [symbol],
      ...(strategy.training_data.timeframes.length === 1 ? { timeframes: [timeframe] } : {}),
      ...(b.training?.start_date ? { start_date: b.training.start_date } : {}),
      ...(b.training?.end_date ? { end_date: b.training.end_date } : {}),
      ...(b.training?.epochs !== undefined ? { epochs: b.training.epochs } : {}),
      ...(b.training?.seed !== undefined ? { seed: b.training.seed } : {}),
    }
    const backtest_input: Json = {
      symbol,
      timeframe,
      start_date: b.backtest.start_date,
      ...(b.backtest.end_date ? { end_date: b.backtest.end_date } : {}),
      require_out_of_sample: true,
      ...(b.backtest.initial_capital !== undefined ? { initial_capital: b.backtest.initial_capital } : {}),
      ...(b.backtest.commission !== undefined ? { commission: b.backtest.commission } : {}),
      ...(b.backtest.slippage !== undefined ? { slippage: b.backtest.slippage } : {}),
    }
    // Every child's input against the deployed functions' own schemas now: a bad value is a 422 here.
    const checked = variants(`${strategy.name}.sw_check`)
    const [trainFn, backtestFn] = await Promise.all([
      checked.length ? ctx.functions.resolve(TRADING_FUNCTIONS.train) : null,
      ctx.functions.resolve(TRADING_FUNCTIONS.backtest),
    ])
    const fieldOf = (f: string) => {
      const set = /^parameter_sets\[\d+\]\.(\w+)/.exec(f)
      if (set) return `backtest.parameters.${set[1]}`
      return f === 'strategy_yaml' ? 'training.parameters' : f
    }
    for (const t of checked.slice(0, 1)) checkChildInput(ctx, trainFn!, { ...train_input, strategy_yaml: t.strategy_yaml }, fieldOf)
    for (const bt of backtests)
      checkChildInput(
        ctx,
        backtestFn,
        {
          ...backtest_input,
          model_path: b.backtest.model_path ?? `${strategy.name}/${timeframe}_v1`,
          parameter_sets: bt.sets.map((s) => ({ name: nameOf(s), ...s })),
        },
        fieldOf,
      )

    return (operationId: string) => {
      // The sweep's models go under their own name: the strategy's own `_latest` never moves to one of them.
      const model_name = trainings.length ? `${strategy.name}.sw_${operationId.slice(-8)}` : null
      return {
        operation_type: 'sweep' as const,
        request: {
          strategy: b.strategy,
          symbol,
          timeframe,
          training: b.training
            ? {
                start_date: b.training.start_date ?? null,
                end_date: b.training.end_date!,
                epochs: b.training.epochs ?? null,
                seed: b.training.seed ?? null,
                parameters: b.training.parameters ?? {},
              }
            : null,
          backtest: {
            start_date: b.backtest.start_date,
            end_date: b.backtest.end_date ?? null,
            model_path: b.backtest.model_path ?? null,
            parameters: b.backtest.parameters ?? {},
          },
          search: { method: b.search.method, samples: b.search.method === 'random' ? (b.search.samples ?? 10) : null, seed: b.search.seed },
          rank_by: b.rank_by,
          max_parallel: b.max_parallel ?? null,
        },
        model_name,
        train_input,
        backtest_input,
        trainings: model_name ? variants(model_name) : [],
        backtests: backtests.map((bt, i): SweepBacktest => ({
          key: `backtest_${i + 1}`,
          training: bt.training,
          sets: bt.sets.map((s) => ({ name: nameOf(s), params: s })),
          operation_id: null,
          worker_id: null,
          runs: null,
          error: null,
        })),
        table: null,
        summary: null,
        results_prefix: `sweeps/${operationId}`,
      }
    }
  }

  /** 404 naming backtest.model_path when the models mount has no such version or pointer. */
  async function requireModel(path: string) {
    if (path.startsWith('/')) return // an absolute path under MODELS_DIR: the backtest resolves it
    const key = path.replace(/^models\//, '')
    const found = key.endsWith('_latest') ? await ctx.storage.models.hasItem(key) : await ctx.storage.models.hasItem(`${key}/metadata.json`)
    if (!found)
      throw new KtrdrError({
        code: 'MODEL_NOT_FOUND',
        message: `backtest.model_path: no model "${path}" in the models mount: list them with GET /api/v1/models`,
        details: { field: 'backtest.model_path' },
      })
  }

  function currentStep(r: SweepRecord): string {
    if (r.status === 'completed') return `${r.summary?.runs ?? 0} runs tabled${r.summary?.best ? `; best ${r.summary.best.name}` : ''}`
    if (r.status !== 'running') return r.status
    const trained = r.trainings.filter((t) => t.result || t.error).length
    const tested = r.backtests.filter((b) => b.runs || b.error).length
    return `${trained}/${r.trainings.length} trainings, ${tested}/${r.backtests.length} backtests done`
  }

  return {
    runner,
    async start(body: unknown): Promise<SweepRecord> {
      return runner.start(await admit(body))
    },
    get: runner.get,
    list: runner.list,
    cancel: runner.cancel,
    subscribe: runner.subscribe,
    /** The record as the API shows it: progress in, the inline strategies out (the models keep them). */
    view(r: SweepRecord): Record<string, unknown> {
      return {
        ...r,
        trainings: r.trainings.map(({ strategy_yaml: _yaml, ...t }) => t),
        parent_operation_id: null,
        progress: { ...runner.progress(r), current_step: currentStep(r) },
      }
    },
    idle: runner.idle,
    close: runner.close,
  }
}

export type Sweeps = Awaited<ReturnType<typeof createSweeps>>
