import { BUY, FLAT, HOLD, LONG, SELL, SHORT, type EngineBars, type RawSignals, type ResolvedEngineConfig } from './_types.ts'
import { executeSignal, type EngineState } from './position.ts'
import type { TradeBuffer } from './trades.ts'

/** Per-run outputs the kernel writes into, indexed by (bar − window start). */
export interface EquityBuffers {
  equity: Float64Array
  position: Int8Array
}

/**
 * The bar loop (docs/domain.md#bar-loop) over bars [from, to) of a window starting at `start` and ending at
 * `end` (inclusive). Resumable: everything carried across chunks lives in `s`.
 *
 * Per bar t: (a) a pending signal executes at t's open; (c) the model's raw signal at t goes
 * through the docs/domain.md#decision-logic filters with the position after (a); a surviving signal becomes pending for
 * t+1 (dropped at the last bar); (d) mark to market at t's close → one equity point.
 *
 * No allocation here: typed arrays in, typed arrays out; the position manager is called
 * only when a trade may happen.
 */
export function runKernel(
  bars: EngineBars,
  sig: RawSignals,
  cfg: ResolvedEngineConfig,
  s: EngineState,
  trades: TradeBuffer,
  out: EquityBuffers,
  start: number,
  end: number,
  from: number,
  to: number,
): void {
  const time = bars.time
  const open = bars.open
  const close = bars.close
  const signal = sig.signal
  const conf = sig.confidence
  const equity = out.equity
  const posOut = out.position
  const classification = cfg.outputFormat === 'classification'
  const threshold = classification ? cfg.confidenceThreshold : -1
  const separationMs = cfg.minSignalSeparationHours * 3_600_000
  const aware = cfg.positionAwareness
  // Rule 2e only restricts classification; the position manager needs the same answer.
  const shortsAllowed = !classification || cfg.allowShortFromFlat
  const blockShortFromFlat = classification && !cfg.allowShortFromFlat

  let position = s.position
  let cash = s.cash
  let qty = s.quantity
  let entry = s.entryPrice
  let mfe = s.mfe
  let mae = s.mae
  let lastTrade = s.lastTradeTime
  let pending = s.pending

  for (let t = from; t < to; t++) {
    // (a) execute yesterday's decision at today's open.
    if (pending !== HOLD) {
      s.mfe = mfe
      s.mae = mae
      if (executeSignal(s, cfg, trades, pending, open[t], t, time[t], s.pendingConfidence, shortsAllowed)) {
        lastTrade = time[t]
        position = s.position
        cash = s.cash
        qty = s.quantity
        entry = s.entryPrice
        mfe = 0
        mae = 0
      }
      pending = HOLD
    }

    // (c) decision at the close with the position after (a).
    let d = signal[t]
    if (d !== HOLD && t < end) {
      if (conf[t] < threshold) {
        d = HOLD
        s.filteredConfidence++
      } else if (lastTrade === lastTrade && time[t] - lastTrade < separationMs) {
        d = HOLD
        s.filteredSeparation++
      } else if (aware) {
        if (position === LONG ? d === BUY : position === SHORT ? d === SELL : false) {
          d = HOLD
          s.filteredPosition++
        } else if (position === FLAT && d === SELL && blockShortFromFlat) {
          d = HOLD
          s.filteredLongOnly++
        }
      }
      if (d !== HOLD) {
        pending = d
        s.pendingConfidence = conf[t]
        s.passed++
      }
    }

    // (d) mark to market at the close.
    const c = close[t]
    let value = cash
    if (position !== FLAT) {
      const unreal = position === LONG ? (c - entry) * qty : (entry - c) * qty
      if (unreal > mfe) mfe = unreal
      if (unreal < mae) mae = unreal
      value = position === LONG ? cash + c * qty : cash + entry * qty + unreal
      if (value > 0) s.exposureSum += (c * qty) / value
    }
    const k = t - start
    equity[k] = value
    posOut[k] = position
  }

  s.position = position
  s.cash = cash
  s.quantity = qty
  s.entryPrice = entry
  s.mfe = mfe
  s.mae = mae
  s.lastTradeTime = lastTrade
  s.pending = pending
}
