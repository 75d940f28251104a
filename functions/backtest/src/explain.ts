// Every run explains itself: what the model called, what each filter dropped, how long the
// strategy was in the market and with how much of its capital, and why a run has no trades.
import { BUY, FLAT, SELL, type EngineWindow, type RawSignals, type ResolvedEngineConfig } from './_types.ts'
import type { EngineState } from './position.ts'

export interface DecisionSummary {
  /** Bars whose close produced a decision (the window less its last bar, whose call cannot execute). */
  decision_bars: number
  /** The model's calls before any filter. Regression: the sign of the predicted return. */
  calls: { buy: number; sell: number; hold: number }
  filtered: {
    /** Classification: confidence under confidence_threshold. */
    confidence: number
    /** Regression: |predicted return| ≤ round_trip_cost × min_edge_multiplier. */
    cost: number
    /** Within min_signal_separation hours of the last trade. */
    separation: number
    /** Already in that position. */
    position: number
    /** SELL while flat with shorts off. */
    long_only: number
  }
  /** Calls that passed every filter and reached the position manager. */
  executed_calls: number
  trades: number
  /** Share of the window's bars with a position open, in percent. */
  time_in_market_pct: number
  /** Mean position value / portfolio value over ALL bars of the window, in percent. */
  exposure_pct: number
  /** Set when the run has no trade: which step stopped every call. */
  why_no_trades: string | null
}

export function summarizeDecisions(
  signals: RawSignals,
  cfg: ResolvedEngineConfig,
  w: EngineWindow,
  s: EngineState,
  position: Int8Array,
  trades: number,
): DecisionSummary {
  let buy = 0,
    sell = 0,
    hold = 0,
    cost = 0
  const regression = cfg.outputFormat === 'regression'
  const threshold = cfg.roundTripCost * cfg.minEdgeMultiplier
  for (let t = w.start; t < w.end; t++) {
    if (regression && signals.predicted) {
      const r = signals.predicted[t]
      if (r > 0) buy++
      else if (r < 0) sell++
      else hold++
      if ((r > 0 || r < 0) && Math.abs(r) <= threshold) cost++
    } else {
      const d = signals.signal[t]
      if (d === BUY) buy++
      else if (d === SELL) sell++
      else hold++
    }
  }
  let inMarket = 0
  for (let k = 0; k < position.length; k++) if (position[k] !== FLAT) inMarket++
  const points = position.length
  const filtered = {
    confidence: s.filteredConfidence,
    cost,
    separation: s.filteredSeparation,
    position: s.filteredPosition,
    long_only: s.filteredLongOnly,
  }
  let why: string | null = null
  if (trades === 0) {
    const calls = buy + sell
    if (calls === 0) why = `the model made no BUY or SELL call in the ${w.end - w.start} decision bars (all HOLD, or no complete input)`
    else {
      const parts = Object.entries(filtered)
        .filter(([, n]) => n > 0)
        .map(([k, n]) => `${n} by ${k.replace('_', '-')}`)
      why =
        s.passed === 0
          ? `all ${calls} BUY/SELL calls were filtered: ${parts.join(', ')}`
          : `${s.passed} calls passed the filters but none opened a position (${sell} SELL calls with shorts off, or no whole unit affordable)`
    }
  }
  return {
    decision_bars: Math.max(0, w.end - w.start),
    calls: { buy, sell, hold },
    filtered,
    executed_calls: s.passed,
    trades,
    time_in_market_pct: points ? (100 * inMarket) / points : 0,
    exposure_pct: points ? (100 * s.exposureSum) / points : 0,
    why_no_trades: why,
  }
}
