import { z } from 'zod'
import { badField, parseBody } from '../parents/_body.ts'
import { backtestCosts, checkDayRange, day, epochs, maxParallel, seed, strategyName, symbol, timeframe } from '../parents/_request.ts'
import { isRange } from './grid.ts'
import { BACKTEST_PARAMS, TRAINING_PARAMS } from './params.ts'

/** Values to try: a list, or a range for random search. */
const valueSpec = z.union(
  [
    z.array(z.unknown()).min(1).max(100),
    z
      .object({
        min: z.number(),
        max: z.number(),
        log: z.boolean().optional(),
        integer: z.boolean().optional(),
      })
      .strict(),
  ],
  { error: 'must be a list of values, or a range {min, max, log?, integer?} (random search only)' },
)
const space = (known: string[]) =>
  z
    .record(z.string(), valueSpec)
    .refine((v) => Object.keys(v).length > 0, { message: 'must name at least one parameter' })
    .describe(`Parameter → values (a list) or a range; known: ${known.join(', ')}`)

/** The body of POST /api/v1/sweeps (the OpenAPI document shows this schema). */
export const sweepBody = z
  .object({
    strategy: strategyName,
    symbol: symbol.optional().describe('Default: the strategy’s first training symbol'),
    timeframe: timeframe.optional().describe('Default: the strategy’s base timeframe'),
    training: z
      .object({
        start_date: day.optional(),
        end_date: day.optional().describe('Last day of training; required unless backtest.model_path is given'),
        epochs: epochs.optional(),
        seed: seed.optional(),
        parameters: space(Object.keys(TRAINING_PARAMS)).optional(),
      })
      .strict()
      .optional(),
    backtest: z
      .object({
        start_date: day.describe('First day of the out-of-sample window (after training.end_date)'),
        end_date: day.optional(),
        model_path: z.string().min(1).max(1000).optional().describe('Sweep the backtest parameters of an existing model: no training'),
        ...backtestCosts,
        parameters: space(Object.keys(BACKTEST_PARAMS)).optional(),
      })
      .strict(),
    search: z
      .object({
        method: z.enum(['grid', 'random']).default('grid'),
        samples: z.int().min(1).max(1000).optional().describe('Random search: how many combinations (default 10)'),
        seed: seed.default(1),
      })
      .strict()
      .default({ method: 'grid', seed: 1 }),
    rank_by: z
      .enum([
        'sharpe_ratio',
        'total_return_pct',
        'excess_return_pct',
        'sortino_ratio',
        'win_rate',
        'profit_factor',
        'max_drawdown_pct',
        'p_value',
      ])
      .default('sharpe_ratio')
      .describe('The figure the best run is marked by (lower is better for max_drawdown_pct and p_value)'),
    max_parallel: maxParallel.optional(),
  })
  .strict()

export type SweepBody = z.output<typeof sweepBody>

export const SWEEP_EXAMPLES = {
  training: {
    strategy: 'regime_momentum',
    training: {
      end_date: '2022-03-31',
      epochs: 5,
      parameters: {
        learning_rate: [0.001, 0.005],
        hidden_layers: [
          [16, 8],
          [64, 32],
        ],
      },
    },
    backtest: { start_date: '2022-04-01', end_date: '2023-03-31' },
  },
  position_manager: {
    strategy: 'regime_momentum',
    backtest: {
      start_date: '2022-04-01',
      model_path: 'regime_momentum/1h_latest',
      parameters: { confidence_threshold: [0.4, 0.5, 0.6], min_signal_separation: [0, 4, 12] },
    },
  },
  random: {
    strategy: 'regime_momentum',
    training: {
      end_date: '2022-03-31',
      parameters: { learning_rate: { min: 0.0005, max: 0.01, log: true }, zigzag_threshold: [0.01, 0.015, 0.02] },
    },
    backtest: { start_date: '2022-04-01' },
    search: { method: 'random', samples: 6, seed: 7 },
  },
}

/** Shape checks and the rules between fields; the strategy, data and values against the functions' schemas are the caller's. */
export function parseSweepBody(body: unknown): SweepBody {
  const b = parseBody(sweepBody, body)
  const training = b.training?.parameters ?? {}
  const backtest = b.backtest.parameters ?? {}
  for (const name of Object.keys(training))
    if (!TRAINING_PARAMS[name])
      badField(`training.parameters.${name}`, `is not a training parameter (known: ${Object.keys(TRAINING_PARAMS).join(', ')})`)
  for (const name of Object.keys(backtest))
    if (!BACKTEST_PARAMS[name])
      badField(`backtest.parameters.${name}`, `is not a backtest parameter (known: ${Object.keys(BACKTEST_PARAMS).join(', ')})`)
  if (!Object.keys(training).length && !Object.keys(backtest).length)
    badField('training.parameters', 'give training.parameters, backtest.parameters or both: a sweep varies something')
  if (b.backtest.model_path && b.training)
    badField('backtest.model_path', 'sweeps the backtest of an existing model: drop training, or drop model_path to train')
  if (!b.backtest.model_path && !b.training?.end_date)
    badField('training.end_date', 'is needed to train (the backtest starts after it), unless backtest.model_path names a model')
  const t = b.training
  checkDayRange(t, 'training.')
  checkDayRange(b.backtest, 'backtest.')
  if (t?.end_date && b.backtest.start_date <= t.end_date)
    badField(
      'backtest.start_date',
      `must be after training.end_date (${t.end_date}): the backtest is held out of training`,
      'BACKTEST_IN_SAMPLE',
    )
  for (const [group, params] of [
    ['training', training],
    ['backtest', backtest],
  ] as const)
    for (const [name, spec] of Object.entries(params)) {
      const field = `${group}.parameters.${name}`
      if (isRange(spec)) {
        if (b.search.method === 'grid') badField(field, 'a range needs search.method "random"; give a list of values for a grid')
        if (!(spec.min < spec.max)) badField(field, 'min must be below max')
        if (spec.log && spec.min <= 0) badField(field, 'a log range needs min > 0')
      }
    }
  if (b.search.method === 'grid' && b.search.samples !== undefined) badField('search.samples', 'applies to random search only')
  return b
}
