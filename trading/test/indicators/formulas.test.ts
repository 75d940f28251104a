// docs/domain.md#indicator-catalogue formulas: literal hand-worked cases, then every indicator against the naive reference
// implementations of _reference.ts on a seeded random walk.
import { describe, expect, it } from 'vitest'
import { computeIndicator } from '../../indicators/registry.ts'
import { arr, barsFrom, firstMismatch, randomBars } from './_bars.ts'
import * as ref from './_reference.ts'
import { zigzagPivots } from '../../labels/zigzag.ts'

const N = NaN
const run = (type: string, params: Record<string, unknown>, bars = randomBars(260, 7)) => computeIndicator(type, params, bars)
const close = (a: ArrayLike<number>, e: number[], digits = 10) => {
  expect(a.length).toBe(e.length)
  e.forEach((v, i) => (Number.isNaN(v) ? expect(a[i], `[${i}]`).toBeNaN() : expect(a[i], `[${i}]`).toBeCloseTo(v, digits)))
}

describe('hand-worked cases', () => {
  const ohlc = barsFrom({ close: [2, 3, 5], high: [3, 4, 6], low: [1, 2, 3] })

  it('sma: rolling mean with a NaN warm-up of period−1', () => {
    close(computeIndicator('sma', { period: 3 }, barsFrom({ close: [1, 2, 3, 4, 5] })).sma, [N, N, 2, 3, 4])
  })
  it('ema: adjust=false recursion and adjust=true weighted average (span 3, α = 0.5)', () => {
    const b = barsFrom({ close: [1, 2, 3] })
    close(computeIndicator('ema', { period: 3, adjust: false }, b).ema, [1, 1.5, 2.25])
    close(computeIndicator('ema', { period: 3 }, b).ema, [1, 2.5 / 1.5, 4.25 / 1.75])
  })
  it('wma: weights 1..n', () => {
    close(computeIndicator('wma', { period: 3 }, barsFrom({ close: [1, 2, 3, 6] })).wma, [N, N, 14 / 6, (2 + 6 + 18) / 6])
  })
  it('rsi: SMA seed then Wilder; 100 when there are no losses; 50 on a flat series', () => {
    close(computeIndicator('rsi', { period: 2 }, barsFrom({ close: [1, 2, 3, 2, 3] })).rsi, [N, N, 100, 50, 75])
    close(computeIndicator('rsi', { period: 2 }, barsFrom({ close: [5, 5, 5, 5] })).rsi, [N, N, 50, 50])
  })
  it('bollinger: sample std (ddof=1), bandwidth = (upper−lower)/middle', () => {
    const b = barsFrom({ close: [1, 2, 3] })
    const bb = computeIndicator('bbands', { period: 3, multiplier: 2 }, b)
    close(bb.upper, [N, N, 4])
    close(bb.middle, [N, N, 2])
    close(bb.lower, [N, N, 0])
    close(computeIndicator('bollingerbandwidth', { period: 3 }, b).bollingerbandwidth, [N, N, 2])
  })
  it('atr: SMA of true range, TR0 = H0 − L0', () => {
    close(computeIndicator('atr', { period: 2 }, ohlc).atr, [N, 2, 2.5])
  })
  it('stochastic: rawK over HH/LL, %D with min_periods=1', () => {
    const b = barsFrom({ close: [2, 3, 5, 4], high: [3, 4, 6, 5], low: [1, 2, 3, 2] })
    const s = computeIndicator('stochastic', { k_period: 2, smooth_k: 1, d_period: 2 }, b)
    close(s.k, [N, 200 / 3, 75, 50])
    close(s.d, [N, 200 / 3, (200 / 3 + 75) / 2, 62.5])
  })
  it('williamsr, momentum, roc', () => {
    close(computeIndicator('williamsr', { period: 2 }, ohlc).williamsr, [N, -100 / 3, -25])
    close(computeIndicator('momentum', { period: 1 }, ohlc).momentum, [N, 1, 2])
    close(computeIndicator('roc', { period: 1 }, ohlc).roc, [N, 50, 200 / 3])
  })
  it('obv and cumulative vwap', () => {
    const b = barsFrom({ close: [1, 2, 1, 1], volume: [10, 20, 30, 40] })
    close(computeIndicator('obv', {}, b).obv, [0, 20, -10, -10])
    close(computeIndicator('vwap', { period: 0, use_typical_price: false }, barsFrom({ close: [1, 2], volume: [1, 3] })).vwap, [1, 7 / 4])
  })
  it('mfi: 100 with only positive flow, 0 with only negative flow', () => {
    close(computeIndicator('mfi', { period: 2 }, barsFrom({ close: [1, 2, 3] })).mfi, [N, N, 100])
    close(computeIndicator('mfi', { period: 2 }, barsFrom({ close: [3, 2, 1] })).mfi, [N, N, 0])
  })
  it('cmf: multiplier 1 when the close is the high, 0 on a zero range', () => {
    const b = barsFrom({ close: [2, 2], high: [2, 2], low: [0, 2], volume: [5, 5] })
    const c = computeIndicator('cmf', { period: 2 }, b)
    close(c.mf_multiplier, [1, 0])
    close(c.cmf, [N, 0.5])
    close(c.above_zero, [N, 1])
  })
  it('aroon: bars since the extreme over the last `period` bars', () => {
    const a = computeIndicator('aroon', { period: 3 }, barsFrom({ close: [2, 2, 2], high: [1, 3, 2], low: [3, 1, 2] }))
    close(a.up, [N, N, 200 / 3])
    close(a.down, [N, N, 200 / 3])
    close(a.oscillator, [N, N, 0])
  })
  it('parabolic sar: seeded from the first two closes, clamped to the prior two lows', () => {
    const b = barsFrom({ close: [10, 11, 12, 13], high: [10.5, 11.5, 12.5, 13.5], low: [9.5, 10.5, 11.5, 12.5] })
    close(computeIndicator('psar', {}, b).parabolicsar, [N, 9.5, 9.5, 9.5 + 0.04 * (12.5 - 9.5)])
  })
  it('ichimoku: senkou spans shifted forward by displacement, chikou unshifted', () => {
    const b = barsFrom({ close: [2, 3, 5, 4], high: [3, 4, 6, 5], low: [1, 2, 3, 2] })
    const ich = computeIndicator('ichimoku', { tenkan_period: 1, kijun_period: 2, senkou_b_period: 1, displacement: 2 }, b)
    close(ich.tenkan, [2, 3, 4.5, 3.5])
    close(ich.kijun, [N, 2.5, 4, 4])
    close(ich.senkou_a, [N, N, N, 2.75])
    close(ich.senkou_b, [N, N, 2, 3])
    close(ich.chikou, [2, 3, 5, 4])
  })
  it('zigzag: extensions move the pivot, reversals ≥ threshold start a new leg', () => {
    close(computeIndicator('zigzag', { threshold: 0.1 }, barsFrom({ close: [100, 110, 120, 100, 90, 100] })).zigzag, [
      100,
      N,
      120,
      N,
      90,
      100,
    ])
  })
  it('volumeratio and distancefromma', () => {
    close(computeIndicator('volumeratio', { period: 2 }, barsFrom({ close: [1, 1, 1], volume: [1, 3, 0] })).volumeratio, [N, 1.5, 0])
    close(computeIndicator('volumeratio', { period: 2 }, barsFrom({ close: [1, 1], volume: [0, 0] })).volumeratio, [N, 1])
    close(computeIndicator('distancefromma', { period: 2 }, barsFrom({ close: [1, 3] })).distancefromma, [N, 50])
  })
})

