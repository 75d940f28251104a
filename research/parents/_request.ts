import { z } from 'zod'
import { STRATEGY_NAME_RE, TIMEFRAMES, parseDateInput } from '../../trading/index.ts'
import { badField } from './_body.ts'

// The fields every parent operation (sweep, walk-forward) takes with the same meaning: one schema
// each, so a strategy name, a day or a seed is refused with the same message on every route.

const SYMBOL_RE = /^[A-Za-z0-9_.-]{1,20}$/
const DAY_RE = /^\d{4}-\d{2}-\d{2}$/

/** A strategy in the strategies mount, by its registered name. */
export const strategyName = z.string().regex(STRATEGY_NAME_RE, 'must be a strategy name (letters, digits, "_", ".", "-"; at most 100)')

export const symbol = z.string().regex(SYMBOL_RE, 'must be a symbol: 1-20 letters, digits, "_", "." or "-"')

export const timeframe = z.enum(TIMEFRAMES)

/** A calendar day (UTC): `2020-02-30` matches the pattern but is refused. */
export const day = z
  .string()
  .regex(DAY_RE, 'must be a date YYYY-MM-DD')
  // The data parser's own reading of a day (it refuses a day its month lacks), as the children get it.
  .refine((v) => !Number.isNaN(parseDateInput(v)), { message: 'is not a calendar date' })

export const epochs = z.int().min(1).max(10_000)

/** A seed the train function and the random search both take: a non-negative 32-bit int. */
export const seed = z
  .int()
  .min(0)
  .max(2 ** 31 - 1)

export const maxParallel = z.int().min(1).max(256)

/** The backtest's money: spread into an object schema. */
export const backtestCosts = {
  initial_capital: z.number().positive().optional(),
  commission: z.number().min(0).lt(1).optional(),
  slippage: z.number().min(0).lt(1).optional(),
}

/** 400 on `<at>end_date` when a window ends before it starts (a one-day window is fine). */
export function checkDayRange(range: { start_date?: string; end_date?: string } | undefined, at = ''): void {
  if (range?.start_date && range.end_date && range.start_date > range.end_date)
    badField(`${at}end_date`, `is before ${at}start_date (${range.start_date})`)
}
