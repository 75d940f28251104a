import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { mulberry32 } from '../../../trading/index.ts'
import { resolveEngineConfig } from '../src/config.ts'
import { classifySignals, maskWarmup, regressionSignals } from '../src/decisions.ts'
import { runBacktest } from '../src/engine.ts'
import { toTradeRecords } from '../src/trades.ts'
import type { EngineBars, RawSignals, ResolvedEngineConfig } from '../src/_types.ts'
import { referenceBacktest, type RefBar, type RefOutput } from './_reference.ts'

const H = 3_600_000

/** Random walk bars with occasional gaps (weekends) so hour-based separation is exercised. */
function makeBars(n: number, seed: number, jumps: boolean[]): { engine: EngineBars; ref: RefBar[] } {
  const rnd = mulberry32(seed)
  const time = new Float64Array(n),
    open = new Float64Array(n),
    close = new Float64Array(n)
  let t = Date.UTC(2024, 0, 1)
  let p = 50 + rnd() * 100
  for (let i = 0; i < n; i++) {
    time[i] = t
    t += jumps[i % jumps.length] ? 49 * H : H
    open[i] = p
    p = Math.max(1, p * (1 + (rnd() - 0.5) * 0.04))
    close[i] = p
    p = Math.max(1, p * (1 + (rnd() - 0.5) * 0.01))
  }
  return {
    engine: { length: n, time, open, close },
    ref: Array.from({ length: n }, (_, i) => ({ time: time[i], open: open[i], close: close[i] })),
  }
}

const configArb = fc.record({
  output_format: fc.constantFrom('classification', 'regression'),
  confidence_threshold: fc.double({ min: 0, max: 0.9, noNaN: true }),
  position_awareness: fc.boolean(),
  allow_short_from_flat: fc.boolean(),
  min_signal_separation: fc.constantFrom(0, 1, 4, 10),
  commission: fc.constantFrom(0, 0.001, 0.01),
  slippage: fc.constantFrom(0, 0.0005, 0.002),
  round_trip_cost: fc.constantFrom(0.001, 0.003),
  min_edge_multiplier: fc.constantFrom(1, 1.5),
  position_size_fraction: fc.constantFrom(0.25, 1),
  initial_capital: fc.constantFrom(100_000, 1000, 37),
})

function signalsFor(cfg: ResolvedEngineConfig, outputs: Float32Array, n: number, validFrom: number): RawSignals {
  const s =
    cfg.outputFormat === 'regression'
      ? regressionSignals(outputs.subarray(0, n), n, cfg.roundTripCost * cfg.minEdgeMultiplier)
      : classifySignals(outputs, n)
  return maskWarmup(s, validFrom)
}

function refOutputs(cfg: ResolvedEngineConfig, outputs: Float32Array, n: number, validFrom: number): Array<RefOutput | null> {
  return Array.from({ length: n }, (_, i) => {
    if (i < validFrom) return null
    return cfg.outputFormat === 'regression'
      ? { kind: 'regression' as const, value: outputs[i] }
      : { kind: 'probs' as const, values: [outputs[i * 3], outputs[i * 3 + 1], outputs[i * 3 + 2]] }
  })
}

function close(a: number, b: number) {
  return Math.abs(a - b) <= 1e-9 * Math.max(1, Math.abs(a), Math.abs(b))
}

