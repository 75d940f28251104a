import { z } from 'zod'

/** The body of POST /api/v1/data/acquire/download, as-is. */
export const ibFetchInput = z.object({
  symbol: z
    .string()
    .trim()
    .min(1)
    .max(20)
    .regex(/^[A-Za-z0-9_\-.]+$/, 'symbol may use A-Z a-z 0-9 _ - . (e.g. EURUSD, EUR.USD, AAPL)'),
  timeframe: z.enum(['1m', '5m', '15m', '30m', '1h', '4h', '1d', '1w']),
  mode: z.enum(['tail', 'backfill', 'full']).default('tail'),
  /** ISO date or timestamp; naive times are UTC. null (as some clients send) means unset. */
  start_date: z.string().min(1).nullish(),
  end_date: z.string().min(1).nullish(),
  instrument_type: z.enum(['CASH', 'STK', 'FUT']).nullish(),
})

export type IbFetchInput = z.infer<typeof ibFetchInput>

export interface IbFetchResult {
  symbol: string
  timeframe: string
  mode: 'tail' | 'backfill' | 'full'
  rows_downloaded: number
  segments: number
  segments_failed: number
  gaps_filled: number
  range: { start: string; end: string }
}
