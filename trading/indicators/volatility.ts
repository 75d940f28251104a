// Volatility bands (docs/domain.md#indicator-catalogue: atr, bollingerbands, bollingerbandwidth, keltnerchannels,
// donchianchannels, squeezeintensity).
import type { OhlcvSeries } from '../types.ts'
import { defineIndicator, int, float, bool, source, num, pickSource } from './_define.ts'
import { rollingBands, rollingMean, trueRange } from './_rolling.ts'
import { rollingExtreme } from './_extreme.ts'
import { ewm, spanAlpha } from './_ewm.ts'

/**
 * ATR as KTRDR defines it: a SIMPLE mean of true range (not Wilder). One fused pass (true range
 * and a running sum resynced every 1024 bars); NaN prices fall back to the general primitives.
 */
export function atrSma(bars: OhlcvSeries, n: number, out: Float64Array): Float64Array {
  const { high, low, close } = bars
  const len = bars.length
  const tr = new Float64Array(len)
  if (len === 0) return out
  let sum = 0
  let since = 0
  for (let i = 0; i < len; i++) {
    const t = i === 0 ? high[0] - low[0] : Math.max(high[i] - low[i], Math.abs(high[i] - close[i - 1]), Math.abs(low[i] - close[i - 1]))
    if (t !== t) return rollingMean(trueRange(high, low, close, tr), n, n, out)
    tr[i] = t
    sum += t
    if (i >= n) {
      sum -= tr[i - n]
      // Exact resync: no drift, and a flat stretch reads 0 again within 1024 bars (nothing
      // downstream branches on an exact-zero ATR; tracking zeros cost ~25% of this loop).
      if (++since >= 1024) {
        since = 0
        sum = 0
        for (let j = i - n + 1; j <= i; j++) sum += tr[j]
      }
    }
    out[i] = i >= n - 1 ? sum / n : NaN
  }
  return out
}

export const atr = defineIndicator({
  type: 'atr',
  title: 'Average True Range (simple mean of the true range)',
  aliases: ['atrindicator', 'averagetruerange'],
  params: { period: int(14, 1, 100) },
  outputs: () => ['atr'],
  multiOutput: false,
  minBars: (p) => num(p, 'period') + 1,
  warmup: (p) => num(p, 'period') - 1,
  compute: (bars, p) => ({ atr: atrSma(bars, num(p, 'period'), new Float64Array(bars.length)) }),
})

/** Bollinger bands into caller buffers: middle = SMA, σ = rolling sample std (ddof=1). */
export function bollinger(src: Float64Array, n: number, k: number, upper: Float64Array, middle: Float64Array, lower: Float64Array): void {
  rollingBands(src, n, k, upper, middle, lower)
}

const bbParams = { period: int(20, 2, 200), multiplier: float(2.0, 0, 10, true), source: source() }

export const bollingerbands = defineIndicator({
  type: 'bollingerbands',
  title: 'Bollinger Bands',
  aliases: ['bollingerbandsindicator', 'bbands', 'bb'],
  params: bbParams,
  outputs: () => ['upper', 'middle', 'lower'],
  multiOutput: true,
  minBars: (p) => num(p, 'period'),
  warmup: (p) => num(p, 'period') - 1,
  compute(bars, p) {
    const len = bars.length
    const upper = new Float64Array(len)
    const middle = new Float64Array(len)
    const lower = new Float64Array(len)
    bollinger(pickSource(bars, p.source), num(p, 'period'), num(p, 'multiplier'), upper, middle, lower)
    return { upper, middle, lower }
  },
})

export const bollingerbandwidth = defineIndicator({
  type: 'bollingerbandwidth',
  title: 'Bollinger Band width relative to the middle band',
  aliases: ['bollingerbandwidthindicator', 'bbwidth', 'bbw'],
  params: bbParams,
  outputs: () => ['bollingerbandwidth'],
  multiOutput: false,
  minBars: (p) => num(p, 'period'),
  warmup: (p) => num(p, 'period') - 1,
  compute(bars, p) {
    const len = bars.length
    const upper = new Float64Array(len)
    const middle = new Float64Array(len)
    const lower = new Float64Array(len)
    bollinger(pickSource(bars, p.source), num(p, 'period'), num(p, 'multiplier'), upper, middle, lower)
    for (let i = 0; i < len; i++) {
      const m = middle[i]
      upper[i] = m !== m ? NaN : Math.abs(m) <= 1e-10 ? 0 : (upper[i] - lower[i]) / m
    }
    return { bollingerbandwidth: upper }
  },
})

