// Moving averages and MACD (docs/domain.md#indicator-catalogue: sma, ema, wma, macd).
import { alias, defineIndicator, int, bool, source, num, flag, pickSource } from './_define.ts'
import { rollingMean } from './_rolling.ts'
import { ewm, spanAlpha } from './_ewm.ts'

export const sma = defineIndicator({
  type: 'sma',
  title: 'Simple moving average',
  aliases: ['simplemovingaverage'],
  params: { period: int(20, 2, 500), source: source() },
  outputs: () => ['sma'],
  multiOutput: false,
  minBars: (p) => num(p, 'period'),
  warmup: (p) => num(p, 'period') - 1,
  compute(bars, p) {
    const n = num(p, 'period')
    return { sma: rollingMean(pickSource(bars, p.source), n, n, new Float64Array(bars.length)) }
  },
})

// [QUIRK] KTRDR's EMA multiplies by a bias vector when the series starts 100,…,140 (a test hack);
// this is plain pandas ewm(span, adjust). adjust defaults to true as in KTRDR.
export const ema = defineIndicator({
  type: 'ema',
  title: 'Exponential moving average',
  aliases: ['exponentialmovingaverage'],
  params: { period: int(20, 1, 500), source: source(), adjust: bool(true) },
  outputs: () => ['ema'],
  multiOutput: false,
  minBars: (p) => num(p, 'period'),
  warmup: () => 0,
  compute(bars, p) {
    return { ema: ewm(pickSource(bars, p.source), spanAlpha(num(p, 'period')), flag(p, 'adjust'), new Float64Array(bars.length)) }
  },
})

/** Linear-weighted mean (weights 1..n, newest heaviest) with O(1) updates. */
export function weightedMean(src: Float64Array, n: number, out: Float64Array): Float64Array {
  const len = src.length
  const wsum = (n * (n + 1)) / 2
  let s = 0 // Σ window x
  let ws = 0 // Σ k·x, k = 1 (oldest) … n (newest)
  let lastNan = -Infinity
  let valid = false
  // Incremental sums are refreshed exactly every RESYNC bars so rounding cannot accumulate.
  const RESYNC = 1024
  let sinceSync = 0
  for (let i = 0; i < len; i++) {
    const x = src[i]
    if (x !== x) {
      lastNan = i
      valid = false
      out[i] = NaN
      continue
    }
    if (i - lastNan < n || i < n - 1) {
      out[i] = NaN
      continue
    }
    if (!valid || ++sinceSync >= RESYNC) {
      s = 0
      ws = 0
      for (let k = 1; k <= n; k++) {
        const v = src[i - n + k]
        s += v
        ws += k * v
      }
      valid = true
      sinceSync = 0
    } else {
      ws += n * x - s
      s += x - src[i - n]
    }
    out[i] = ws / wsum
  }
  return out
}

export const wma = defineIndicator({
  type: 'wma',
  title: 'Linearly weighted moving average',
  aliases: ['weightedmovingaverage'],
  params: { period: int(20, 2, 500), source: source() },
  outputs: () => ['wma'],
  multiOutput: false,
  minBars: (p) => num(p, 'period'),
  warmup: (p) => num(p, 'period') - 1,
  compute(bars, p) {
    return { wma: weightedMean(pickSource(bars, p.source), num(p, 'period'), new Float64Array(bars.length)) }
  },
})

export const macd = defineIndicator({
  type: 'macd',
  title: 'Moving Average Convergence Divergence',
  aliases: ['macdindicator'],
  // `fast`/`slow`/`signal` are how the shipped v3 strategies spell them (docs/decisions.md#indicators).
  params: {
    fast_period: alias(int(12, 1, 100), 'fast'),
    slow_period: alias(int(26, 1, 200), 'slow'),
    signal_period: alias(int(9, 1, 50), 'signal'),
    source: source(),
  },
  outputs: () => ['line', 'signal', 'histogram'],
  multiOutput: true,
  minBars: (p) => Math.max(num(p, 'fast_period'), num(p, 'slow_period')) + num(p, 'signal_period'),
  warmup: () => 0,
  compute(bars, p) {
    const src = pickSource(bars, p.source)
    const len = bars.length
    const af = spanAlpha(num(p, 'fast_period'))
    const as = spanAlpha(num(p, 'slow_period'))
    const ag = spanAlpha(num(p, 'signal_period'))
    const line = new Float64Array(len)
    const signal = new Float64Array(len)
    const histogram = new Float64Array(len)
    if (macdFused(src, af, as, ag, line, signal, histogram)) return { line, signal, histogram }
    // General path (NaN in the source, or a span whose 1−α+α is not exactly 1): three ewm passes.
    ewm(src, af, false, line)
    ewm(src, as, false, histogram)
    for (let i = 0; i < len; i++) line[i] -= histogram[i]
    ewm(line, ag, false, signal)
    for (let i = 0; i < len; i++) histogram[i] = line[i] - signal[i]
    return { line, signal, histogram }
  },
})

/**
 * The three ewm(adjust=False) recursions of MACD fused into one pass (the 1−α+α divisor is the
 * identity; like ewm's fast path it omits pandas' skip-when-equal shortcut, see _ewm.ts). Returns false — leaving the caller to
 * take the general path — when the source has NaN or a divisor is not exactly 1.
 */
function macdFused(
  src: Float64Array,
  af: number,
  as: number,
  ag: number,
  line: Float64Array,
  signal: Float64Array,
  histogram: Float64Array,
): boolean {
  const len = src.length
  if (len === 0) return true
  const df = 1 - af
  const ds = 1 - as
  const dg = 1 - ag
  if (df + af !== 1 || ds + as !== 1 || dg + ag !== 1) return false
  let f = src[0]
  let s = f
  if (f !== f) return false
  let g = f - s
  line[0] = g
  signal[0] = g
  histogram[0] = 0
  for (let i = 1; i < len; i++) {
    const x = src[i]
    if (x !== x) return false
    f = df * f + af * x
    s = ds * s + as * x
    const m = f - s
    g = dg * g + ag * m
    line[i] = m
    signal[i] = g
    histogram[i] = m - g
  }
  return true
}
