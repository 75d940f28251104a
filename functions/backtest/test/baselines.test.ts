import { describe, expect, it } from 'vitest'
import { LONG, SHORT, type EngineBars, type EngineWindow } from '../src/_types.ts'
import { buyAndHold, randomEntryBaseline, tradeReturnFactor } from '../src/baselines.ts'
import { resolveEngineConfig } from '../src/config.ts'
import { TradeBuffer } from '../src/trades.ts'

const cfg = resolveEngineConfig(undefined, { commission: 0.001, slippage: 0.0005, position_size_fraction: 0.25 })

function flatBars(n: number, price = 100): EngineBars {
  return {
    length: n,
    time: Float64Array.from({ length: n }, (_, i) => i * 3_600_000),
    open: new Float64Array(n).fill(price),
    close: new Float64Array(n).fill(price),
  }
}

function trades(list: Array<{ side: number; entry: number; exit: number; forced?: boolean }>): TradeBuffer {
  const t = new TradeBuffer()
  for (const x of list) {
    const k = t.next()
    t.side[k] = x.side
    t.entryIndex[k] = x.entry
    t.exitIndex[k] = x.exit
    t.forced[k] = x.forced ? 1 : 0
  }
  return t
}

describe('backtest baselines', () => {
  it('trade return model, hand-worked: long 100 → 110 with 0.1 % commission, 0.05 % slippage, 25 % sizing', () => {
    // in 100.05, out 109.945; per unit 9.895 − 0.001·(100.05 + 109.945) = 9.685005;
    // units per unit of equity 0.25 / 1.001 / 100.
    expect(tradeReturnFactor(cfg, LONG, 100, 110)).toBeCloseTo(1 + (0.25 / 1.001 / 100) * 9.685005, 12)
    // Short 100 → 90: in 99.95, out 90.045; 9.905 − 0.001·189.995.
    expect(tradeReturnFactor(cfg, SHORT, 100, 90)).toBeCloseTo(1 + (0.25 / 1.001 / 100) * (9.905 - 0.189995), 12)
  })

  it('buy-and-hold: from the first executable open to the last close', () => {
    const bars = flatBars(10)
    bars.open[1] = 100
    bars.close[9] = 120
    const w: EngineWindow = { start: 0, end: 9, barMs: 3_600_000 }
    const bh = buyAndHold(bars, w, cfg)
    expect(bh.market_return_pct).toBeCloseTo(20, 12)
    expect(bh.return_pct).toBeCloseTo((tradeReturnFactor(cfg, LONG, 100, 120) - 1) * 100, 12)
  })

  it('random entries: a trade across the only jump beats ~all draws; same-cost trades on a flat market tie at the median', () => {
    const bars = flatBars(1000)
    for (let i = 500; i < 1000; i++) {
      bars.open[i] = 110
      bars.close[i] = 110
    }
    bars.close[499] = 100
    const w: EngineWindow = { start: 0, end: 999, barMs: 3_600_000 }
    const lucky = randomEntryBaseline(bars, w, cfg, trades([{ side: LONG, entry: 499, exit: 501 }]), { draws: 2000, seed: 1 })!
    expect(lucky.draws).toBe(2000)
    expect(lucky.strategy_return_pct).toBeCloseTo((tradeReturnFactor(cfg, LONG, 100, 110) - 1) * 100, 12)
    // A 2-bar long gains only when it enters at 498 or 499: 2 of 999 positions.
    expect(lucky.percentile).toBeGreaterThan(99)
    expect(lucky.p_value).toBeLessThan(0.01)
    expect(lucky.p50_return_pct).toBeCloseTo((tradeReturnFactor(cfg, LONG, 100, 100) - 1) * 100, 12)

    const unlucky = randomEntryBaseline(bars, w, cfg, trades([{ side: SHORT, entry: 499, exit: 501 }]), { draws: 2000, seed: 1 })!
    expect(unlucky.percentile).toBeLessThan(1)
    expect(unlucky.p_value).toBeGreaterThan(0.99)

    const flat = flatBars(300)
    const same = randomEntryBaseline(
      flat,
      { start: 0, end: 299, barMs: 3_600_000 },
      cfg,
      trades([
        { side: LONG, entry: 10, exit: 30 },
        { side: SHORT, entry: 50, exit: 60 },
      ]),
      { draws: 1000, seed: 3 },
    )!
    expect(same.percentile).toBe(50)
    expect(same.p_value).toBe(1)
  })

  it('is seeded, needs at least 1000 draws, keeps trades inside the window and apart, and returns null without trades', () => {
    const bars = flatBars(400)
    for (let i = 0; i < 400; i++) {
      bars.open[i] = 100 + Math.sin(i / 7) * 3
      bars.close[i] = 100 + Math.sin((i + 1) / 7) * 3
    }
    const w: EngineWindow = { start: 0, end: 399, barMs: 3_600_000 }
    const t = trades([
      { side: LONG, entry: 5, exit: 45 },
      { side: LONG, entry: 100, exit: 180 },
      { side: SHORT, entry: 300, exit: 399, forced: true },
    ])
    const a = randomEntryBaseline(bars, w, cfg, t, { draws: 10, seed: 5 })!
    expect(a.draws).toBe(1000)
    expect(randomEntryBaseline(bars, w, cfg, t, { draws: 1000, seed: 5 })).toEqual(a)
    expect(randomEntryBaseline(bars, w, cfg, t, { draws: 1000, seed: 6 })!.mean_return_pct).not.toBe(a.mean_return_pct)
    expect(a.p05_return_pct).toBeLessThanOrEqual(a.p50_return_pct)
    expect(a.p50_return_pct).toBeLessThanOrEqual(a.p95_return_pct)
    expect(randomEntryBaseline(bars, w, cfg, new TradeBuffer())).toBeNull()
  })

  it('costs little: 2000 draws of 300 trades over 20,000 bars', () => {
    const n = 20_000
    const bars = flatBars(n)
    for (let i = 0; i < n; i++) {
      bars.open[i] = 100 + Math.sin(i / 50)
      bars.close[i] = 100 + Math.sin((i + 1) / 50)
    }
    const list = Array.from({ length: 300 }, (_, k) => ({
      side: k % 3 ? LONG : SHORT,
      entry: k * 60 + 1,
      exit: k * 60 + 1 + 10 + (k % 40),
    }))
    const t0 = performance.now()
    randomEntryBaseline(bars, { start: 0, end: n - 1, barMs: 3_600_000 }, cfg, trades(list), { draws: 2000 })
    // ≈ 60 ms on the 2-core machine; the margin is for load.
    expect(performance.now() - t0).toBeLessThan(2000)
  })
})
