import { z } from 'zod'
import { badField, parseBody } from '../parents/_body.ts'
import { backtestCosts, checkDayRange, day, epochs, maxParallel, seed, strategyName, symbol, timeframe } from '../parents/_request.ts'
import { DURATION_RE } from './folds.ts'

const duration = z.string().regex(DURATION_RE, 'must be a count and a unit: d (days), w (weeks), m (months) or y (years), e.g. 90d, 6m, 1y')

/** The body of POST /api/v1/walkforward (the OpenAPI document shows this schema). */
export const walkForwardBody = z
  .object({
    strategy: strategyName.describe('A strategy in the strategies mount; every fold trains it as it is now'),
    symbol: symbol.optional().describe('One symbol (or symbols); default: the strategy’s training symbols'),
    symbols: z.array(symbol).min(1).max(20).optional(),
    timeframe: timeframe.optional().describe('Default: the strategy’s base timeframe'),
    start_date: day.optional().describe('First day of the first training window (default: the first day with data)'),
    end_date: day.optional().describe('Last day a test window may reach (default: the last day with data)'),
    train_window: duration.describe('Length of each training window (rolling), or of the first one (anchored)'),
    test_window: duration.describe('Length of each out-of-sample test window, which starts the day after its training window'),
    step: duration
      .optional()
      .describe('How far each fold moves on (default: test_window; at least test_window, so test windows never overlap)'),
    mode: z
      .enum(['rolling', 'anchored'])
      .default('rolling')
      .describe('rolling: the training window moves; anchored: it grows from start_date'),
    epochs: epochs.optional().describe('Overrides training.epochs of the strategy'),
    seed: seed.optional().describe('Training seed (default: the train function’s)'),
    max_parallel: maxParallel.optional().describe('Children running at once (default: the slots of the registered hosts)'),
    ...backtestCosts,
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
  checkDayRange(b)
  return b
}
