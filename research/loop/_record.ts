import type { ExperimentRecord } from '../../trading/index.ts'
import type { LoopRecord } from './_types.ts'

const obj = (v: unknown): Record<string, unknown> => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : {})
const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null)

/** A loop's experiment record (memory mount, experiments/<exp_id>.yaml), from what its children returned. */
export function experimentRecord(loop: LoopRecord, status: ExperimentRecord['status']): ExperimentRecord {
  const assess = loop.results.assess ? obj(loop.results.assess) : null
  const design = loop.results.design ? obj(loop.results.design) : null
  const training = loop.results.training ? obj(loop.results.training) : null
  const backtest = loop.results.backtest ? obj(loop.results.backtest) : null
  const facts = obj(assess?.facts)
  const metrics = obj(backtest?.metrics)
  const test = obj(training?.test_metrics)
  const tm = obj(training?.training_metrics)
  const rec: ExperimentRecord = {
    id: loop.experiment_id,
    created_at: loop.created_at,
    status,
    brief: loop.request.brief,
    strategy: { name: loop.strategy_name ?? '(none)', designed: !!loop.request.brief },
    models: {
      design: design ? { model: String(design.model), sha256: String(design.model_sha256) } : null,
      assess: assess ? { model: String(assess.model), sha256: String(assess.model_sha256) } : null,
      trained: training?.model_key ? { key: String(training.model_key) } : null,
    },
    data_window: loop.data_window ?? {
      symbol: null,
      timeframe: null,
      train: { start: null, end: null },
      backtest: { start: null, end: null },
    },
    metrics: {
      test_accuracy: num(test.test_accuracy),
      val_accuracy: num(tm.final_val_accuracy),
      train_accuracy: num(tm.final_train_accuracy),
      sharpe_ratio: num(metrics.sharpe_ratio),
      total_trades: num(metrics.total_trades),
      win_rate: num(metrics.win_rate),
      max_drawdown_pct: num(metrics.max_drawdown_pct),
      total_return_pct: num(metrics.total_return_pct),
    },
    gates: { training: loop.gates.training ?? null, backtest: loop.gates.backtest ?? null },
    assessment: assess
      ? {
          verdict: String(assess.verdict),
          observations: (assess.observations as string[]) ?? [],
          hypotheses: (assess.hypotheses as string[]) ?? [],
          limitations: (assess.limitations as string[]) ?? [],
          facts,
        }
      : null,
    hypotheses: { tested: loop.hypotheses.tested, proposed: loop.hypotheses.proposed },
    operations: { parent: loop.operation_id, ...loop.children },
    error: loop.error?.message ?? null,
  }
  if (loop.shortcut) (rec as ExperimentRecord & { shortcut?: string }).shortcut = loop.shortcut
  return rec
}
