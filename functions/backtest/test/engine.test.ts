import { describe, expect, it } from 'vitest'
import { resolveEngineConfig } from '../src/config.ts'
import { classifySignals, regressionSignals } from '../src/decisions.ts'
import { runBacktest } from '../src/engine.ts'
import { toTradeRecords } from '../src/trades.ts'
import type { EngineBars } from '../src/_types.ts'

const H = 3_600_000
const T0 = Date.UTC(2024, 0, 1)

function bars(opens: number[], closes: number[]): EngineBars {
  const n = opens.length
  return {
    length: n,
    time: Float64Array.from({ length: n }, (_, i) => T0 + i * H),
    open: Float64Array.from(opens),
    close: Float64Array.from(closes),
  }
}

/** One-hot probabilities per bar: 'B' BUY, 'S' SELL, '.' HOLD. */
function probs(pattern: string, p = 0.9): Float32Array {
  const out = new Float32Array(pattern.length * 3)
  const rest = (1 - p) / 2
  for (let i = 0; i < pattern.length; i++) {
    const k = pattern[i] === 'B' ? 0 : pattern[i] === 'S' ? 2 : 1
    for (let j = 0; j < 3; j++) out[i * 3 + j] = j === k ? p : rest
  }
  return out
}

const base = { commission: 0.001, slippage: 0.0005, min_signal_separation: 0 }

