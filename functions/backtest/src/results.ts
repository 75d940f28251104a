import type { Storage } from 'unstorage'
import { backtestRunKey } from '../../../trading/index.ts'
import type { EngineBars } from './_types.ts'
import type { EngineResult } from './engine.ts'
import { toTradeRecords } from './trades.ts'

/** Where one run's details live in the `results` mount (the layout the research API reads). */
export const runKey = backtestRunKey

function iso(ms: number): string {
  return new Date(ms).toISOString().replace('.000Z', 'Z')
}

/** Equity curve as CSV: one row per bar of the window (timestamp = bar open, value at its close). */
export function equityCsv(bars: EngineBars, r: EngineResult): string {
  const parts: string[] = ['timestamp,price,portfolio_value,position']
  const { start } = r.window
  for (let k = 0; k < r.equity.length; k++) {
    const t = start + k
    parts.push(
      `${iso(bars.time[t])},${bars.close[t]},${r.equity[k]},${r.position[k] === 1 ? 'LONG' : r.position[k] === -1 ? 'SHORT' : 'FLAT'}`,
    )
  }
  return parts.join('\n') + '\n'
}

export interface StoredDetails {
  trades_key: string | null
  equity_curve_key: string | null
}

/** Writes trades.json and equity.csv for one run (must be called before the workspace is reused). */
export async function writeRunDetails(
  results: Storage,
  key: string,
  symbol: string,
  bars: EngineBars,
  r: EngineResult,
  what: { trades: boolean; equity: boolean },
): Promise<StoredDetails> {
  const out: StoredDetails = { trades_key: null, equity_curve_key: null }
  if (what.trades) {
    out.trades_key = `${key}/trades.json`
    await results.setItem(out.trades_key, JSON.stringify(toTradeRecords(r.trades, symbol)))
  }
  if (what.equity) {
    out.equity_curve_key = `${key}/equity.csv`
    await results.setItem(out.equity_curve_key, equityCsv(bars, r))
  }
  return out
}
