import { obj, type OperationKind } from './_runs.ts'

type Json = Record<string, any>

/**
 * How a value is shown: `percent` is already in percent (every `*_pct`), `fraction` is 0–1 shown as
 * percent (win_rate, accuracies), `ratio` two decimals, `p_value` four, `hours`, `integer`, `text`.
 */
export type CompareFormat = 'percent' | 'fraction' | 'ratio' | 'p_value' | 'hours' | 'seconds' | 'integer' | 'number' | 'text'

export interface CompareRow {
  key: string
  label: string
  format: CompareFormat
  /** Which way is better, where one is; `best` is then the one column holding the best value (null on a tie). */
  better?: 'higher' | 'lower'
  /** Rows that say what a number must beat (baselines) name the row they belong to. */
  baseline_of?: string
  values: Array<number | string | null>
  best?: number | null
}

/** A row of the table before it is read from the results: what it shows, and where each value is. */
interface Spec extends Omit<CompareRow, 'values' | 'best'> {
  get: (r: Json) => unknown
}

/** Columns of one comparison: one is no comparison, more than six no longer fit side by side. */
export const COMPARE_MIN = 2
export const COMPARE_MAX = 6

/** The names a query lists, comma-separated (in one value or several): trimmed, each once, in order. */
export function compareList(raw: unknown): string[] {
  const values = (Array.isArray(raw) ? raw : [raw]).filter((v): v is string => typeof v === 'string')
  return [
    ...new Set(
      values
        .flatMap((v) => v.split(','))
        .map((s) => s.trim())
        .filter(Boolean),
    ),
  ]
}

/** A training result's per-epoch curves, for a column to overlay. */
export const trainingHistory = (result: Json): Record<string, number[]> | null => obj(result.training_metrics).history ?? null

const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null)

const BACKTEST: Spec[] = [
  { key: 'strategy', label: 'Strategy', format: 'text', get: (r) => r.strategy_name },
  { key: 'model', label: 'Model', format: 'text', get: (r) => obj(r.model).key },
  { key: 'symbol', label: 'Symbol', format: 'text', get: (r) => (r.timeframe ? `${r.symbol} ${r.timeframe}` : r.symbol) },
  { key: 'window', label: 'Window', format: 'text', get: (r) => (r.start_time ? `${r.start_time} → ${r.end_time}` : null) },
  { key: 'bars', label: 'Bars', format: 'integer', get: (r) => r.equity_curve_length },
  { key: 'data', label: 'Data', format: 'text', get: (r) => (r.synthetic_data ? 'SYNTHETIC' : 'market') },
  { key: 'total_return_pct', label: 'Total return', format: 'percent', better: 'higher', get: (r) => obj(r.metrics).total_return_pct },
  {
    key: 'buy_and_hold_market_pct',
    label: 'Buy and hold (market)',
    format: 'percent',
    baseline_of: 'total_return_pct',
    get: (r) => obj(obj(r.baselines).buy_and_hold).market_return_pct,
  },
  {
    key: 'buy_and_hold_pct',
    label: 'Buy and hold (same size and costs)',
    format: 'percent',
    baseline_of: 'total_return_pct',
    get: (r) => obj(obj(r.baselines).buy_and_hold).return_pct,
  },
  {
    key: 'random_p50_pct',
    label: 'Random entries, median',
    format: 'percent',
    baseline_of: 'total_return_pct',
    get: (r) => obj(obj(r.baselines).random_entries).p50_return_pct,
  },
  {
    key: 'random_percentile',
    label: 'Percentile among random entries',
    format: 'ratio',
    better: 'higher',
    get: (r) => obj(obj(r.baselines).random_entries).percentile,
  },
  {
    key: 'p_value',
    label: 'p-value vs random entries',
    format: 'p_value',
    better: 'lower',
    get: (r) => obj(obj(r.baselines).random_entries).p_value,
  },
  {
    key: 'annualized_return',
    label: 'Annualised return',
    format: 'fraction',
    better: 'higher',
    get: (r) => obj(r.metrics).annualized_return,
  },
  { key: 'sharpe_ratio', label: 'Sharpe', format: 'ratio', better: 'higher', get: (r) => obj(r.metrics).sharpe_ratio },
  { key: 'sortino_ratio', label: 'Sortino', format: 'ratio', better: 'higher', get: (r) => obj(r.metrics).sortino_ratio },
  { key: 'calmar_ratio', label: 'Calmar', format: 'ratio', better: 'higher', get: (r) => obj(r.metrics).calmar_ratio },
  { key: 'max_drawdown_pct', label: 'Max drawdown', format: 'percent', better: 'lower', get: (r) => obj(r.metrics).max_drawdown_pct },
  { key: 'volatility', label: 'Volatility (annualised)', format: 'fraction', get: (r) => obj(r.metrics).volatility },
  { key: 'total_trades', label: 'Trades', format: 'integer', get: (r) => obj(r.metrics).total_trades },
  { key: 'win_rate', label: 'Win rate', format: 'fraction', better: 'higher', get: (r) => obj(r.metrics).win_rate },
  { key: 'profit_factor', label: 'Profit factor', format: 'ratio', better: 'higher', get: (r) => obj(r.metrics).profit_factor },
  { key: 'avg_holding_period', label: 'Average holding', format: 'hours', get: (r) => obj(r.metrics).avg_holding_period },
  { key: 'time_in_market_pct', label: 'Time in market', format: 'percent', get: (r) => obj(r.decisions).time_in_market_pct },
  {
    key: 'overlap_bars',
    label: 'Bars overlapping training',
    format: 'integer',
    better: 'lower',
    get: (r) => obj(r.out_of_sample).overlap_bars,
  },
  { key: 'verdict', label: 'Verdict', format: 'text', get: (r) => obj(r.baselines).verdict },
]

