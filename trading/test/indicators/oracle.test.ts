// Cross-checks against independent npm libraries, used ONLY as test oracles, where their
// definitions agree with docs/domain.md#indicator-catalogue. Where a library differs by construction the comparison is adapted
// and the difference is named:
// - trading-signals EMA seeds y0 = x0 like pandas ewm(adjust=False): exact match.
// - trading-signals ATR takes its smoother as a parameter: ATR(n, SMA) is KTRDR's SMA-of-TR.
// - Bollinger libraries use the POPULATION std; KTRDR uses the sample std (ddof=1): scale by √(n/(n−1)).
// - trading-signals ROC is a ratio; KTRDR's is in percent.
// - trading-signals MACD seeds its signal EMA late, and technicalindicators seeds ADX with sums:
//   both converge geometrically, so only the tail (after ~20 time constants) is compared.
import { describe, expect, it } from 'vitest'
import * as TS from 'trading-signals'
import * as TI from 'technicalindicators'
import { computeIndicator } from '../../indicators/registry.ts'
import { arr, firstMismatch, randomBars } from './_bars.ts'

const bars = randomBars(600, 11)
const c = arr(bars.close)
const candles = c.map((close, i) => ({ open: bars.open[i], high: bars.high[i], low: bars.low[i], close, volume: bars.volume[i] }))
const nulls = (a: Array<number | null>): number[] => a.map((v) => (v === null || v === undefined ? NaN : v))
/** Right-align a technicalindicators result (it omits the warm-up) with the input. */
const rightAlign = (a: number[], n = c.length): number[] => [...new Array(n - a.length).fill(NaN), ...a]
/** Compare only where the oracle has a value (and from `from` on). */
function agree(actual: ArrayLike<number>, oracle: number[], tol = 1e-9, from = 0): void {
  const a = Array.from(actual).map((v, i) => (i < from || Number.isNaN(oracle[i]) ? NaN : v))
  const o = oracle.map((v, i) => (i < from ? NaN : v))
  expect(o.filter((v) => !Number.isNaN(v)).length).toBeGreaterThan(50)
  expect(firstMismatch(a, o, tol, tol)).toBeUndefined()
}

describe('trading-signals as oracle', () => {
  it('SMA(20)', () => agree(computeIndicator('sma', { period: 20 }, bars).sma, nulls(new TS.SMA(20).updates(c, false))))
  it('EMA(20) against ema adjust=false', () =>
    agree(computeIndicator('ema', { period: 20, adjust: false }, bars).ema, nulls(new TS.EMA(20).updates(c, false))))
  it('WMA(10)', () => agree(computeIndicator('wma', { period: 10 }, bars).wma, nulls(new TS.WMA(10).updates(c, false))))
  it('RSI(14), Wilder with SMA seed', () =>
    agree(computeIndicator('rsi', { period: 14 }, bars).rsi, nulls(new TS.RSI(14).updates(c, false))))
  it('ATR(14) with SMA smoothing', () =>
    agree(computeIndicator('atr', { period: 14 }, bars).atr, nulls(new TS.ATR(14, TS.SMA).updates(candles, false))))
  it('CCI(20)', () => agree(computeIndicator('cci', { period: 20 }, bars).cci, nulls(new TS.CCI(20).updates(candles, false)), 1e-7))
  it('Williams %R(14)', () =>
    agree(computeIndicator('williamsr', { period: 14 }, bars).williamsr, nulls(new TS.WilliamsR(14).updates(candles, false))))
  it('MFI(14)', () => agree(computeIndicator('mfi', { period: 14 }, bars).mfi, nulls(new TS.MFI(14).updates(candles, false)), 1e-8))
  it('ROC(10) as a ratio', () => {
    const ours = Array.from(computeIndicator('roc', { period: 10 }, bars).roc).map((v) => v / 100)
    agree(ours, nulls(new TS.ROC(10).updates(c, false)))
  })
  it('A/D line (technicalindicators rounds its ADL to integers, so trading-signals AD is the oracle)', () => {
    agree(computeIndicator('adline', {}, bars).line, nulls(new TS.AD().updates(candles, false)), 1e-7)
  })
  it('Momentum(10)', () => agree(computeIndicator('momentum', { period: 10 }, bars).momentum, nulls(new TS.MOM(10).updates(c, false))))
  it('Donchian channels(20)', () => {
    const o = new TS.DonchianChannels(20).updates(candles, false)
    const d = computeIndicator('donchianchannels', { period: 20 }, bars)
    agree(
      d.upper,
      o.map((r) => r?.upper ?? NaN),
    )
    agree(
      d.middle,
      o.map((r) => r?.middle ?? NaN),
    )
    agree(
      d.lower,
      o.map((r) => r?.lower ?? NaN),
    )
  })
  it('Bollinger(20, 2): same middle; band width scaled from population to sample std', () => {
    const o = new TS.BollingerBands(20, 2).updates(c, false)
    const b = computeIndicator('bbands', { period: 20, multiplier: 2 }, bars)
    agree(
      b.middle,
      o.map((r) => r?.middle ?? NaN),
    )
    const scale = Math.sqrt(20 / 19)
    agree(
      Array.from(b.upper).map((u, i) => u - b.middle[i]),
      o.map((r) => (r ? (r.upper - r.middle) * scale : NaN)),
      1e-8,
    )
  })
  it('MACD(12, 26, 9): line exact; signal/histogram agree once the late-seeded signal has converged', () => {
    const o = new TS.MACD(new TS.EMA(12), new TS.EMA(26), new TS.EMA(9)).updates(c, false)
    const m = computeIndicator('macd', {}, bars)
    agree(
      m.line,
      o.map((r) => r?.macd ?? NaN),
    )
    agree(
      m.signal,
      o.map((r) => r?.signal ?? NaN),
      1e-9,
      300,
    )
    agree(
      m.histogram,
      o.map((r) => r?.histogram ?? NaN),
      1e-9,
      300,
    )
  })
})

describe('technicalindicators as oracle', () => {
  const high = arr(bars.high),
    low = arr(bars.low),
    volume = arr(bars.volume)
  it('OBV (starts at 0)', () => {
    const o = TI.OBV.calculate({ close: c, volume })
    agree(computeIndicator('obv', {}, bars).obv, rightAlign(o))
  })
  it('Stochastic %K (no smoothing) and %D = SMA(3) once both windows are full', () => {
    const o = TI.Stochastic.calculate({ high, low, close: c, period: 14, signalPeriod: 3 })
    const s = computeIndicator('stochastic', { k_period: 14, smooth_k: 1, d_period: 3 }, bars)
    agree(s.k, rightAlign(o.map((r) => r.k)))
    agree(s.d, rightAlign(o.map((r) => r.d ?? NaN)), 1e-9, 16)
  })
  it('ADX(14): Wilder sums vs ewm converge; compare the tail', () => {
    const o = TI.ADX.calculate({ high, low, close: c, period: 14 })
    const a = computeIndicator('adx', { period: 14 }, bars)
    agree(a.plus_di, rightAlign(o.map((r) => r.pdi)), 1e-6, 400)
    agree(a.minus_di, rightAlign(o.map((r) => r.mdi)), 1e-6, 400)
    agree(a.adx, rightAlign(o.map((r) => r.adx)), 1e-6, 400)
  })
})
