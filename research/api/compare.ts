import { defineEventHandler, getQuery } from 'h3'
import { KtrdrError } from '../../runtime/protocol/index.ts'
import { defineGatewayRoutes } from '../../runtime/gateway/index.ts'
import { COMPARE_MAX as MAX, COMPARE_MIN as MIN, compareList, compareRows, trainingHistory, type CompareRow } from './_compare.ts'
import { completedResult, kindOf, obj, type OperationKind } from './_runs.ts'

export interface Comparison {
  success: true
  kind: OperationKind
  operations: Array<{
    operation_id: string
    /** A short name for a column: strategy, symbol or model. */
    label: string
    created_at: string | null
    /** Trainings: the per-epoch curves, to overlay. */
    history?: Record<string, number[]> | null
  }>
  rows: CompareRow[]
}

function invalid(message: string, details?: Record<string, unknown>): never {
  throw new KtrdrError({ code: 'BAD_REQUEST', message, details: { field: 'ids', ...details } })
}

/**
 * `GET /api/v1/compare?ids=op_a,op_b`: 2–6 completed backtests (or 2–6 trainings) side by side, each
 * figure beside the baselines it must beat and the best column marked. The dashboard's compare page,
 * `ktrdr compare` and its --html all read this one table.
 */
export default defineGatewayRoutes((router, ctx) => {
  router.get(
    '/api/v1/compare',
    defineEventHandler(async (event): Promise<Comparison> => {
      const ids = compareList(getQuery(event).ids)
      if (ids.length < MIN || ids.length > MAX)
        invalid(`ids must name ${MIN} to ${MAX} different operations, comma-separated (got ${ids.length})`, { count: ids.length })
      const ops = await Promise.all(ids.map(async (id) => (await ctx.operations.require(id)).op))
      const kinds = ops.map(kindOf)
      const kind = kinds[0]
      if (!kind || kinds.some((k) => k !== kind)) {
        invalid(
          `Compare backtests with backtests or trainings with trainings: ${ops.map((o, i) => `${o.operation_id} is ${kinds[i] ?? o.operation_type}`).join(', ')}`,
          { kinds: Object.fromEntries(ops.map((o, i) => [o.operation_id, kinds[i] ?? o.operation_type])) },
        )
      }
      const results = ops.map((op) => completedResult(op, kind))
      return {
        success: true,
        kind,
        operations: ops.map((op, i) => {
          const r = results[i]
          const label =
            kind === 'backtest'
              ? [r.strategy_name, r.symbol, obj(r.config).name].filter(Boolean).join(' · ')
              : [obj(r.session_info).strategy_name, r.model_key].filter(Boolean).join(' · ')
          return {
            operation_id: op.operation_id,
            label: label || op.operation_id,
            created_at: op.created_at ?? null,
            ...(kind === 'training' ? { history: trainingHistory(r) } : {}),
          }
        }),
        rows: compareRows(kind, results),
      }
    }),
  )
})