const test = (r: Json) => obj(r.test_metrics)
const train = (r: Json) => obj(r.training_metrics)

const TRAINING: Spec[] = [
  { key: 'strategy', label: 'Strategy', format: 'text', get: (r) => obj(r.session_info).strategy_name },
  { key: 'model', label: 'Model', format: 'text', get: (r) => r.model_key },
  { key: 'model_type', label: 'Network', format: 'text', get: (r) => obj(r.model_info).architecture },
  {
    key: 'data',
    label: 'Data',
    format: 'text',
    get: (r) => {
      const d = obj(r.data_summary)
      const symbols = Array.isArray(d.symbols) ? d.symbols.join(',') : ''
      const tfs = Array.isArray(d.timeframes) ? d.timeframes.join(',') : ''
      return `${symbols} ${tfs}${d.synthetic ? ' SYNTHETIC' : ''}`.trim() || null
    },
  },
  { key: 'samples', label: 'Samples (train/val/test)', format: 'text', get: (r) => samples(obj(r.data_summary)) },
  { key: 'epochs_trained', label: 'Epochs', format: 'integer', get: (r) => train(r).epochs_trained },
  { key: 'best_epoch', label: 'Best epoch', format: 'integer', get: (r) => train(r).best_epoch },
  { key: 'final_train_loss', label: 'Train loss', format: 'number', better: 'lower', get: (r) => train(r).final_train_loss },
  { key: 'final_val_loss', label: 'Validation loss', format: 'number', better: 'lower', get: (r) => train(r).final_val_loss },
  {
    key: 'final_val_accuracy',
    label: 'Validation accuracy',
    format: 'fraction',
    better: 'higher',
    get: (r) => train(r).final_val_accuracy,
  },
  {
    key: 'val_majority_baseline',
    label: 'Validation: always the majority class',
    format: 'fraction',
    baseline_of: 'final_val_accuracy',
    get: (r) => train(r).val_majority_baseline,
  },
  { key: 'test_accuracy', label: 'Test accuracy', format: 'fraction', better: 'higher', get: (r) => test(r).test_accuracy },
  {
    key: 'majority_baseline',
    label: 'Test: always the majority class',
    format: 'fraction',
    baseline_of: 'test_accuracy',
    get: (r) => test(r).majority_baseline,
  },
  { key: 'balanced_accuracy', label: 'Balanced accuracy', format: 'fraction', better: 'higher', get: (r) => test(r).balanced_accuracy },
  { key: 'macro_f1', label: 'Macro F1', format: 'ratio', better: 'higher', get: (r) => test(r).macro_f1 },
  { key: 'edge_over_majority', label: 'Edge over majority', format: 'fraction', better: 'higher', get: (r) => test(r).edge_over_majority },
  { key: 'mae', label: 'MAE', format: 'number', better: 'lower', get: (r) => test(r).mae },
  {
    key: 'zero_return_mae',
    label: 'MAE of always-zero',
    format: 'number',
    baseline_of: 'mae',
    get: (r) => obj(obj(test(r).baselines).zero_return).mae,
  },
  {
    key: 'directional_accuracy',
    label: 'Directional accuracy',
    format: 'fraction',
    better: 'higher',
    get: (r) => test(r).directional_accuracy,
  },
  { key: 'parameters', label: 'Parameters', format: 'integer', get: (r) => obj(r.model_info).parameters_count },
  { key: 'training_time', label: 'Training time', format: 'seconds', get: (r) => train(r).training_time },
]

function samples(d: Json): string | null {
  const n = [d.train_samples, d.validation_samples, d.test_samples]
  return n.every((x) => typeof x === 'number') ? n.join(' / ') : null
}

/** The comparison table of 2–6 results of one kind; rows no result has are left out (regression vs classification). */
export function compareRows(kind: OperationKind, results: Json[]): CompareRow[] {
  const rows: CompareRow[] = []
  for (const spec of kind === 'backtest' ? BACKTEST : TRAINING) {
    const values = results.map((r) => {
      const v = spec.get(r)
      if (spec.format === 'text') return typeof v === 'string' && v ? v : null
      return num(v)
    })
    if (values.every((v) => v === null)) continue
    const row: CompareRow = { key: spec.key, label: spec.label, format: spec.format, values }
    if (spec.baseline_of) row.baseline_of = spec.baseline_of
    if (spec.better) {
      row.better = spec.better
      // The one column strictly better than every other; a tie marks none.
      const nums = values.filter((v): v is number => typeof v === 'number')
      const top = spec.better === 'higher' ? Math.max(...nums) : Math.min(...nums)
      const at = values.flatMap((v, i) => (v === top ? [i] : []))
      row.best = nums.length > 1 && at.length === 1 ? at[0] : null
    }
    rows.push(row)
  }
  return rows
}
