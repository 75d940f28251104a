import type { TradeBuffer } from './trades.ts'

/**
 * The 22 keys of docs/domain.md#performance-metrics. One unit per quantity: every `*_pct` is in percent (12.5 = 12.5 %), like
 * a trade's `return_pct`; `*_rate` and `annualized_return`/`volatility` are fractions (0.125).
 */
export interface PerformanceMetrics {
  total_return: number
  total_return_pct: number
  annualized_return: number
  volatility: number
  sharpe_ratio: number
  sortino_ratio: number
  max_drawdown: number
  max_drawdown_pct: number
  calmar_ratio: number
  recovery_factor: number
  total_trades: number
  winning_trades: number
  losing_trades: number
  win_rate: number
  profit_factor: number
  avg_win: number
  avg_loss: number
  largest_win: number
  largest_loss: number
  avg_holding_period: number
  avg_win_holding_period: number
  avg_loss_holding_period: number
}

export const METRIC_KEYS = [
  'total_return',
  'total_return_pct',
  'annualized_return',
  'volatility',
  'sharpe_ratio',
  'sortino_ratio',
  'max_drawdown',
  'max_drawdown_pct',
  'calmar_ratio',
  'recovery_factor',
  'total_trades',
  'winning_trades',
  'losing_trades',
  'win_rate',
  'profit_factor',
  'avg_win',
  'avg_loss',
  'largest_win',
  'largest_loss',
  'avg_holding_period',
  'avg_win_holding_period',
  'avg_loss_holding_period',
] as const satisfies ReadonlyArray<keyof PerformanceMetrics>

/** How per-bar statistics were annualised, reported next to the metrics. */
export interface Annualization {
  periods_per_year: number
  method: 'observed_bar_density' | 'timeframe_calendar'
  years: number
  /** The reference engine's figures (√252 on per-bar returns regardless of timeframe), for parity checks. */
  sqrt252: { volatility: number; sharpe_ratio: number; sortino_ratio: number }
}

export const RATIO_CLAMP = 999_999
const MS_PER_YEAR = 365.25 * 86_400_000

/** JSON-safe number: NaN→0, ±∞→±999999 (docs/domain.md#performance-metrics). */
export function sanitize(v: number): number {
  if (Number.isNaN(v)) return 0
  if (v === Infinity) return RATIO_CLAMP
  if (v === -Infinity) return -RATIO_CLAMP
  return v
}

const clamp = (v: number) => Math.max(-RATIO_CLAMP, Math.min(RATIO_CLAMP, v))

export function emptyMetrics(): PerformanceMetrics {
  return Object.fromEntries(METRIC_KEYS.map((k) => [k, 0])) as unknown as PerformanceMetrics
}

export interface MetricsInput {
  equity: Float64Array
  /** Number of equity points (a prefix of `equity`). */
  points: number
  initialCapital: number
  trades: TradeBuffer
  /** Open time of the first equity point's bar and close time of the last one (ms). */
  firstTime: number
  lastTime: number
  /** Bar duration (ms): the calendar fallback for bars per year. */
  barMs: number
}

/**
 * The metrics of docs/domain.md#performance-metrics, annualised by bars per year instead of a fixed √252 ([QUIRK] fixed): the
 * number of bars per year is the observed density of the window (points / years spanned),
 * which follows the timeframe and the market's trading hours at once; a window shorter than
 * a day falls back to the calendar count for the timeframe (365.25 days × bars per day).
 */
