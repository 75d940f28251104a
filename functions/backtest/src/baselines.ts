// What a backtest's numbers mean: beside the strategy, buy-and-hold over the same window and a
// random-entry distribution with the strategy's own trade count, direction mix and holding
// times (the audit found the demo's −4.2 % at the 20th percentile of random entries, with
// nothing printed to say so).
import { createRng } from '../../../trading/index.ts'
import { LONG, type EngineBars, type EngineWindow, type ResolvedEngineConfig } from './_types.ts'
import type { TradeBuffer } from './trades.ts'

export const RANDOM_ENTRY_DRAWS = 2000
export const RANDOM_ENTRY_SEED = 20_240_601

export interface RandomEntryBaseline {
  draws: number
  seed: number
  /** The strategy's trades, in the model both sides are measured with (see tradeReturnFactor). */
  strategy_return_pct: number
  mean_return_pct: number
  p05_return_pct: number
  p50_return_pct: number
  p95_return_pct: number
  /** Share of draws the strategy beats (ties count half), 0–100. */
  percentile: number
  /** One-sided: (1 + draws at or above the strategy) / (1 + draws). */
  p_value: number
}

export interface BuyAndHold {
  /** close[end] / open[first tradable bar] − 1, in percent. */
  market_return_pct: number
  /** One long held throughout, sized and charged like the strategy's entries, in percent of capital. */
  return_pct: number
}

/**
 * Growth factor of equity over one trade under the engine's sizing (docs/domain.md#position-manager without the integer
 * floor): notional = f·E/(1 + c) at the raw open, slippage and commission on both sides.
 */
export function tradeReturnFactor(cfg: ResolvedEngineConfig, side: number, entryPrice: number, exitPrice: number): number {
  const c = cfg.commission,
    s = cfg.slippage
  const long = side === LONG
  const inExec = long ? entryPrice * (1 + s) : entryPrice * (1 - s)
  const outExec = long ? exitPrice * (1 - s) : exitPrice * (1 + s)
  const q = cfg.positionSizeFraction / (1 + c) / entryPrice
  const pnl = (long ? outExec - inExec : inExec - outExec) - c * (inExec + outExec)
  return 1 + q * pnl
}

/** Exit price of a trade held `hold` bars from `entry`: the open of its exit bar, or the last close. */
const exitPrice = (bars: EngineBars, w: EngineWindow, entry: number, hold: number) =>
  entry + hold <= w.end ? bars.open[entry + hold] : bars.close[w.end]

/** Holding times in bars: exit bar − entry bar; a forced close at the last close counts as end + 1. */
export function tradeHolds(trades: TradeBuffer, w: EngineWindow): { holds: Int32Array; sides: Int8Array } {
  const holds = new Int32Array(trades.count)
  const sides = new Int8Array(trades.count)
  for (let i = 0; i < trades.count; i++) {
    const exit = trades.forced[i] ? w.end + 1 : trades.exitIndex[i]
    holds[i] = Math.max(1, exit - trades.entryIndex[i])
    sides[i] = trades.side[i]
  }
  return { holds, sides }
}

export function buyAndHold(bars: EngineBars, w: EngineWindow, cfg: ResolvedEngineConfig): BuyAndHold {
  // Decisions happen at a close and execute at the next open: start + 1 is the first entry.
  const entry = Math.min(w.start + 1, w.end)
  const p0 = bars.open[entry]
  const p1 = bars.close[w.end]
  return { market_return_pct: (p1 / p0 - 1) * 100, return_pct: (tradeReturnFactor(cfg, LONG, p0, p1) - 1) * 100 }
}

/**
 * Random entries: each draw places the strategy's trades (holding times and sides shuffled
 * independently) at uniformly random, non-overlapping positions in the window: K sorted uniform
 * gaps share out the bars no trade holds. Seeded; about K·log K operations per draw.
 */
export function randomEntryBaseline(
  bars: EngineBars,
  w: EngineWindow,
  cfg: ResolvedEngineConfig,
  trades: TradeBuffer,
  options: { draws?: number; seed?: number } = {},
): RandomEntryBaseline | null {
  const K = trades.count
  if (K === 0) return null
  const draws = Math.max(1000, options.draws ?? RANDOM_ENTRY_DRAWS)
  const seed = options.seed ?? RANDOM_ENTRY_SEED
  const { holds, sides } = tradeHolds(trades, w)
  let strategy = 1
  for (let i = 0; i < K; i++)
    strategy *= tradeReturnFactor(cfg, sides[i], bars.open[trades.entryIndex[i]], exitPrice(bars, w, trades.entryIndex[i], holds[i]))
  let held = 0
  for (let i = 0; i < K; i++) held += holds[i]
  const slots = w.end - w.start // entries at start+1 … end, exits up to end + 1
  const free = Math.max(0, slots - held)
  const rng = createRng(seed).uniform
  const h = Int32Array.from(holds)
  const d = Int8Array.from(sides)
  const gaps = new Float64Array(K)
  const results = new Float64Array(draws)
  for (let k = 0; k < draws; k++) {
    for (let i = K - 1; i > 0; i--) {
      const j = Math.floor(rng() * (i + 1))
      const th = h[i]
      h[i] = h[j]
      h[j] = th
      const j2 = Math.floor(rng() * (i + 1))
      const td = d[i]
      d[i] = d[j2]
      d[j2] = td
    }
    for (let i = 0; i < K; i++) gaps[i] = rng() * (free + 1)
    gaps.sort()
    let used = 0
    let growth = 1
    for (let i = 0; i < K; i++) {
      const entry = w.start + 1 + Math.min(free, Math.floor(gaps[i])) + used
      used += h[i]
      growth *= tradeReturnFactor(cfg, d[i], bars.open[Math.min(entry, w.end)], exitPrice(bars, w, Math.min(entry, w.end), h[i]))
    }
    results[k] = (growth - 1) * 100
  }
  const s = (strategy - 1) * 100
  let below = 0,
    ties = 0,
    atOrAbove = 0,
    sum = 0
  for (let k = 0; k < draws; k++) {
    const r = results[k]
    sum += r
    if (r < s) below++
    else {
      atOrAbove++
      if (r === s) ties++
    }
  }
  results.sort()
  const q = (p: number) => results[Math.min(draws - 1, Math.floor(p * draws))]
  return {
    draws,
    seed,
    strategy_return_pct: s,
    mean_return_pct: sum / draws,
    p05_return_pct: q(0.05),
    p50_return_pct: q(0.5),
    p95_return_pct: q(0.95),
    percentile: (100 * (below + ties / 2)) / draws,
    p_value: (1 + atOrAbove) / (1 + draws),
  }
}
