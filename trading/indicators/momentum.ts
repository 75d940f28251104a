// Momentum oscillators (docs/domain.md#indicator-catalogue: rsi, roc, momentum, cci, williamsr, stochastic).
import { defineIndicator, int, source, num, pickSource, typicalPrice } from './_define.ts'
import { rollingMean } from './_rolling.ts'
import { rollingExtreme } from './_extreme.ts'

export const rsi = defineIndicator({
  type: 'rsi',
  title: 'Relative Strength Index (Wilder)',
  aliases: ['rsiindicator'],
  params: { period: int(14, 2, 100), source: source() },
  outputs: () => ['rsi'],
  multiOutput: false,
  minBars: (p) => num(p, 'period') + 1,
  warmup: (p) => num(p, 'period'),
  compute: (bars, p) => ({ rsi: wilderRsi(pickSource(bars, p.source), num(p, 'period'), new Float64Array(bars.length)) }),
})

/** Wilder RSI: seed = plain mean of the first `period` changes (bars 1..period), then Wilder's update. */
export function wilderRsi(src: Float64Array, n: number, out: Float64Array): Float64Array {
  const len = src.length
  const lim = Math.min(n, len)
  for (let i = 0; i < lim; i++) out[i] = NaN
  if (len <= n) return out
  let g = 0
  let l = 0
  for (let i = 1; i <= n; i++) {
    const d = src[i] - src[i - 1]
    g += d > 0 ? d : 0
    l += d < 0 ? -d : 0
  }
  g /= n
  l /= n
  const m = n - 1
  out[n] = l !== 0 ? 100 - 100 / (1 + g / l) : g > 0 ? 100 : 50
  for (let i = n + 1; i < len; i++) {
    const d = src[i] - src[i - 1]
    g = (g * m + (d > 0 ? d : 0)) / n
    l = (l * m + (d < 0 ? -d : 0)) / n
    out[i] = l !== 0 ? 100 - 100 / (1 + g / l) : g > 0 ? 100 : 50
  }
  return out
}

export const roc = defineIndicator({
  type: 'roc',
  title: 'Rate of change, percent',
  aliases: ['rocindicator', 'rateofchange'],
  params: { period: int(10, 1, 100), source: source() },
  outputs: () => ['roc'],
  multiOutput: false,
  minBars: (p) => num(p, 'period') + 1,
  warmup: (p) => num(p, 'period'),
  compute(bars, p) {
    const src = pickSource(bars, p.source)
    const n = num(p, 'period')
    const out = new Float64Array(src.length)
    for (let i = 0; i < src.length; i++) {
      if (i < n) {
        out[i] = NaN
        continue
      }
      const prev = src[i - n]
      const v = (100 * (src[i] - prev)) / prev
      // A zero reference price gives ±inf, which is not a usable feature value.
      out[i] = v === Infinity || v === -Infinity ? NaN : v
    }
    return { roc: out }
  },
})

export const momentum = defineIndicator({
  type: 'momentum',
  title: 'Price change over a period',
  aliases: ['momentumindicator'],
  params: { period: int(10, 1, 100), source: source() },
  outputs: () => ['momentum'],
  multiOutput: false,
  minBars: (p) => num(p, 'period') + 1,
  warmup: (p) => num(p, 'period'),
  compute(bars, p) {
    const src = pickSource(bars, p.source)
    const n = num(p, 'period')
    const out = new Float64Array(src.length)
    for (let i = 0; i < src.length; i++) out[i] = i < n ? NaN : src[i] - src[i - n]
    return { momentum: out }
  },
})

// Mean absolute deviation has no O(1) sliding update (the centre moves), so the inner loop is
// O(period) per bar; period is capped at 100, so this stays bounded at ~100 ops/bar.
export const cci = defineIndicator({
  type: 'cci',
  title: 'Commodity Channel Index',
  aliases: ['cciindicator', 'commoditychannelindex'],
  params: { period: int(20, 2, 100) },
  outputs: () => ['cci'],
  multiOutput: false,
  minBars: (p) => num(p, 'period'),
  warmup: (p) => num(p, 'period') - 1,
  compute(bars, p) {
    const n = num(p, 'period')
    const tp = typicalPrice(bars)
    const len = tp.length
    const out = new Float64Array(len)
    for (let i = 0; i < len; i++) {
      if (i < n - 1) {
        out[i] = NaN
        continue
      }
      let s = 0
      for (let j = i - n + 1; j <= i; j++) s += tp[j]
      const mean = s / n
      let dev = 0
      for (let j = i - n + 1; j <= i; j++) dev += Math.abs(tp[j] - mean)
      const mad = dev / n
      // A flat window has no deviation: the price sits exactly on its mean, so CCI is 0.
      out[i] = mad === 0 ? 0 : (tp[i] - mean) / (0.015 * mad)
    }
    return { cci: out }
  },
})

export const williamsr = defineIndicator({
  type: 'williamsr',
  title: 'Williams %R',
  aliases: ['williamsrindicator', 'williams_r', 'willr'],
  params: { period: int(14, 1, 100) },
  outputs: () => ['williamsr'],
  multiOutput: false,
  minBars: (p) => num(p, 'period'),
  warmup: (p) => num(p, 'period') - 1,
  compute(bars, p) {
    const n = num(p, 'period')
    const len = bars.length
    const hh = rollingExtreme(bars.high, n, true, new Float64Array(len))
    const out = rollingExtreme(bars.low, n, false, new Float64Array(len))
    const c = bars.close
    for (let i = 0; i < len; i++) {
      const ll = out[i]
      if (ll !== ll || hh[i] !== hh[i]) {
        out[i] = NaN
        continue
      }
      const range = hh[i] - ll
      // A zero range (0/0) reads as the neutral −50; warm-up bars stay NaN.
      out[i] = range === 0 ? -50 : (-100 * (hh[i] - c[i])) / range
    }
    return { williamsr: out }
  },
})

export const stochastic = defineIndicator({
  type: 'stochastic',
  title: 'Stochastic oscillator %K/%D',
  aliases: ['stochasticindicator', 'stoch'],
  params: { k_period: int(14, 1, 100), d_period: int(3, 1, 20), smooth_k: int(3, 1, 20) },
  outputs: () => ['k', 'd'],
  multiOutput: true,
  minBars: (p) => Math.max(num(p, 'k_period'), num(p, 'smooth_k')) + num(p, 'd_period'),
  warmup: (p) => num(p, 'k_period') - 1,
  compute(bars, p) {
    const n = num(p, 'k_period')
    const sk = num(p, 'smooth_k')
    const len = bars.length
    const hh = rollingExtreme(bars.high, n, true, new Float64Array(len))
    const raw = rollingExtreme(bars.low, n, false, new Float64Array(len))
    const c = bars.close
    for (let i = 0; i < len; i++) {
      const ll = raw[i]
      if (ll !== ll || hh[i] !== hh[i]) {
        raw[i] = NaN
        continue
      }
      const range = hh[i] - ll
      raw[i] = range === 0 ? 50 : (100 * (c[i] - ll)) / range
    }
    // rolling(min_periods=1): the first smoothed bars average the raw values available so far.
    const k = sk > 1 ? rollingMean(raw, sk, 1, hh) : raw
    const d = rollingMean(k, num(p, 'd_period'), 1, new Float64Array(len))
    return { k, d }
  },
})