describe('every indicator matches its naive reference on a random walk', () => {
  const b = randomBars(260, 7)
  const c = arr(b.close)
  const check = (actual: ArrayLike<number>, expected: number[], tol = 1e-9) =>
    expect(firstMismatch(actual, expected, tol, tol)).toBeUndefined()

  it.each([
    ['sma', { period: 20 }, () => ref.rollMean(c, 20)],
    ['sma', { period: 7, source: 'high' }, () => ref.rollMean(arr(b.high), 7)],
    ['ema', { period: 20 }, () => ref.ewm(c, ref.span(20), true)],
    ['ema', { period: 9, adjust: false }, () => ref.ewm(c, ref.span(9), false)],
    ['wma', { period: 10 }, () => ref.wma(c, 10)],
    ['rsi', { period: 14 }, () => ref.rsi(c, 14)],
    ['rsi', { period: 3, source: 'open' }, () => ref.rsi(arr(b.open), 3)],
    ['atr', { period: 14 }, () => ref.atr(b, 14)],
    ['roc', { period: 10 }, () => ref.roc(c, 10)],
    ['momentum', { period: 4 }, () => ref.momentum(c, 4)],
    ['cci', { period: 20 }, () => ref.cci(b, 20)],
    ['williamsr', { period: 14 }, () => ref.williamsr(b, 14)],
    ['obv', {}, () => ref.obv(b)],
    ['vwap', {}, () => ref.vwap(b, 20, true)],
    ['vwap', { period: 0, use_typical_price: false }, () => ref.vwap(b, 0, false)],
    ['mfi', { period: 14 }, () => ref.mfi(b, 14)],
    [
      'volumeratio',
      { period: 20 },
      () => {
        const v = arr(b.volume)
        return ref.rollMean(v, 20).map((m, i) => v[i] / m)
      },
    ],
    ['distancefromma', { period: 20 }, () => ref.rollMean(c, 20).map((m, i) => (100 * (c[i] - m)) / m)],
    ['distancefromma', { period: 10, ma_type: 'EMA' }, () => ref.ewm(c, ref.span(10), true).map((m, i) => (100 * (c[i] - m)) / m)],
    ['zigzag', { threshold: 0.03 }, () => ref.zigzag(c, 0.03)],
  ] as const)('%s %j', (type, params, expected) => {
    check(Object.values(run(type, params as Record<string, unknown>, b))[0], expected())
  })

  it('macd: ewm(fast) − ewm(slow), signal = ewm(line), histogram', () => {
    const m = run('macd', {}, b)
    const line = ref.ewm(c, ref.span(12), false).map((f, i) => f - ref.ewm(c, ref.span(26), false)[i])
    const signal = ref.ewm(line, ref.span(9), false)
    check(m.line, line)
    check(m.signal, signal)
    check(
      m.histogram,
      line.map((l, i) => l - signal[i]),
    )
  })
  it('bollinger bands (sample std) and bandwidth', () => {
    const bb = run('bollingerbands', { period: 20, multiplier: 2.5 }, b)
    const mid = ref.rollMean(c, 20),
      sd = ref.rollStdSample(c, 20)
    check(bb.middle, mid)
    check(
      bb.upper,
      mid.map((m, i) => m + 2.5 * sd[i]),
    )
    check(
      bb.lower,
      mid.map((m, i) => m - 2.5 * sd[i]),
    )
    check(
      run('bollingerbandwidth', {}, b).bollingerbandwidth,
      mid.map((m, i) => (4 * ref.rollStdSample(c, 20)[i]) / m),
    )
  })
  it('stochastic with smoothing', () => {
    const s = run('stochastic', { k_period: 14, smooth_k: 3, d_period: 3 }, b)
    const e = ref.stochastic(b, 14, 3, 3)
    check(s.k, e.k)
    check(s.d, e.d)
  })
  it('adx, +DI, −DI (Wilder = ewm α=1/n, adjust=False)', () => {
    const a = run('adx', { period: 14 }, b)
    const e = ref.adx(b, 14)
    check(a.adx, e.adx)
    check(a.plus_di, e.plus)
    check(a.minus_di, e.minus)
  })
  it('cmf and its derived outputs', () => {
    const m = run('cmf', { period: 21 }, b)
    const e = ref.cmf(b, 21)
    check(m.cmf, e)
    check(
      m.momentum,
      e.map((v, i) => (i >= 5 ? v - e[i - 5] : N)),
    )
    const sig = ref.ewm(e, ref.span(9), false)
    check(m.signal, sig)
    check(
      m.histogram,
      e.map((v, i) => v - sig[i]),
    )
  })
  it('adline and its derived outputs (with SMA smoothing)', () => {
    const m = run('adline', { use_sma_smoothing: true, smoothing_period: 10 }, b)
    const line = ref.adline(b)
    check(m.line, line, 1e-7)
    check(
      m.roc_10,
      line.map((v, i) => (i >= 10 ? (v / line[i - 10] - 1) * 100 : N)),
      1e-6,
    )
    check(
      m.momentum_21,
      line.map((v, i) => (i >= 21 ? v - line[i - 21] : N)),
      1e-7,
    )
    check(
      m.relative_strength,
      ref.rollMean(line, 50, 20).map((r, i) => (line[i] / r - 1) * 100),
      1e-6,
    )
    check(m.line_sma_10, ref.rollMean(line, 10), 1e-7)
  })
  it('aroon', () => {
    const a = run('aroon', { period: 25 }, b)
    const e = ref.aroon(b, 25)
    check(a.up, e.up)
    check(a.down, e.down)
    check(
      a.oscillator,
      e.up.map((u, i) => u - e.down[i]),
    )
  })
  it('fisher transform', () => {
    const f = run('fishertransform', { period: 10, smoothing: 3 }, b)
    const e = ref.fisher(b, 10, 3)
    check(f.fisher, e.fisher)
    check(f.signal, e.signal)
  })
  it('rvi', () => {
    const r = run('rvi', { period: 10, signal_period: 4 }, b)
    const e = ref.rvi(b, 10, 4)
    check(r.rvi, e.rvi)
    check(r.signal, e.signal)
  })
  it('keltner channels and donchian channels', () => {
    const k = run('keltnerchannels', { period: 20, atr_period: 10, multiplier: 1.5 }, b)
    const mid = ref.ewm(c, ref.span(20), false),
      at = ref.atr(b, 10)
    check(k.middle, mid)
    check(
      k.upper,
      mid.map((m, i) => m + 1.5 * at[i]),
    )
    check(
      k.lower,
      mid.map((m, i) => m - 1.5 * at[i]),
    )
    const d = run('donchianchannels', { period: 20 }, b)
    const hh = ref.rollMax(arr(b.high), 20),
      ll = ref.rollMin(arr(b.low), 20)
    check(d.upper, hh)
    check(d.lower, ll)
    check(
      d.middle,
      hh.map((h, i) => (h + ll[i]) / 2),
    )
  })
  it('supertrend', () => {
    const s = run('supertrend', { period: 10, multiplier: 3 }, b)
    const e = ref.supertrend(b, 10, 3)
    check(s.trend, e.trend)
    check(s.direction, e.direction)
    expect(new Set(arr(s.direction).filter((v) => !Number.isNaN(v)))).toEqual(new Set([1, -1]))
  })
  it('squeeze intensity from BB inside KC', () => {
    const s = run('squeezeintensity', {}, b)
    const mid = ref.rollMean(c, 20),
      sd = ref.rollStdSample(c, 20)
    const kcm = ref.ewm(c, ref.span(20), false),
      at = ref.atr(b, 10)
    const e = mid.map((m, i) => {
      const bu = m + 2 * sd[i],
        bl = m - 2 * sd[i],
        ku = kcm[i] + 2 * at[i],
        kl = kcm[i] - 2 * at[i]
      return Math.max(0, Math.min((ku - bu) / (ku - kl), (bl - kl) / (ku - kl)))
    })
    check(s.squeezeintensity, e)
  })
})

describe('zigzag indicator and the docs/domain.md#zigzag-labels label pivots agree', () => {
  it.each([0.01, 0.02, 0.05])('threshold %s', (th) => {
    const b = randomBars(2000, 13)
    const z = computeIndicator('zigzag', { threshold: th }, b).zigzag
    const mine = arr(z).flatMap((v, i) => (Number.isNaN(v) ? [] : [i]))
    expect(mine).toEqual(Array.from(zigzagPivots(b.close, th)))
  })
})
