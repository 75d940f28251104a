import { defineFunction } from '../../runtime/function/index.ts'
import { runBacktestJob } from './src/job.ts'
import { backtestInputSchema } from './src/input.ts'

/**
 * Replays stored bars through a trained model and the position manager (docs/domain.md#backtesting). One invocation
 * may carry several symbols and parameter sets: features and inference run once per symbol,
 * only the engine re-runs per set. Summary in the result; trades and equity curves in the
 * `results` mount under `backtests/<operation_id>/`.
 */
export default defineFunction({
  name: 'backtest',
  description: 'Backtests a trained model over stored bars; one result per (symbol × parameter set)',
  operation_type: 'backtesting',
  input: backtestInputSchema,
  placement: { worker_types: ['backtesting', 'general'] },
  storage: { strategies: 'read', data: 'read', models: 'read', results: { access: 'write', prefixes: ['backtests'] } },
  env: ['CUDA_VISIBLE_DEVICES', 'LD_LIBRARY_PATH'],
  timeout_seconds: 6 * 3600,
  max_attempts: 2,
  run: runBacktestJob,
})