describe('hand-built scenarios', () => {
  const opens = [100, 101, 102, 103, 104, 105]
  const closes = [100.5, 101.5, 102.5, 103.5, 104.5, 105.5]

  it('a long round trip: signal at t close fills at t+1 open, both commissions in net P&L', () => {
    const b = bars(opens, closes)
    const cfg = resolveEngineConfig({ confidence_threshold: 0.6 }, base)
    const r = runBacktest(b, classifySignals(probs('.B.S..'), 6), cfg, { start: 0, end: 5, barMs: H })
    expect(r.trades.count).toBe(1)
    const [t] = toTradeRecords(r.trades, 'X')
    // BUY decided at bar 1's close fills at bar 2's open (102) plus 0.05% slippage.
    const entry = 102 * 1.0005
    const q = Math.floor((100_000 * 0.25) / 1.001 / 102) // = 244
    expect(q).toBe(244)
    const exit = 104 * 0.9995 // SELL at bar 3 → bar 4's open
    const entryComm = entry * q * 0.001
    const exitComm = exit * q * 0.001
    expect(t.side).toBe('LONG')
    expect(t.quantity).toBe(244)
    expect(t.entry_price).toBeCloseTo(entry, 10)
    expect(t.exit_price).toBeCloseTo(exit, 10)
    expect(t.entry_time).toBe(new Date(T0 + 2 * H).toISOString())
    expect(t.exit_time).toBe(new Date(T0 + 4 * H).toISOString())
    expect(t.gross_pnl).toBeCloseTo((exit - entry) * q, 8)
    expect(t.commission).toBeCloseTo(entryComm + exitComm, 10)
    expect(t.net_pnl).toBeCloseTo((exit - entry) * q - entryComm - exitComm, 8)
    expect(t.slippage).toBeCloseTo(102 * 0.0005 * q + 104 * 0.0005 * q, 8)
    expect(t.holding_period_hours).toBe(2)
    // MFE/MAE from closes while open: bar 2 (102.5) and bar 3 (103.5).
    expect(t.max_favorable_excursion).toBeCloseTo((103.5 - entry) * q, 8)
    expect(t.max_adverse_excursion).toBe(0)
    // Equity: flat until bar 2, marked at closes, cash afterwards.
    const cashAfterEntry = 100_000 - entry * q * 1.001
    expect(Array.from(r.equity)).toEqual([
      100_000,
      100_000,
      cashAfterEntry + 102.5 * q,
      cashAfterEntry + 103.5 * q,
      expect.any(Number),
      expect.any(Number),
    ])
    expect(r.equity[4]).toBeCloseTo(100_000 + t.net_pnl, 8)
    expect(r.finalEquity).toBeCloseTo(100_000 + t.net_pnl, 8)
    expect(r.metrics.total_trades).toBe(1)
    expect(r.metrics.winning_trades).toBe(1)
    expect(r.metrics.win_rate).toBe(1)
    expect(r.metrics.profit_factor).toBe(999_999)
    expect(r.metrics.total_return).toBeCloseTo(t.net_pnl, 8)
    expect(r.metrics.total_return_pct).toBeCloseTo((t.net_pnl / 100_000) * 100, 10)
    expect(r.metrics.avg_win).toBeCloseTo(t.net_pnl, 8)
    expect(r.metrics.largest_win).toBeCloseTo(t.net_pnl, 8)
    expect(r.metrics.avg_holding_period).toBe(2)
  })

  it('forces the open position closed at the last close, at the bar close time', () => {
    const b = bars(opens, closes)
    const cfg = resolveEngineConfig({}, base)
    const r = runBacktest(b, classifySignals(probs('..B...'), 6), cfg, { start: 0, end: 5, barMs: H })
    const [t] = toTradeRecords(r.trades, 'X')
    const entry = 103 * 1.0005
    const q = Math.floor(25_000 / 1.001 / 103)
    const exit = 105.5 * 0.9995
    expect(t.quantity).toBe(q)
    expect(t.exit_price).toBeCloseTo(exit, 10)
    expect(t.exit_time).toBe(new Date(T0 + 6 * H).toISOString())
    expect(t.decision_metadata).toMatchObject({ forced_close: true })
    expect(t.net_pnl).toBeCloseTo((exit - entry) * q - entry * q * 0.001 - exit * q * 0.001, 8)
    expect(r.finalEquity).toBeCloseTo(100_000 + t.net_pnl, 8)
  })

  it('a short from flat when allowed; valuation is cash + collateral + unrealised', () => {
    const b = bars([100, 100, 98, 97, 96, 95], [100, 99, 97.5, 96.5, 95.5, 95])
    const cfg = resolveEngineConfig({ allow_short_from_flat: true }, base)
    const r = runBacktest(b, classifySignals(probs('.S.B..'), 6), cfg, { start: 0, end: 5, barMs: H })
    const [t] = toTradeRecords(r.trades, 'X')
    const entry = 98 * 0.9995
    const q = Math.floor(25_000 / 1.001 / 98)
    const exit = 96 * 1.0005
    const entryComm = entry * q * 0.001
    expect(t.side).toBe('SHORT')
    expect(t.gross_pnl).toBeCloseTo((entry - exit) * q, 8)
    expect(t.net_pnl).toBeCloseTo((entry - exit) * q - entryComm - exit * q * 0.001, 8)
    // At bar 2's close the short is marked at 97.5: value = initial − entry commission + unrealised.
    expect(r.equity[2]).toBeCloseTo(100_000 - entryComm + (entry - 97.5) * q, 8)
    expect(r.finalEquity).toBeCloseTo(100_000 + t.net_pnl, 8)
  })

  it('without allow_short_from_flat a SELL from flat is ignored; low confidence is ignored', () => {
    const b = bars(opens, closes)
    const cfg = resolveEngineConfig({ confidence_threshold: 0.95 }, base)
    expect(
      runBacktest(b, classifySignals(probs('.S....'), 6), resolveEngineConfig({}, base), { start: 0, end: 5, barMs: H }).trades.count,
    ).toBe(0)
    expect(runBacktest(b, classifySignals(probs('.B....'), 6), cfg, { start: 0, end: 5, barMs: H }).trades.count).toBe(0)
  })

  it('min_signal_separation counts hours from the last executed trade on bar timestamps', () => {
    const n = 12
    const b = bars(new Array(n).fill(100), new Array(n).fill(100))
    const pattern = 'BSSSSSSSSSSS'
    // BUY at 0 fills at bar 1 (time 1h). With 4h separation SELLs decided before 5h are blocked:
    // the SELL at bar 5 passes and fills at bar 6.
    const r = runBacktest(
      b,
      classifySignals(probs(pattern), n),
      resolveEngineConfig({ filters: { min_signal_separation: 4 } }, { commission: 0, slippage: 0 }),
      { start: 0, end: n - 1, barMs: H },
    )
    const [t] = toTradeRecords(r.trades, 'X')
    expect(t.entry_time).toBe(new Date(T0 + 1 * H).toISOString())
    expect(t.exit_time).toBe(new Date(T0 + 6 * H).toISOString())
  })

  it('regression mode: thresholds from the cost model, SELL from flat opens a short', () => {
    const b = bars(opens, closes)
    const T = 0.003 * 1.5
    const pred = Float64Array.from([0, -T * 1.01, 0, T * 2, 0, Number.NaN])
    const cfg = resolveEngineConfig({ output_format: 'regression', cost_model: { round_trip_cost: 0.003, min_edge_multiplier: 1.5 } }, base)
    const sig = regressionSignals(pred, 6, T)
    expect(Array.from(sig.signal)).toEqual([1, 2, 1, 0, 1, 1])
    expect(sig.confidence[3]).toBe(Math.min(2 / 3, 1))
    const r = runBacktest(b, sig, cfg, { start: 0, end: 5, barMs: H })
    const [t] = toTradeRecords(r.trades, 'X')
    expect(t.side).toBe('SHORT')
    expect(t.entry_price).toBeCloseTo(102 * 0.9995, 10)
    expect(t.exit_price).toBeCloseTo(104 * 1.0005, 10)
  })

  it('an all-HOLD run keeps the capital and reports zeros', () => {
    const b = bars(opens, closes)
    const r = runBacktest(b, classifySignals(probs('......'), 6), resolveEngineConfig({}, base), { start: 0, end: 5, barMs: H })
    expect(r.finalEquity).toBe(100_000)
    expect(Object.values(r.metrics).every((v) => v === 0)).toBe(true)
  })

  it('cancellation is checked between chunks', () => {
    const n = 50_000
    const b = bars(new Array(n).fill(100), new Array(n).fill(100))
    const ac = new AbortController()
    let calls = 0
    expect(() =>
      runBacktest(
        b,
        classifySignals(new Float32Array(n * 3), n),
        resolveEngineConfig({}),
        { start: 0, end: n - 1, barMs: H },
        {
          signal: ac.signal,
          onProgress: () => {
            if (++calls === 3) ac.abort()
          },
        },
      ),
    ).toThrow(/cancelled/)
    expect(calls).toBe(3)
  })

  it('progress comes at least every 1% of the window', () => {
    const n = 5000
    const b = bars(new Array(n).fill(100), new Array(n).fill(100))
    const seen: number[] = []
    runBacktest(
      b,
      classifySignals(new Float32Array(n * 3), n),
      resolveEngineConfig({}),
      { start: 0, end: n - 1, barMs: H },
      { onProgress: (_i, done) => seen.push(done) },
    )
    expect(seen.at(-1)).toBe(n)
    for (let i = 1; i < seen.length; i++) expect(seen[i] - seen[i - 1]).toBeLessThanOrEqual(n / 100)
  })
})
