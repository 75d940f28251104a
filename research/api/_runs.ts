import type { Operation } from '../../runtime/protocol/index.ts'
import { KtrdrError } from '../../trading/index.ts'
import { TRADING_FUNCTIONS } from '../../trading/index.ts'

type Json = Record<string, any>
export const obj = (v: unknown): Json => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Json) : {})

export type OperationKind = 'backtest' | 'training'

/** What an operation is to the research views: a backtest, a training, or neither (null). */
export function kindOf(op: Operation): OperationKind | null {
  if (op.operation_type === 'backtesting' || op.function.name === TRADING_FUNCTIONS.backtest) return 'backtest'
  if (op.operation_type === 'training' || op.function.name === TRADING_FUNCTIONS.train) return 'training'
  return null
}

/** The operation's result, or a 400 naming why a research view cannot be drawn from it. */
export function completedResult(op: Operation, want: OperationKind): Json {
  const kind = kindOf(op)
  if (kind !== want) {
    throw new KtrdrError({
      code: want === 'backtest' ? 'NOT_A_BACKTEST' : 'NOT_A_TRAINING',
      message: `Operation ${op.operation_id} is a ${op.operation_type} operation (function ${op.function.name}), not a ${want}`,
      details: { operation_id: op.operation_id, operation_type: op.operation_type },
    })
  }
  if (op.status !== 'completed') {
    throw new KtrdrError({
      code: op.status === 'cancelled' ? 'OPERATION_CANCELLED' : op.status === 'failed' ? 'OPERATION_FAILED' : 'OPERATION_NOT_FINISHED',
      message: `Operation ${op.operation_id} is ${op.status}: its ${want} views exist once it has completed`,
      details: { operation_id: op.operation_id, status: op.status },
    })
  }
  return obj(op.result)
}

export interface BacktestRunRef {
  symbol: string
  run: number
  name: string | null
  trades_key: string | null
  equity_curve_key: string | null
}

/** Every (symbol × parameter set) run of a backtest result with where its files are. */
export function backtestRuns(result: Json): BacktestRunRef[] {
  const runs: Json[] = Array.isArray(result.runs) && result.runs.length ? result.runs : [result]
  return runs.map((r) => {
    const files = obj(r.results)
    return {
      symbol: String(r.symbol ?? ''),
      run: Number.isInteger(r.parameter_set) ? r.parameter_set : 0,
      name: typeof r.parameter_set_name === 'string' ? r.parameter_set_name : null,
      trades_key: typeof files.trades_key === 'string' ? files.trades_key : null,
      equity_curve_key: typeof files.equity_curve_key === 'string' ? files.equity_curve_key : null,
    }
  })
}

/** Integer query parameter in [min, max], else 400 naming it. */
export function intQuery(value: unknown, name: string, fallback: number, min: number, max: number): number {
  if (value === undefined || value === '') return fallback
  const n = Number(value)
  if (typeof value !== 'string' || !Number.isInteger(n) || n < min || n > max) {
    throw new KtrdrError({
      code: 'BAD_REQUEST',
      message: `${name} must be an integer between ${min} and ${max} (got ${JSON.stringify(value).slice(0, 40)})`,
      details: { field: name },
    })
  }
  return n
}
