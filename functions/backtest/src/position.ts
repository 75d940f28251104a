import { FLAT, LONG, SHORT, type ResolvedEngineConfig } from './_types.ts'
import type { TradeBuffer } from './trades.ts'

/**
 * Mutable state of one backtest. Numbers only, so V8 keeps it monomorphic; the kernel copies
 * the hot fields into locals and calls the position manager only on trades.
 */
export class EngineState {
  cash = 0
  position = FLAT
  quantity = 0
  entryPrice = 0
  entryIndex = -1
  entryTime = 0
  entryCommission = 0
  entrySlippage = 0
  entryConfidence = 0
  mfe = 0
  mae = 0
  /** Time (ms) of the last executed trade; NaN before the first. */
  lastTradeTime = Number.NaN
  /** Signal decided at the previous bar's close, executed at this bar's open (HOLD = none). */
  pending = 1
  pendingConfidence = 0
  /** Calls (BUY/SELL) dropped by each filter of docs/domain.md#decision-logic step 2, counted where they are dropped. */
  filteredConfidence = 0
  filteredSeparation = 0
  /** Already in that position (BUY while long, SELL while short). */
  filteredPosition = 0
  /** SELL from flat when shorts are off (long-only). */
  filteredLongOnly = 0
  /** Calls that passed every filter and went to the position manager. */
  passed = 0
  /** Σ over bars in a position of position value / portfolio value (exposure). */
  exposureSum = 0

  reset(initialCapital: number): void {
    this.filteredConfidence = 0
    this.filteredSeparation = 0
    this.filteredPosition = 0
    this.filteredLongOnly = 0
    this.passed = 0
    this.exposureSum = 0
    this.cash = initialCapital
    this.flatten()
    this.entryTime = 0
    this.entryConfidence = 0
    this.mfe = 0
    this.mae = 0
    this.lastTradeTime = Number.NaN
    this.pending = 1
    this.pendingConfidence = 0
  }

  /** No open position. Entry time, confidence and excursions keep their values until the next entry sets them. */
  flatten(): void {
    this.position = FLAT
    this.quantity = 0
    this.entryPrice = 0
    this.entryIndex = -1
    this.entryCommission = 0
    this.entrySlippage = 0
  }
}

/**
 * Opens a position at `price` (the bar's open) per docs/domain.md#position-manager: size = floor(cash·fraction/(1+c)/price),
 * reduced if the slipped cost exceeds cash. Returns false when no whole unit is affordable.
 */
export function openPosition(
  s: EngineState,
  cfg: ResolvedEngineConfig,
  side: number,
  price: number,
  index: number,
  time: number,
  confidence: number,
): boolean {
  if (!(price > 0)) return false
  const c = cfg.commission
  const exec = side === LONG ? price * (1 + cfg.slippage) : price * (1 - cfg.slippage)
  let q = Math.floor((s.cash * cfg.positionSizeFraction) / (1 + c) / price)
  if (exec * q * (1 + c) > s.cash) q = Math.floor(s.cash / (1 + c) / exec)
  if (!(q >= 1)) return false
  const value = exec * q
  const commission = value * c
  // Shorts are collateralised like longs: the notional plus commission leaves cash.
  s.cash -= value + commission
  s.position = side
  s.quantity = q
  s.entryPrice = exec
  s.entryIndex = index
  s.entryTime = time
  s.entryCommission = commission
  s.entrySlippage = Math.abs(exec - price) * q
  s.entryConfidence = confidence
  s.mfe = 0
  s.mae = 0
  return true
}

/** Closes the open position at `price` (slipped adversely) and appends the round trip. */
export function closePosition(
  s: EngineState,
  cfg: ResolvedEngineConfig,
  trades: TradeBuffer,
  price: number,
  index: number,
  time: number,
  forced: boolean,
): boolean {
  if (s.position === FLAT || !(price > 0)) return false
  const q = s.quantity
  const long = s.position === LONG
  const exec = long ? price * (1 - cfg.slippage) : price * (1 + cfg.slippage)
  const gross = long ? (exec - s.entryPrice) * q : (s.entryPrice - exec) * q
  const exitCommission = exec * q * cfg.commission
  // Long: proceeds of the sale. Short: collateral back plus the gross P&L.
  s.cash += long ? exec * q - exitCommission : s.entryPrice * q + gross - exitCommission
  const k = trades.next()
  trades.side[k] = s.position
  trades.entryIndex[k] = s.entryIndex
  trades.exitIndex[k] = index
  trades.entryTime[k] = s.entryTime
  trades.exitTime[k] = time
  trades.quantity[k] = q
  trades.entryPrice[k] = s.entryPrice
  trades.exitPrice[k] = exec
  trades.grossPnl[k] = gross
  trades.entryCommission[k] = s.entryCommission
  trades.exitCommission[k] = exitCommission
  trades.slippageCost[k] = s.entrySlippage + Math.abs(price - exec) * q
  // [QUIRK fixed] both commissions: the sum of net_pnl equals the change in cash.
  trades.netPnl[k] = gross - s.entryCommission - exitCommission
  trades.mfe[k] = s.mfe
  trades.mae[k] = s.mae
  trades.confidence[k] = s.entryConfidence
  trades.forced[k] = forced ? 1 : 0
  s.flatten()
  return true
}

/**
 * A filtered signal reaching the position manager: BUY opens a long from FLAT or covers a
 * short; SELL closes a long or, when shorts are allowed, opens one from FLAT. No reversal in
 * one step. Returns true when a trade happened.
 */
export function executeSignal(
  s: EngineState,
  cfg: ResolvedEngineConfig,
  trades: TradeBuffer,
  signal: number,
  price: number,
  index: number,
  time: number,
  confidence: number,
  shortsAllowed: boolean,
): boolean {
  if (signal === 0) {
    if (s.position === FLAT) return openPosition(s, cfg, LONG, price, index, time, confidence)
    if (s.position === SHORT) return closePosition(s, cfg, trades, price, index, time, false)
    return false
  }
  if (signal === 2) {
    if (s.position === LONG) return closePosition(s, cfg, trades, price, index, time, false)
    if (s.position === FLAT && shortsAllowed) return openPosition(s, cfg, SHORT, price, index, time, confidence)
  }
  return false
}

/**
 * Portfolio value at `close`. Long: cash + close·q. Short: cash + collateral + unrealised
 * P&L. [QUIRK fixed] the entry commission is not added back for shorts, so long and short
 * treat it the same way (already paid, gone).
 */
export function portfolioValue(s: EngineState, close: number): number {
  if (s.position === LONG) return s.cash + close * s.quantity
  if (s.position === SHORT) return s.cash + s.entryPrice * s.quantity + (s.entryPrice - close) * s.quantity
  return s.cash
}
