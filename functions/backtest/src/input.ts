import { z } from 'zod'

/** One set of overrides; every key optional (strategy decisions and the request fill the rest). */
export const parameterSetSchema = z
  .object({
    name: z.string().max(200).optional().describe('Label shown in the result'),
    initial_capital: z.number().positive().optional(),
    commission: z.number().min(0).lt(1).optional(),
    slippage: z.number().min(0).lt(1).optional(),
    confidence_threshold: z.number().min(0).max(1).optional(),
    position_awareness: z.boolean().optional(),
    allow_short_from_flat: z.boolean().optional(),
    min_signal_separation: z.number().min(0).optional().describe('Hours since the last executed trade'),
    round_trip_cost: z.number().positive().optional(),
    min_edge_multiplier: z.number().positive().optional(),
    position_size_fraction: z.number().gt(0).max(1).optional(),
  })
  .strict()

const dateInput = z.string().min(4).max(40).describe('ISO date or date-time (UTC); a date-only end_date covers that whole day')

/**
 * The guide's POST /backtests/start body, plus symbols[] and parameter_sets[] for sweeps. Strict:
 * `start`/`end` for `start_date`/`end_date` would otherwise backtest all the data without a word.
 */
export const backtestInputSchema = z
  .strictObject({
    model_path: z
      .string()
      .min(1)
      .max(1000)
      .optional()
      .describe(
        'A version (`strategy/1h_v3`, or an absolute path under MODELS_DIR), the newest model trained on a symbol set holding the symbols (`strategy/1h_latest`, `strategy@latest`), or a tagged one (`strategy@production`, `strategy/1h@production`); default: the latest model of strategy_name',
      ),
    strategy_name: z
      .string()
      .min(1)
      .max(200)
      .optional()
      .describe(
        "Names the model when model_path is absent; otherwise only checked against the model's strategy (the model metadata is authoritative)",
      ),
    symbol: z.string().min(1).max(40).optional().describe('Default: the first symbol the model was trained on'),
    symbols: z.array(z.string().min(1).max(40)).min(1).max(100).optional(),
    timeframe: z.string().min(2).max(4).optional().describe("Base timeframe; defaults to the model's"),
    start_date: dateInput.optional(),
    end_date: dateInput.optional(),
    initial_capital: z.number().positive().default(100_000),
    commission: z.number().min(0).lt(1).default(0.001),
    slippage: z.number().min(0).lt(1).default(0.0005),
    /** Legacy field of the guide; the model metadata already names every timeframe. */
    timeframes: z.array(z.string()).optional(),
    parameter_sets: z
      .array(parameterSetSchema)
      .max(1000)
      .optional()
      .describe('One result per (symbol × set); at most 1000 sets, the results travel in the operation record'),
    require_out_of_sample: z
      .boolean()
      .default(false)
      .describe(
        'Refuse (422 BACKTEST_IN_SAMPLE) a window that overlaps the bars the model was trained and selected on; otherwise the overlap is a warning in the result. A research loop sets it.',
      ),
    baseline_draws: z.number().int().min(1000).max(100_000).default(2000).describe('Random-entry baseline draws'),
    baseline_seed: z
      .number()
      .int()
      .min(0)
      .max(2 ** 31 - 1)
      .default(20_240_601)
      .describe('Seed of the random-entry baseline'),
    save_details: z
      .enum(['auto', 'all', 'trades', 'none'])
      .default('auto')
      .describe('What goes to the results store per run: auto = trades always, equity curve when at most 16 runs'),
  })
  // Without model_path the model is the latest of strategy_name (the function resolves it).
  .meta({ anyOf: [{ required: ['model_path'] }, { required: ['strategy_name'] }] })

export type BacktestInput = z.output<typeof backtestInputSchema>
export type ParameterSet = z.output<typeof parameterSetSchema>
