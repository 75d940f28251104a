import { describe, expect, it } from 'vitest'
import { computeMetrics, METRIC_KEYS, sanitize } from '../src/metrics.ts'
import { TradeBuffer } from '../src/trades.ts'
import { classifySignals } from '../src/decisions.ts'

const D = 86_400_000

function tradeBuf(rows: Array<[net: number, hours: number]>): TradeBuffer {
  const b = new TradeBuffer(1)
  for (const [net, hours] of rows) {
    const k = b.next()
    b.netPnl[k] = net
    b.entryTime[k] = 0
    b.exitTime[k] = hours * 3_600_000
  }
  return b
}

describe('metrics (docs/domain.md#performance-metrics)', () => {
  it('matches hand-computed values', () => {
    const equity = Float64Array.from([100, 110, 99, 121])
    const trades = tradeBuf([
      [10, 2],
      [-5, 4],
      [0, 1],
      [20, 6],
    ])
    const { metrics: m, annualization } = computeMetrics({
      equity,
      points: 4,
      initialCapital: 100,
      trades,
      firstTime: 0,
      lastTime: 4 * D,
      barMs: D,
    })
    expect(Object.keys(m).sort()).toEqual([...METRIC_KEYS].sort())
    expect(METRIC_KEYS.length).toBe(22)
    const r = [0.1, -0.1, 121 / 99 - 1]
    const mean = (r[0] + r[1] + r[2]) / 3
    const std = Math.sqrt(r.reduce((a, x) => a + (x - mean) ** 2, 0) / 3)
    // 4 daily points over 4 days → 365.25 bars per year.
    expect(annualization.method).toBe('observed_bar_density')
    expect(annualization.periods_per_year).toBeCloseTo(365.25, 9)
    const years = 4 / 365.25
    expect(m.total_return).toBe(21)
    expect(m.total_return_pct).toBeCloseTo(21, 10)
    // Compounding 21% over 4 days overflows the ±999999 clamp.
    expect(1.21 ** (1 / years) - 1).toBeGreaterThan(999_999)
    expect(m.annualized_return).toBe(999_999)
    expect(m.volatility).toBeCloseTo(std * Math.sqrt(365.25), 12)
    expect(m.sharpe_ratio).toBeCloseTo((mean / std) * Math.sqrt(365.25), 10)
    // Downside deviation around 0 over all 3 returns: √(0.1² / 3).
    expect(m.sortino_ratio).toBeCloseTo((mean / Math.sqrt(0.01 / 3)) * Math.sqrt(365.25), 8)
    expect(annualization.sqrt252.sharpe_ratio).toBeCloseTo((mean / std) * Math.sqrt(252), 10)
    expect(m.max_drawdown_pct).toBeCloseTo(10, 10)
    expect(m.max_drawdown).toBeCloseTo(11, 12)
    expect(m.calmar_ratio).toBeCloseTo(Math.min(999_999, m.annualized_return / (11 / 110)), 6)
    expect(m.recovery_factor).toBeCloseTo(21 / 11, 12)
    expect(m.total_trades).toBe(4)
    expect(m.winning_trades).toBe(2)
    expect(m.losing_trades).toBe(1)
    expect(m.win_rate).toBe(0.5)
    expect(m.profit_factor).toBe(30 / 5)
    expect(m.avg_win).toBe(15)
    expect(m.avg_loss).toBe(-5)
    expect(m.largest_win).toBe(20)
    expect(m.largest_loss).toBe(-5)
    expect(m.avg_holding_period).toBe(13 / 4)
    expect(m.avg_win_holding_period).toBe(4)
    expect(m.avg_loss_holding_period).toBe(4)
  })

  it('sortino: mean return over the downside deviation around 0 of all periods (hand-worked)', () => {
    // Returns −10 %, +10 %, −11.1 % (88/99 − 1). Mean = (−0.1 + 0.1 − 1/9)/3 = −1/27.
    // Downside deviation = √((0.1² + 0 + (1/9)²)/3) = √((0.01 + 1/81)/3) = 0.086306…
    // Per-bar Sortino = −0.037037/0.086167 = −0.429141…; annualised × √365.25.
    const equity = Float64Array.from([100, 90, 99, 88])
    const { metrics: m, annualization } = computeMetrics({
      equity,
      points: 4,
      initialCapital: 100,
      trades: tradeBuf([]),
      firstTime: 0,
      lastTime: 4 * D,
      barMs: D,
    })
    expect(-1 / 27 / Math.sqrt((0.01 + 1 / 81) / 3)).toBeCloseTo(-0.429141, 6)
    expect(m.sortino_ratio).toBeCloseTo(-0.429141 * Math.sqrt(365.25), 4)
    expect(annualization.sqrt252.sortino_ratio).toBeCloseTo(-0.429141 * Math.sqrt(252), 4)
    // The old definition (negative returns around their own mean, 0.0056) gave −6.67 per bar.
    expect(m.total_return_pct).toBeCloseTo(-12, 10)
    expect(m.max_drawdown_pct).toBeCloseTo(12, 10)
    expect(m.profit_factor).toBe(0)
  })

  it('clamps and sanitises: no losses → 999999; NaN → 0; no points → all zero', () => {
    const { metrics } = computeMetrics({
      equity: Float64Array.from([100, 100]),
      points: 2,
      initialCapital: 100,
      trades: tradeBuf([[5, 1]]),
      firstTime: 0,
      lastTime: 2 * 3_600_000,
      barMs: 3_600_000,
    })
    expect(metrics.profit_factor).toBe(999_999)
    expect(metrics.sharpe_ratio).toBe(0)
    expect(sanitize(Number.NaN)).toBe(0)
    expect(sanitize(Infinity)).toBe(999_999)
    expect(sanitize(-Infinity)).toBe(-999_999)
    const empty = computeMetrics({
      equity: new Float64Array(0),
      points: 0,
      initialCapital: 100,
      trades: tradeBuf([]),
      firstTime: 0,
      lastTime: 0,
      barMs: 3_600_000,
    })
    expect(Object.values(empty.metrics).every((v) => v === 0)).toBe(true)
  })

  it('a window shorter than a day annualises by the timeframe calendar', () => {
    const { annualization } = computeMetrics({
      equity: Float64Array.from([100, 101, 100]),
      points: 3,
      initialCapital: 100,
      trades: tradeBuf([]),
      firstTime: 0,
      lastTime: 3 * 3_600_000,
      barMs: 3_600_000,
    })
    expect(annualization.method).toBe('timeframe_calendar')
    expect(annualization.periods_per_year).toBeCloseTo(365.25 * 24, 9)
  })
})

describe('decisions (docs/domain.md#decision-logic step 1)', () => {
  it('softmax on logits, probabilities passed through, NaN → HOLD/0, ties → first class', () => {
    const out = Float32Array.from([
      2,
      0,
      0, // logits → BUY, confidence e²/(e²+2)
      0.2,
      0.3,
      0.5, // probabilities → SELL 0.5
      Number.NaN,
      1,
      0, // NaN → HOLD 0
      1,
      1,
      0.5, // tie between BUY and HOLD → BUY
    ])
    const s = classifySignals(out, 4)
    expect(Array.from(s.signal)).toEqual([0, 2, 1, 0])
    expect(s.confidence[0]).toBeCloseTo(Math.exp(2) / (Math.exp(2) + 2), 6)
    expect(s.confidence[1]).toBeCloseTo(0.5, 6)
    expect(s.confidence[2]).toBe(0)
    expect(classifySignals(out, 4, 3, true).signal.every((v) => v === 1)).toBe(true)
  })
})
