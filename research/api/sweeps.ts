import { defineGatewayRoutes } from '../../runtime/gateway/index.ts'
import { sweepBody, SWEEP_EXAMPLES } from '../sweep/request.ts'
import { createSweeps } from '../sweep/sweep.ts'
import { parentRoutes } from './_parents.ts'

/**
 * Parameter sweeps (docs/architecture.md#walk-forward-and-sweeps): POST starts one; the record
 * shows its trainings and backtests and, once done, the table (a row per run named by its
 * parameters, figures beside baselines, the best marked); the files are under
 * GET /api/v1/results/sweeps/<id>/.
 */
export default defineGatewayRoutes((router, ctx) =>
  parentRoutes(router, ctx, {
    path: '/api/v1/sweeps',
    noun: 'sweep',
    engine: () => createSweeps(ctx),
    start: {
      summary: 'Start a sweep: training hyperparameters and/or backtest parameter sets, each run a child operation',
      description:
        'A grid or seeded random search: each combination of training parameters trains as a child on the same window, each model is backtested out of sample as a child carrying its position-manager parameter sets; the table names each run by its parameters and marks the best by rank_by. 4xx naming the field for bad input.',
      body: sweepBody,
      examples: SWEEP_EXAMPLES,
    },
  }),
)
