import { defineEventHandler, getRouterParam } from 'h3'
import { z } from 'zod'
import { defineGatewayRoutes, readQuery } from '../../runtime/gateway/index.ts'
import { KtrdrError } from '../../trading/index.ts'
import { walkForwardBody, WALKFORWARD_EXAMPLES } from '../walkforward/request.ts'
import { createWalkForwards } from '../walkforward/walkforward.ts'
import { CHART_POINTS } from './_decimate.ts'
import { parentRoutes } from './_parents.ts'
import { decimateStitched, readStitched } from './_stitched.ts'

const { min, max } = CHART_POINTS
const between = { error: `max_points must be an integer between ${min} and ${max}` }
const equityQuery = z.object({
  symbol: z.string().optional().describe('One of the walk-forward’s symbols (default: its first)'),
  max_points: z.coerce
    .number(between)
    .int(between)
    .min(min, between)
    .max(max, between)
    .default(CHART_POINTS.default)
    .describe(`Points to keep, min/max per bucket (default ${CHART_POINTS.default}, like a backtest’s chart)`),
})

/**
 * Walk-forward analysis (docs/architecture.md#walk-forward-and-sweeps): POST starts one; the record
 * shows its folds and, once done, the stitched out-of-sample curve and the stability of every
 * figure; `/equity` serves that curve decimated for a chart; the files are under
 * GET /api/v1/results/walkforward/<id>/.
 */
export default defineGatewayRoutes((router, ctx) => {
  const engine = parentRoutes(router, ctx, {
    path: '/api/v1/walkforward',
    noun: 'walk-forward',
    engine: () => createWalkForwards(ctx),
    start: {
      summary: 'Start a walk-forward: train → out-of-sample test folds, each as child operations',
      description:
        'Plans rolling or anchored folds over the range, trains and backtests each fold as children (parent_operation_id) spread over the hosts, then stitches the test windows into one equity curve and summarises every figure across folds. A fold whose training or test window holds no bars is skipped, and said so (summary.skipped); when every fold would be, 422 WALKFORWARD_NO_BARS before anything starts. 4xx naming the field for bad input.',
      body: walkForwardBody,
      examples: WALKFORWARD_EXAMPLES,
    },
  })

  router.get(
    '/api/v1/walkforward/:id/equity',
    {
      doc: {
        summary: 'The stitched out-of-sample curve of one symbol, decimated server-side (min/max per bucket) to max_points',
        tag: 'research',
        query: equityQuery,
      },
    },
    defineEventHandler(async (event) => {
      const e = await engine
      const r = await e.get(getRouterParam(event, 'id', { decode: true })!)
      const q = readQuery(event, equityQuery)
      if (!r.summary)
        throw new KtrdrError({
          code: r.status === 'cancelled' ? 'OPERATION_CANCELLED' : r.status === 'failed' ? 'OPERATION_FAILED' : 'OPERATION_NOT_FINISHED',
          message: `Walk-forward ${r.operation_id} is ${r.status}: its stitched curve exists once it has completed`,
          details: { operation_id: r.operation_id, status: r.status },
        })
      const symbol = q.symbol ?? r.request.symbols[0]
      if (!r.request.symbols.includes(symbol))
        throw new KtrdrError({
          code: 'BAD_REQUEST',
          message: `symbol: ${JSON.stringify(symbol)} is not one of the walk-forward's symbols (${r.request.symbols.join(', ')})`,
          details: { field: 'symbol' },
        })
      const series = decimateStitched(await readStitched(ctx, r.summary.files.equity, symbol), q.max_points)
      return { success: true, operation_id: r.operation_id, symbol, symbols: r.request.symbols, ...series }
    }),
  )
})