/** Keltner channels into caller buffers: EMA(close, adjust=False) ± mult · SMA(TR, atrPeriod). */
export function keltner(
  bars: OhlcvSeries,
  period: number,
  atrPeriod: number,
  mult: number,
  upper: Float64Array,
  middle: Float64Array,
  lower: Float64Array,
): void {
  ewm(bars.close, spanAlpha(period), false, middle)
  atrSma(bars, atrPeriod, lower)
  for (let i = 0; i < bars.length; i++) {
    const band = mult * lower[i]
    upper[i] = middle[i] + band
    lower[i] = middle[i] - band
  }
}

export const keltnerchannels = defineIndicator({
  type: 'keltnerchannels',
  title: 'Keltner Channels (EMA ± ATR)',
  aliases: ['keltnerchannelsindicator', 'keltner', 'kc'],
  params: { period: int(20, 2, 500), atr_period: int(10, 2, 200), multiplier: float(2.0, 0, 10, true) },
  outputs: () => ['upper', 'middle', 'lower'],
  multiOutput: true,
  minBars: (p) => Math.max(num(p, 'period'), num(p, 'atr_period')) + 1,
  warmup: (p) => num(p, 'atr_period') - 1,
  compute(bars, p) {
    const len = bars.length
    const upper = new Float64Array(len)
    const middle = new Float64Array(len)
    const lower = new Float64Array(len)
    keltner(bars, num(p, 'period'), num(p, 'atr_period'), num(p, 'multiplier'), upper, middle, lower)
    return { upper, middle, lower }
  },
})

export const donchianchannels = defineIndicator({
  type: 'donchianchannels',
  title: 'Donchian Channels (highest high, lowest low)',
  aliases: ['donchianchannelsindicator', 'donchian'],
  // include_middle is accepted for compatibility; `middle` is a declared output, so it is always
  // computed (a declared output that is sometimes missing would break feature resolution).
  params: { period: int(20, 2, 500), include_middle: bool(true) },
  outputs: () => ['upper', 'middle', 'lower'],
  multiOutput: true,
  minBars: (p) => num(p, 'period'),
  warmup: (p) => num(p, 'period') - 1,
  compute(bars, p) {
    const n = num(p, 'period')
    const len = bars.length
    const upper = rollingExtreme(bars.high, n, true, new Float64Array(len))
    const lower = rollingExtreme(bars.low, n, false, new Float64Array(len))
    const middle = new Float64Array(len)
    for (let i = 0; i < len; i++) middle[i] = (upper[i] + lower[i]) / 2
    return { upper, middle, lower }
  },
})

// KTRDR builds the squeeze's Keltner leg with its default atr_period of 10.
const SQUEEZE_ATR_PERIOD = 10

export const squeezeintensity = defineIndicator({
  type: 'squeezeintensity',
  title: 'Bollinger-inside-Keltner squeeze intensity',
  aliases: ['squeezeintensityindicator', 'squeeze'],
  params: {
    bb_period: int(20, 2, 100),
    bb_multiplier: float(2.0, 0.1, 5),
    kc_period: int(20, 2, 100),
    kc_multiplier: float(2.0, 0.1, 5),
    source: source(),
  },
  outputs: () => ['squeezeintensity'],
  multiOutput: false,
  minBars: (p) => Math.max(num(p, 'bb_period'), num(p, 'kc_period'), SQUEEZE_ATR_PERIOD) + 1,
  warmup: (p) => Math.max(num(p, 'bb_period') - 1, SQUEEZE_ATR_PERIOD - 1),
  compute(bars, p) {
    const len = bars.length
    const bbU = new Float64Array(len)
    const bbM = new Float64Array(len)
    const bbL = new Float64Array(len)
    bollinger(pickSource(bars, p.source), num(p, 'bb_period'), num(p, 'bb_multiplier'), bbU, bbM, bbL)
    const kcU = new Float64Array(len)
    const kcL = new Float64Array(len)
    keltner(bars, num(p, 'kc_period'), SQUEEZE_ATR_PERIOD, num(p, 'kc_multiplier'), kcU, bbM, kcL)
    const out = bbM
    for (let i = 0; i < len; i++) {
      const range = kcU[i] - kcL[i]
      // Warm-up stays NaN until both legs exist (KTRDR gave 0.0 = "no squeeze" for the first 9 bars,
      // while its ATR was undefined, then NaN until the Bollinger bands existed).
      if (range !== range || bbU[i] !== bbU[i]) {
        out[i] = NaN
        continue
      }
      if (Math.abs(range) <= 1e-10) {
        out[i] = 0
        continue
      }
      const a = (kcU[i] - bbU[i]) / range
      const b = (bbL[i] - kcL[i]) / range
      const v = a < b ? a : b
      out[i] = v > 0 ? v : 0
    }
    return { squeezeintensity: out }
  },
})