export function computeMetrics(m: MetricsInput): { metrics: PerformanceMetrics; annualization: Annualization } {
  const n = m.points
  const years = Math.max(0, (m.lastTime - m.firstTime) / MS_PER_YEAR)
  const calendarPpy = MS_PER_YEAR / m.barMs
  const observed = years * 365.25 >= 1 && n > 1
  const ppy = observed ? n / years : calendarPpy
  const annualization: Annualization = {
    periods_per_year: ppy,
    method: observed ? 'observed_bar_density' : 'timeframe_calendar',
    years,
    sqrt252: { volatility: 0, sharpe_ratio: 0, sortino_ratio: 0 },
  }
  if (n === 0) return { metrics: emptyMetrics(), annualization }

  const e = m.equity
  const init = m.initialCapital
  const final = e[n - 1]

  // Pass 1: drawdown and return sums. Pass 2: population variances around the means
  // (two passes: per-bar returns are tiny and E[r²]−E[r]² loses digits).
  let sum = 0
  let downSq = 0
  let peak = e[0]
  let maxDdPct = 0
  let maxDd = 0
  for (let k = 0; k < n; k++) {
    const v = e[k]
    if (v > peak) peak = v
    if (peak > 0) {
      const dd = (peak - v) / peak
      if (dd > maxDdPct) maxDdPct = dd
    }
    if (peak - v > maxDd) maxDd = peak - v
    if (k === 0) continue
    const r = e[k - 1] !== 0 ? v / e[k - 1] - 1 : 0
    sum += r
    if (r < 0) downSq += r * r
  }
  const rn = n - 1
  const mean = rn > 0 ? sum / rn : 0
  let varSum = 0
  for (let k = 1; k < n; k++) {
    const r = e[k - 1] !== 0 ? e[k] / e[k - 1] - 1 : 0
    varSum += (r - mean) * (r - mean)
  }
  const std = rn > 0 ? Math.sqrt(varSum / rn) : 0
  // Standard Sortino: downside deviation around a target of 0 over ALL periods,
  // √(Σ min(r, 0)² / N), not the spread of the negative returns around their own mean (which
  // shrinks when losses are steady and flattered the audited demo: −5.49 against −7.53).
  const downStd = rn > 0 ? Math.sqrt(downSq / rn) : 0
  const annual = Math.sqrt(ppy)
  const sharpe = (f: number) => (std > 1e-10 ? clamp((mean / std) * f) : 0)
  const sortino = (f: number) => (downStd > 1e-10 ? clamp((mean / downStd) * f) : 0)
  annualization.sqrt252 = {
    volatility: sanitize(std * Math.sqrt(252)),
    sharpe_ratio: sharpe(Math.sqrt(252)),
    sortino_ratio: sortino(Math.sqrt(252)),
  }

  const totalReturn = final - init
  const annYears = years > 0 ? years : n / ppy
  const annualized = final > 0 && init > 0 ? Math.pow(final / init, 1 / Math.max(annYears, 0.001)) - 1 : -1

  const t = m.trades
  let wins = 0,
    losses = 0,
    sumWin = 0,
    sumLoss = 0,
    largestWin = 0,
    largestLoss = 0
  let hold = 0,
    holdWin = 0,
    holdLoss = 0
  for (let i = 0; i < t.count; i++) {
    const pnl = t.netPnl[i]
    const h = (t.exitTime[i] - t.entryTime[i]) / 3_600_000
    hold += h
    if (pnl > 0) {
      wins++
      sumWin += pnl
      holdWin += h
      if (pnl > largestWin) largestWin = pnl
    } else if (pnl < 0) {
      losses++
      sumLoss += pnl
      holdLoss += h
      if (pnl < largestLoss) largestLoss = pnl
    }
  }
  const total = t.count
  const profitFactor = losses > 0 ? clamp(sumWin / Math.abs(sumLoss)) : wins > 0 ? RATIO_CLAMP : 0

  const metrics: PerformanceMetrics = {
    total_return: totalReturn,
    total_return_pct: (totalReturn / init) * 100,
    annualized_return: clamp(annualized),
    volatility: std * annual,
    sharpe_ratio: sharpe(annual),
    sortino_ratio: sortino(annual),
    max_drawdown: maxDd,
    max_drawdown_pct: maxDdPct * 100,
    calmar_ratio: maxDdPct > 0 ? clamp(annualized / maxDdPct) : 0,
    recovery_factor: maxDd > 0 ? clamp(totalReturn / maxDd) : 0,
    total_trades: total,
    winning_trades: wins,
    losing_trades: losses,
    win_rate: total > 0 ? wins / total : 0,
    profit_factor: profitFactor,
    avg_win: wins > 0 ? sumWin / wins : 0,
    avg_loss: losses > 0 ? sumLoss / losses : 0,
    largest_win: largestWin,
    largest_loss: largestLoss,
    avg_holding_period: total > 0 ? hold / total : 0,
    avg_win_holding_period: wins > 0 ? holdWin / wins : 0,
    avg_loss_holding_period: losses > 0 ? holdLoss / losses : 0,
  }
  for (const k of METRIC_KEYS) metrics[k] = sanitize(metrics[k])
  return { metrics, annualization }
}
