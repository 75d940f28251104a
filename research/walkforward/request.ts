import { z } from 'zod'
import { TIMEFRAMES } from '../../trading/index.ts'
import { badField, parseBody } from '../parents/_body.ts'
import { DURATION_RE } from './folds.ts'

const NAME_RE = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,99}$/
const SYMBOL_RE = /^[A-Za-z0-9_.-]{1,20}$/
const DATE_RE = /^\d{4}-\d{2}-\d{2}$/

const date = z
  .string()
  .regex(DATE_RE, 'must be a date YYYY-MM-DD')
  .refine((v) => !Number.isNaN(Date.parse(`${v}T00:00:00Z`)) && new Date(`${v}T00:00:00Z`).toISOString().startsWith(v), {
    message: 'is not a calendar date',
  })
const duration = z.string().regex(DURATION_RE, 'must be a count and a unit: d (days), w (weeks), m (months) or y (years), e.g. 90d, 6m, 1y')
const symbol = z.string().regex(SYMBOL_RE, 'must be a symbol: 1-20 letters, digits, "_", "." or "-"')

/** The body of POST /api/v1/walkforward (the OpenAPI document shows this schema). */
export const walkForwardBody = z
  .object({
    strategy: z
      .string()
      .regex(NAME_RE, 'must be a strategy name (letters, digits, "_", ".", "-"; at most 100)')
      .describe('A strategy in the strategies mount; every fold trains it as it is now'),
    symbol: symbol.optional().describe('One symbol (or symbols); default: the strategy’s training symbols'),
    symbols: z.array(symbol).min(1).max(20).optional(),
    timeframe: z.enum(TIMEFRAMES).optional().describe('Default: the strategy’s base timeframe'),
    start_date: date.optional().describe('First day of the first training window (default: the first day with data)'),
    end_date: date.optional().describe('Last day a test window may reach (default: the last day with data)'),
    train_window: duration.describe('Length of each training window (rolling), or of the first one (anchored)'),
    test_window: duration.describe('Length of each out-of-sample test window, which starts the day after its training window'),
    step: duration
      .optional()
      .describe('How far each fold moves on (default: test_window; at least test_window, so test windows never overlap)'),
    mode: z
      .enum(['rolling', 'anchored'])
      .default('rolling')
      .describe('rolling: the training window moves; anchored: it grows from start_date'),
    epochs: z.int().min(1).max(10_000).optional().describe('Overrides training.epochs of the strategy'),
    seed: z
      .int()
      .min(0)
      .max(2 ** 31 - 1)
      .optional()
      .describe('Training seed (default: the train function’s)'),
    max_parallel: z.int().min(1).max(256).optional().describe('Children running at once (default: the slots of the registered hosts)'),
    initial_capital: z.number().positive().optional(),
    commission: z.number().min(0).lt(1).optional(),
    slippage: z.number().min(0).lt(1).optional(),
  })
  .strict()

export type WalkForwardBody = z.output<typeof walkForwardBody>

export const WALKFORWARD_EXAMPLES = {
  rolling: { strategy: 'regime_momentum', symbol: 'EURUSD', train_window: '6m', test_window: '1m', epochs: 5 },
  anchored: {
    strategy: 'regime_momentum',
    start_date: '2020-01-01',
    end_date: '2022-12-31',
    train_window: '1y',
    test_window: '3m',
    mode: 'anchored',
  },
}

/** Shape checks and the rules between fields; what needs storage (the strategy, the data) is the caller's. */
export function parseWalkForwardBody(body: unknown): WalkForwardBody {
  const b = parseBody(walkForwardBody, body)
  if (b.symbol && b.symbols) badField('symbol', 'give symbol or symbols, not both')
  if (b.start_date && b.end_date && b.start_date > b.end_date) badField('end_date', `is before start_date (${b.start_date})`)
  return b
}
