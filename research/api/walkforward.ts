import { defineGatewayRoutes } from '../../runtime/gateway/index.ts'
import { walkForwardBody, WALKFORWARD_EXAMPLES } from '../walkforward/request.ts'
import { createWalkForwards } from '../walkforward/walkforward.ts'
import { parentRoutes } from './_parents.ts'

/**
 * Walk-forward analysis (docs/architecture.md#walk-forward-and-sweeps): POST starts one; the record
 * shows its folds and, once done, the stitched out-of-sample curve and the stability of every
 * figure; the files are under GET /api/v1/results/walkforward/<id>/.
 */
export default defineGatewayRoutes((router, ctx) =>
  parentRoutes(router, ctx, {
    path: '/api/v1/walkforward',
    noun: 'walk-forward',
    engine: () => createWalkForwards(ctx),
    start: {
      summary: 'Start a walk-forward: train → out-of-sample test folds, each as child operations',
      description:
        'Plans rolling or anchored folds over the range, trains and backtests each fold as children (parent_operation_id) spread over the hosts, then stitches the test windows into one equity curve and summarises every figure across folds. 4xx naming the field for bad input.',
      body: walkForwardBody,
      examples: WALKFORWARD_EXAMPLES,
    },
  }),
)
