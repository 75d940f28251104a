import type { TestRun, TrainingFigures } from '../parents/_compact.ts'
import type { ParentRecord } from '../parents/runner.ts'
import type { Stability, Stitched } from './aggregate.ts'
import type { FoldWindow } from './folds.ts'

/** What POST /api/v1/walkforward accepted, every default resolved (symbols, timeframe, range from the data). */
export interface WalkForwardRequest {
  strategy: string
  symbols: string[]
  timeframe: string
  start_date: string
  end_date: string
  train_window: string
  test_window: string
  step: string
  mode: 'rolling' | 'anchored'
  epochs: number | null
  seed: number | null
  max_parallel: number | null
  backtest: { initial_capital?: number; commission?: number; slippage?: number }
}

/** Why a fold was not tested, said aloud in the record, the CLI and the dashboard. */
export interface FoldSkip {
  /** plan: no bars in a window, seen before any child ran (none ran); backtest: its backtest found no bars. */
  phase: 'plan' | 'backtest'
  reason: string
}

export interface FoldRecord extends FoldWindow {
  training: TrainingFigures | null
  /** Set when the fold is left out of the stitched curve and every figure across folds. */
  skipped?: FoldSkip | null
  test: FoldWindow['test'] & { operation_id?: string; worker_id?: string | null; runs?: TestRun[] }
}

export interface WalkForwardSummary {
  /** Folds planned; `tested` of them were aggregated, the `skipped` ones (with why) were not. */
  folds: number
  tested: number
  skipped: Array<{ fold: number; test: { start: string; end: string }; reason: string }>
  /** Per symbol: the stitched out-of-sample curve (equity.csv) in figures. */
  stitched: Record<string, Omit<Stitched, 'points'>>
  /** Per symbol, per metric: mean, std, min, max and the share of positive folds. */
  stability: Record<string, Record<string, Stability>>
  /** Training metrics across folds (the model's own held-out split inside each training window). */
  training_stability: Record<string, Stability>
  /** Which figures are baselines, and of what (shown beside it). */
  baseline_of: Record<string, string>
  /** Per symbol: folds that made money, that beat buy-and-hold, that beat random entries at p ≤ 0.05. */
  consistency: Record<string, { folds: number; positive: number; beat_buy_and_hold: number; significant: number }>
  files: { summary: string; folds: string; equity: string }
}

/** A walk-forward: the parent of each fold's train and backtest children. */
export interface WalkForwardRecord extends ParentRecord {
  operation_type: 'walkforward'
  request: WalkForwardRequest
  /**
   * What every fold's training gets beside its window: the strategy inline, as it was when the
   * walk-forward was accepted (every fold trains that one, edited since or not, renamed to model_name).
   */
  train_input: Record<string, unknown> & { strategy_yaml: string }
  /** What every fold's backtest gets beside its model and window. */
  backtest_input: Record<string, unknown>
  /** The strategy name the fold models are saved under: `<strategy>.wf_<hex>` (the strategy's own `_latest` never moves). */
  model_name: string
  folds: FoldRecord[]
  results_prefix: string
  summary: WalkForwardSummary | null
}
