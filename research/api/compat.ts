import { defineEventHandler, setResponseStatus } from 'h3'
import type { Operation } from '../../runtime/protocol/index.ts'
import { TRADING_FUNCTIONS } from '../../trading/index.ts'
import {
  checkInvokeRequest,
  defineGatewayRoutes,
  type GatewayRouteContext,
  type InvokeRequest,
  readJsonBody,
} from '../../runtime/gateway/index.ts'

/** Keys that steer the gateway rather than the function; everything else is the function's input. */
const ENVELOPE = ['idempotency_key', 'wait_seconds', 'prefer_gpu', 'require_gpu', 'priority', 'queue', 'max_attempts', 'version'] as const

function split(body: Record<string, unknown>, maxWait: number): InvokeRequest {
  const envelope: Record<string, unknown> = {}
  const input: Record<string, unknown> = {}
  for (const [key, value] of Object.entries(body)) {
    if ((ENVELOPE as readonly string[]).includes(key)) envelope[key] = value
    else input[key] = value
  }
  return checkInvokeRequest({ ...envelope, input }, maxWait)
}

/** Resolves once the operation has a host (or is finished), or after `ms`. */
function waitForPlacement(ctx: GatewayRouteContext, id: string, ms: number): Promise<Operation> {
  return ctx.operations.waitFor(id, ms, (op) => !!op.worker_id || op.status !== 'pending')
}

/**
 * The deployment guide's endpoints, mapped onto function invocations so its curl checks work:
 * backtests/start → backtest, trainings/start → train, data/acquire/download → ib-fetch.
 */
export default defineGatewayRoutes((router, ctx) => {
  const mount = (
    path: string,
    fn: string,
    opts: { mapInput?: (input: Record<string, unknown>) => void; awaitPlacementMs?: number; message: string },
  ) => {
    router.post(
      path,
      defineEventHandler(async (event) => {
        const request = split(await readJsonBody(event, ctx.options.maxBodyBytes), ctx.options.queue.maxWaitSeconds)
        opts.mapInput?.(request.input as Record<string, unknown>)
        const result = await ctx.invoke(fn, request)
        let op = result.operation
        if (opts.awaitPlacementMs && !op.worker_id && op.status === 'pending')
          op = await waitForPlacement(ctx, op.operation_id, opts.awaitPlacementMs)
        setResponseStatus(event, result.statusCode)
        // task_id: the original trainings response named the operation id so.
        return {
          success: true,
          message: opts.message,
          mode: 'distributed',
          task_id: op.operation_id,
          ...op,
          ...(result.warnings.length ? { warnings: result.warnings } : {}),
        }
      }),
    )
  }

  mount('/api/v1/backtests/start', TRADING_FUNCTIONS.backtest, { message: 'Backtest started' })
  mount('/api/v1/trainings/start', TRADING_FUNCTIONS.train, {
    message: 'Training started',
    // The guide's client sends a single "timeframe"; the function takes a list.
    mapInput: (input) => {
      if (typeof input.timeframe === 'string' && input.timeframes === undefined) input.timeframes = [input.timeframe]
      delete input.timeframe
    },
    // The guide checks the response's worker_id (GPU host or not): give placement a moment.
    awaitPlacementMs: 2000,
  })
  mount('/api/v1/data/acquire/download', TRADING_FUNCTIONS.fetchData, { message: 'Data download started' })
})
