/** How one metric varied across folds: a figure that only one fold carries says little. */
export interface Stability {
  /** Folds with a finite value. */
  n: number
  mean: number | null
  /** Sample standard deviation (n − 1); null below two folds. */
  std: number | null
  min: number | null
  max: number | null
  /** Share of those folds whose value is above 0, 0–1. */
  positive_share: number | null
}

export function stability(values: Array<number | null | undefined>): Stability {
  const xs = values.filter((v): v is number => typeof v === 'number' && Number.isFinite(v))
  const n = xs.length
  if (!n) return { n, mean: null, std: null, min: null, max: null, positive_share: null }
  const mean = xs.reduce((a, b) => a + b, 0) / n
  const std = n > 1 ? Math.sqrt(xs.reduce((a, x) => a + (x - mean) ** 2, 0) / (n - 1)) : null
  return { n, mean, std, min: Math.min(...xs), max: Math.max(...xs), positive_share: xs.filter((x) => x > 0).length / n }
}

/** One row of a backtest's equity.csv: the bar's open time, its close, the portfolio at that close. */
export interface EquityPoint {
  timestamp: string
  price: number
  value: number
  position: string
}

/** Reads the backtest's `timestamp,price,portfolio_value,position` file (functions/backtest writes it). */
export function parseEquityCsv(text: string): EquityPoint[] {
  const lines = text.split('\n')
  const header = lines[0]?.trim()
  if (header !== 'timestamp,price,portfolio_value,position') throw new Error(`not a backtest equity curve (header "${header}")`)
  const out: EquityPoint[] = []
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i]
    if (!line) continue
    const [timestamp, price, value, position] = line.split(',')
    out.push({ timestamp, price: Number(price), value: Number(value), position })
  }
  return out
}

export interface FoldCurve {
  fold: number
  /** What the fold's backtest started with: its curve is read as growth on it. */
  initialCapital: number
  points: EquityPoint[]
}

export interface StitchedPoint {
  timestamp: string
  fold: number
  price: number
  /** The fold's own portfolio value (each fold starts again at its initial capital). */
  fold_value: number
  /** The out-of-sample curve: each fold's growth compounded on where the previous fold ended. */
  value: number
  /** The market over the same bars, compounded the same way (closes only: the file carries closes). */
  benchmark: number
  position: string
}

export interface Stitched {
  points: StitchedPoint[]
  start: string | null
  end: string | null
  bars: number
  initial_value: number
  final_value: number
  total_return_pct: number
  max_drawdown_pct: number
  buy_and_hold_return_pct: number
}

/**
 * One out-of-sample equity curve from the test windows, in fold order: fold k's growth factor
 * (value / its initial capital) applied to the stitched value where fold k − 1 ended, so a fold
 * that lost half loses half of what the earlier folds made. Gaps between test windows (a step
 * longer than the test window) are flat: nothing was traded there.
 */
export function stitch(curves: FoldCurve[], initialValue: number): Stitched {
  const points: StitchedPoint[] = []
  let base = initialValue
  let bench = initialValue
  let peak = initialValue
  let maxDd = 0
  for (const curve of [...curves].sort((a, b) => a.fold - b.fold)) {
    if (!curve.points.length) continue
    const firstPrice = curve.points[0].price
    let value = base
    let benchmark = bench
    for (const p of curve.points) {
      value = base * (p.value / curve.initialCapital)
      benchmark = bench * (p.price / firstPrice)
      points.push({ timestamp: p.timestamp, fold: curve.fold, price: p.price, fold_value: p.value, value, benchmark, position: p.position })
      peak = Math.max(peak, value)
      if (peak > 0) maxDd = Math.max(maxDd, (peak - value) / peak)
    }
    base = value
    bench = benchmark
  }
  return {
    points,
    start: points[0]?.timestamp ?? null,
    end: points.at(-1)?.timestamp ?? null,
    bars: points.length,
    initial_value: initialValue,
    final_value: base,
    total_return_pct: (base / initialValue - 1) * 100,
    max_drawdown_pct: maxDd * 100,
    buy_and_hold_return_pct: (bench / initialValue - 1) * 100,
  }
}

/** The stitched curves of every symbol as one CSV (rows by symbol, then time). */
export function stitchedCsv(bySymbol: Array<[symbol: string, Stitched]>): string {
  const lines = ['timestamp,symbol,fold,price,fold_value,value,benchmark,position']
  for (const [symbol, s] of bySymbol)
    for (const p of s.points)
      lines.push(`${p.timestamp},${symbol},${p.fold},${p.price},${p.fold_value},${round(p.value)},${round(p.benchmark)},${p.position}`)
  return lines.join('\n') + '\n'
}

const round = (v: number) => Math.round(v * 1e6) / 1e6
