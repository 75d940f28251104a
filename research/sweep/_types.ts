import type { TestRun, TrainingFigures } from '../parents/_compact.ts'
import type { ParentRecord } from '../parents/runner.ts'

/** What POST /api/v1/sweeps accepted, every default resolved. */
export interface SweepRequest {
  strategy: string
  symbol: string
  timeframe: string
  training: {
    start_date: string | null
    end_date: string
    epochs: number | null
    seed: number | null
    parameters: Record<string, unknown>
  } | null
  backtest: { start_date: string; end_date: string | null; model_path: string | null; parameters: Record<string, unknown> }
  search: { method: 'grid' | 'random'; samples: number | null; seed: number }
  rank_by: string
  max_parallel: number | null
}

/** One training of the sweep: a combination of training parameters (none: the strategy as it is). */
export interface SweepTraining {
  key: string
  /** `lr=0.001,hidden=64-32`; empty for the one training of a backtest-only sweep. */
  name: string
  params: Record<string, unknown>
  /** The strategy with the combination applied, renamed to the sweep's model name. */
  strategy_yaml: string
  result: TrainingFigures | null
  error: { message: string; code?: string } | null
}

/** One backtest child: the parameter sets it carries, for the model of a training (or backtest.model_path). */
export interface SweepBacktest {
  key: string
  /** Key of the training whose model it tests; null: backtest.model_path. */
  training: string | null
  sets: Array<{ name: string; params: Record<string, unknown> }>
  operation_id: string | null
  worker_id: string | null
  runs: TestRun[] | null
  error: { message: string; code?: string } | null
}

/** A row of the summary table: one run, named by its parameters. */
export interface SweepRow {
  name: string
  training_params: Record<string, unknown>
  backtest_params: Record<string, unknown>
  status: 'completed' | 'failed'
  error: string | null
  operations: { train: string | null; backtest: string | null }
  metrics: Record<string, number | null>
  excess_return_pct: number | null
  baselines: TestRun['baselines'] | null
  training_metrics: Record<string, number | null> | null
  verdict: string | null
  overlap_bars: number | null
  best: boolean
}

export interface SweepSummary {
  runs: number
  completed: number
  failed: number
  rank_by: string
  better: 'higher' | 'lower'
  /** The run with the best rank_by (ties broken by total return); null when none or still tied. */
  best: { name: string; value: number | null } | null
  baseline_of: Record<string, string>
  files: { summary: string; table: string }
}

export interface SweepRecord extends ParentRecord {
  operation_type: 'sweep'
  request: SweepRequest
  /** Strategy name the sweep's models are saved under (`<strategy>.sw_<hex>`); null for a backtest-only sweep of a given model. */
  model_name: string | null
  train_input: Record<string, unknown>
  backtest_input: Record<string, unknown>
  trainings: SweepTraining[]
  backtests: SweepBacktest[]
  table: SweepRow[] | null
  summary: SweepSummary | null
  results_prefix: string
}
