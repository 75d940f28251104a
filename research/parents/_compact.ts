import type { Operation } from '../../runtime/protocol/index.ts'

// What a parent keeps of its train and backtest children's results: the figures its tables and
// summaries show, each test figure beside the baselines the backtest measured over the same window.

type Json = Record<string, any>
export const obj = (v: unknown): Json => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Json) : {})
export const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null)
const pick = (from: Json, keys: readonly string[]) => Object.fromEntries(keys.map((k) => [k, num(from[k])]))

/** Backtest figures kept per run and summarised across runs. */
export const TEST_METRICS = [
  'total_return_pct',
  'annualized_return',
  'sharpe_ratio',
  'sortino_ratio',
  'max_drawdown_pct',
  'win_rate',
  'profit_factor',
  'total_trades',
] as const

/** The model's own figures inside its training window (its held-out test split, beside always-the-majority-class). */
export const TRAINING_METRICS = [
  'final_train_accuracy',
  'final_val_accuracy',
  'val_majority_baseline',
  'test_accuracy',
  'majority_baseline',
  'edge_over_majority',
  'test_loss',
  'directional_accuracy',
] as const

/** Which figures are baselines, and of what (shown beside it). */
export const BASELINE_OF = {
  buy_and_hold_pct: 'total_return_pct',
  buy_and_hold_market_pct: 'total_return_pct',
  random_p50_pct: 'total_return_pct',
  val_majority_baseline: 'final_val_accuracy',
  majority_baseline: 'test_accuracy',
}

/** What a training returned that a parent's table needs. */
export interface TrainingFigures {
  operation_id: string
  worker_id: string | null
  model_path: string
  metrics: Record<string, number | null>
  samples: { train: number | null; validation: number | null; test: number | null }
}

/** One (symbol × parameter set) run of a backtest, with the baselines it measured beside it. */
export interface TestRun {
  symbol: string
  parameter_set: number
  parameter_set_name: string | null
  start_time: string
  end_time: string
  bars: number
  initial_capital: number
  final_equity: number
  metrics: Record<string, number | null>
  baselines: {
    buy_and_hold_market_pct: number | null
    buy_and_hold_pct: number | null
    random_p50_pct: number | null
    random_percentile: number | null
    p_value: number | null
  }
  verdict: string | null
  out_of_sample: { in_sample_start: string | null; in_sample_end: string | null; overlap_bars: number; checked: boolean }
  equity_curve_key: string | null
}

/** A child that did not complete, as the error a parent records (with the child's code). */
export function childFailure(what: string, op: Operation): Error & { code: string } {
  const error = new Error(`${what} ${op.status} (${op.operation_id}): ${op.error?.message ?? 'no reason given'}`) as Error & {
    code: string
  }
  error.code = op.error?.code ?? (op.status === 'cancelled' ? 'CANCELLED' : 'FUNCTION_ERROR')
  return error
}

export function compactTraining(op: Operation): TrainingFigures {
  const r = obj(op.result)
  const data = obj(r.data_summary)
  if (typeof r.model_path !== 'string') throw new Error(`training ${op.operation_id} completed without a model_path`)
  return {
    operation_id: op.operation_id,
    worker_id: op.worker_id ?? null,
    model_path: r.model_path,
    metrics: { ...pick(obj(r.training_metrics), TRAINING_METRICS), ...pick(obj(r.test_metrics), TRAINING_METRICS) },
    samples: { train: num(data.train_samples), validation: num(data.validation_samples), test: num(data.test_samples) },
  }
}

export function compactRuns(op: Operation): TestRun[] {
  const r = obj(op.result)
  const runs = Array.isArray(r.runs) ? (r.runs as Json[]) : [r]
  return runs.map((run, i) => {
    const b = obj(run.baselines)
    const oos = obj(run.out_of_sample)
    return {
      symbol: String(run.symbol),
      parameter_set: typeof run.parameter_set === 'number' ? run.parameter_set : i,
      parameter_set_name: typeof run.parameter_set_name === 'string' ? run.parameter_set_name : null,
      start_time: String(run.start_time),
      end_time: String(run.end_time),
      bars: Number(run.equity_curve_length ?? 0),
      initial_capital: Number(obj(run.config).initial_capital),
      final_equity: Number(run.final_equity),
      metrics: pick(obj(run.metrics), TEST_METRICS),
      baselines: {
        buy_and_hold_market_pct: num(obj(b.buy_and_hold).market_return_pct),
        buy_and_hold_pct: num(obj(b.buy_and_hold).return_pct),
        random_p50_pct: num(obj(b.random_entries).p50_return_pct),
        random_percentile: num(obj(b.random_entries).percentile),
        p_value: num(obj(b.random_entries).p_value),
      },
      verdict: typeof b.verdict === 'string' ? b.verdict : null,
      out_of_sample: {
        in_sample_start: typeof oos.in_sample_start === 'string' ? oos.in_sample_start : null,
        in_sample_end: typeof oos.in_sample_end === 'string' ? oos.in_sample_end : null,
        overlap_bars: Number(oos.overlap_bars ?? Number.NaN),
        checked: oos.checked === true,
      },
      equity_curve_key: typeof obj(run.results).equity_curve_key === 'string' ? obj(run.results).equity_curve_key : null,
    }
  })
}

/** The strategy's return over buy-and-hold sized and charged like its entries. */
export const excess = (run: TestRun) =>
  run.metrics.total_return_pct !== null && run.baselines.buy_and_hold_pct !== null
    ? run.metrics.total_return_pct - run.baselines.buy_and_hold_pct
    : null

/** A run that was not measured strictly out of sample (the backtest's own overlap guard says so), or null. */
export function inSampleProblem(run: TestRun): string | null {
  if (!run.out_of_sample.checked) return `${run.symbol} was not checked against the model's training data`
  if (run.out_of_sample.overlap_bars !== 0)
    return `${run.symbol} overlaps the model's training data by ${run.out_of_sample.overlap_bars} bars`
  return null
}