describe('engine vs. the per-bar reference loop', () => {
  it('agrees on random data, model outputs and configs (trades, fees, P&L, equity)', () => {
    let tradesSeen = 0
    let shortsSeen = 0
    fc.assert(
      fc.property(
        fc.integer({ min: 2, max: 300 }),
        fc.integer({ min: 1, max: 1e9 }),
        fc.array(fc.boolean(), { minLength: 1, maxLength: 30 }),
        configArb,
        fc.integer({ min: 0, max: 40 }),
        fc.integer({ min: 0, max: 10 }),
        fc.integer({ min: 1, max: 1e9 }),
        (n, seed, jumps, params, validFrom, startOffset, outSeed) => {
          const { engine, ref } = makeBars(n, seed, jumps)
          let y = outSeed
          const rnd = () => (y = (y * 1103515245 + 12345) % 2147483648) / 2147483648
          // Mix of logits, exact probabilities, NaN rows and regression-sized values.
          const outputs = new Float32Array(n * 3)
          for (let i = 0; i < n * 3; i++) {
            const u = rnd()
            outputs[i] = u < 0.02 ? Number.NaN : params.output_format === 'regression' ? (rnd() - 0.5) * 0.03 : (rnd() - 0.5) * 6
          }
          const cfg = resolveEngineConfig({ output_format: params.output_format }, params)
          const start = Math.min(n - 1, Math.max(validFrom, startOffset))
          const end = n - 1
          const got = runBacktest(engine, signalsFor(cfg, outputs, n, validFrom), cfg, { start, end, barMs: H })
          const want = referenceBacktest(ref, refOutputs(cfg, outputs, n, validFrom), cfg, start, end, H)
          const trades = toTradeRecords(got.trades, 'X')
          expect(trades.length).toBe(want.trades.length)
          tradesSeen += trades.length
          shortsSeen += trades.filter((t) => t.side === 'SHORT').length
          trades.forEach((t, i) => {
            const w = want.trades[i]
            expect(t.side).toBe(w.side)
            expect(t.quantity).toBe(w.quantity)
            expect(Date.parse(t.entry_time)).toBe(w.entryTime)
            expect(Date.parse(t.exit_time)).toBe(w.exitTime)
            expect(close(t.entry_price, w.entryPrice) && close(t.exit_price, w.exitPrice)).toBe(true)
            expect(close(t.gross_pnl, w.gross) && close(t.commission, w.commission) && close(t.net_pnl, w.net)).toBe(true)
            expect(t.decision_metadata).toMatchObject(w.forced ? { forced_close: true } : {})
          })
          expect(got.equity.length).toBe(want.equity.length)
          for (let k = 0; k < want.equity.length; k++)
            if (!close(got.equity[k], want.equity[k])) expect([k, got.equity[k]]).toEqual([k, want.equity[k]])
          // Cash accounting: the final equity is the capital plus the sum of net P&L.
          const sumNet = trades.reduce((a, t) => a + t.net_pnl, 0)
          expect(close(got.finalEquity, cfg.initialCapital + sumNet)).toBe(true)
        },
      ),
      { numRuns: 300 },
    )
    // The property must have exercised the position manager, not just HOLD runs.
    expect(tradesSeen).toBeGreaterThan(1000)
    expect(shortsSeen).toBeGreaterThan(100)
  })

  it('no look-ahead: changing bars and outputs after t never changes decisions at or before t', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 20, max: 200 }),
        fc.integer({ min: 1, max: 1e9 }),
        fc.integer({ min: 1, max: 1e9 }),
        configArb,
        fc.nat(),
        (n, seed, seed2, params, cut) => {
          const a = makeBars(n, seed, [false])
          const b = makeBars(n, seed2, [false])
          const t = cut % (n - 1)
          // Same history up to t; arbitrary future.
          for (let i = 0; i <= t; i++) {
            b.engine.open[i] = a.engine.open[i]
            b.engine.close[i] = a.engine.close[i]
          }
          const rnd = mulberry32(seed)
          const outA = Float32Array.from({ length: n * 3 }, () => (rnd() - 0.5) * (params.output_format === 'regression' ? 0.03 : 6))
          const outB = outA.slice()
          for (let i = (t + 1) * (params.output_format === 'regression' ? 1 : 3); i < outB.length; i++) outB[i] = (rnd() - 0.5) * 6
          const cfg = resolveEngineConfig({ output_format: params.output_format }, params)
          const ra = runBacktest(a.engine, signalsFor(cfg, outA, n, 0), cfg, { start: 0, end: n - 1, barMs: H })
          const eqA = Array.from(ra.equity.subarray(0, t + 1))
          const tradesA = toTradeRecords(ra.trades, 'X').filter((x) => Date.parse(x.entry_time) <= a.engine.time[t])
          const rb = runBacktest(b.engine, signalsFor(cfg, outB, n, 0), cfg, { start: 0, end: n - 1, barMs: H })
          const tradesB = toTradeRecords(rb.trades, 'X').filter((x) => Date.parse(x.entry_time) <= a.engine.time[t])
          // Equity up to t (positions, fills) and every entry up to t are identical.
          expect(Array.from(rb.equity.subarray(0, t + 1))).toEqual(eqA)
          expect(tradesB.map((x) => [x.side, x.entry_time, x.entry_price, x.quantity])).toEqual(
            tradesA.map((x) => [x.side, x.entry_time, x.entry_price, x.quantity]),
          )
          // Decision at t executes at t+1's open: the position held during bar t+1 is fixed by history up to t.
          expect(rb.position[Math.min(t + 1, n - 1)] === ra.position[Math.min(t + 1, n - 1)] || t + 1 === n - 1).toBe(true)
        },
      ),
      { numRuns: 200 },
    )
  })

  it('same inputs give bit-identical results, also when a workspace is reused', () => {
    const { engine } = makeBars(5000, 7, [false, false, true])
    const outputs = Float32Array.from({ length: 15000 }, (_, i) => Math.sin(i * 0.37) * 3)
    const cfg = resolveEngineConfig({ confidence_threshold: 0.4, allow_short_from_flat: true })
    const a = runBacktest(engine, classifySignals(outputs, 5000), cfg, { start: 10, end: 4999, barMs: H })
    const snapshot = { eq: Array.from(a.equity), trades: toTradeRecords(a.trades, 'X'), metrics: a.metrics }
    expect(snapshot.trades.length).toBeGreaterThan(10)
    const b = runBacktest(engine, classifySignals(outputs, 5000), cfg, { start: 10, end: 4999, barMs: H })
    expect({ eq: Array.from(b.equity), trades: toTradeRecords(b.trades, 'X'), metrics: b.metrics }).toEqual(snapshot)
  })
})
