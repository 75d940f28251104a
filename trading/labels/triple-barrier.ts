import { KtrdrError } from '../_errors.ts'
import type { LabelSet, OhlcvSeries } from '../types.ts'
import { ewmMeanAdjusted, ewmStdAdjusted } from './_ewm.ts'
import { BUY, HOLD, SELL } from './zigzag.ts'

export interface TripleBarrierOptions {
  pt_multiplier?: number
  sl_multiplier?: number
  max_holding_period?: number
  vol_span?: number
  vol_method?: 'atr' | 'log_return'
  compute_weights?: boolean
  /** > 0 fixed CUSUM threshold, ≤ 0 automatic (multiplier × mean volatility); null/undefined off. */
  cusum_threshold?: number | null
  cusum_multiplier?: number
}

export interface TripleBarrierLabelSet extends LabelSet {
  /** Bars until the barrier hit (or max_holding_period); NaN where unlabelled. */
  holding: Float64Array
  /** Per-bar volatility estimate used for the barriers. */
  volatility: Float64Array
  /** Bars kept by the CUSUM filter (all labelled bars when the filter is off). */
  events: number
}

/** docs/domain.md#triple-barrier-labels volatility: ATR-like ewm mean of (H−L)/C, or ewm std of log returns; early holes back-filled. */
export function barrierVolatility(bars: OhlcvSeries, span: number, method: 'atr' | 'log_return'): Float64Array {
  const n = bars.length
  const x = new Float64Array(n)
  if (method === 'atr') for (let t = 0; t < n; t++) x[t] = (bars.high[t] - bars.low[t]) / bars.close[t]
  else {
    x[0] = Number.NaN
    for (let t = 1; t < n; t++) x[t] = Math.log(bars.close[t] / bars.close[t - 1])
  }
  const vol = method === 'atr' ? ewmMeanAdjusted(x, span) : ewmStdAdjusted(x, span)
  if (span < n) {
    const fill = vol[span]
    for (let t = 0; t < span; t++) if (!(vol[t] === vol[t]) || vol[t] === 0) vol[t] = fill
  }
  return vol
}

/** Symmetric CUSUM on log returns (López de Prado): the side that crosses h fires and resets. `h` may vary per bar. */
export function cusumEvents(close: Float64Array, threshold: number | Float64Array): Uint8Array {
  const n = close.length
  const ev = new Uint8Array(n)
  let sPos = 0,
    sNeg = 0
  for (let t = 1; t < n; t++) {
    const r = Math.log(close[t] / close[t - 1])
    if (r !== r) continue
    sPos = Math.max(0, sPos + r)
    sNeg = Math.min(0, sNeg + r)
    const h = typeof threshold === 'number' ? threshold : threshold[t]
    if (sNeg < -h) {
      sNeg = 0
      ev[t] = 1
    } else if (sPos > h) {
      sPos = 0
      ev[t] = 1
    }
  }
  return ev
}

export function tripleBarrierLabels(bars: OhlcvSeries, options: TripleBarrierOptions = {}): TripleBarrierLabelSet {
  const pt = options.pt_multiplier ?? 2.0
  const sl = options.sl_multiplier ?? 1.5
  const maxHold = options.max_holding_period ?? 50
  const span = options.vol_span ?? 50
  const method = options.vol_method ?? 'atr'
  const n = bars.length
  if (n < maxHold + span) {
    throw new KtrdrError({
      code: 'DATA_INSUFFICIENT',
      message: `triple_barrier needs at least max_holding_period + vol_span = ${maxHold + span} bars, got ${n}: load a longer range`,
    })
  }
  const { high, low, close } = bars
  const vol = barrierVolatility(bars, span, method)
  const len = n - maxHold
  const values = new Float64Array(n).fill(Number.NaN)
  const holding = new Float64Array(n).fill(Number.NaN)
  const timeBand = Math.sqrt(maxHold) * 0.5
  for (let t = 0; t < len; t++) {
    const entry = close[t]
    const v = vol[t]
    const upper = entry * (1 + pt * v)
    const lower = entry * (1 - sl * v)
    let label = 0
    let hold = maxHold
    let hit = false
    for (let dt = 1; dt <= maxHold; dt++) {
      const k = t + dt
      const up = high[k] >= upper
      const dn = low[k] <= lower
      if (up || dn) {
        label = up && dn ? (close[k] >= entry ? 1 : -1) : up ? 1 : -1
        hold = dt
        hit = true
        break
      }
    }
    if (!hit) {
      const ret = close[t + maxHold] / entry - 1
      label = Math.abs(ret) < v * timeBand ? 0 : ret > 0 ? 1 : ret < 0 ? -1 : 0
    }
    values[t] = label === 1 ? BUY : label === -1 ? SELL : HOLD
    holding[t] = hold
  }
  // A label reads up to its barrier hit (or the time-out); the first vol_span bars also read
  // bar vol_span through the back-filled volatility.
  const resolvedAt = new Int32Array(n).fill(n)
  for (let t = 0; t < len; t++) resolvedAt[t] = Math.max(t + holding[t], span < n && t < span ? span : 0)
  let events = len
  if (options.cusum_threshold !== undefined && options.cusum_threshold !== null) {
    let h: number | Float64Array = options.cusum_threshold
    if (!(h > 0)) {
      // Automatic: multiplier × the mean volatility SO FAR (expanding mean), so that whether a
      // bar is an event never depends on later bars; a full-series mean would let the data after
      // a split boundary decide which training bars get a label.
      const std = ewmStdAdjusted(logReturns(close), span)
      const m = options.cusum_multiplier ?? 0.5
      const th = new Float64Array(n)
      let s = 0,
        c = 0
      for (let t = 0; t < n; t++) {
        if (std[t] === std[t]) {
          s += std[t]
          c++
        }
        th[t] = m * (c ? s / c : 0)
      }
      h = th
    }
    const ev = cusumEvents(close, h)
    events = 0
    for (let t = 0; t < len; t++) {
      if (ev[t]) events++
      else {
        values[t] = Number.NaN
        holding[t] = Number.NaN
      }
    }
  }
  const out: TripleBarrierLabelSet = {
    kind: 'classification',
    values,
    length: len,
    numClasses: 3,
    holding,
    volatility: vol,
    events,
    resolvedAt,
  }
  if (options.compute_weights) out.weights = uniquenessWeights(holding, len)
  return out
}

function logReturns(close: Float64Array): Float64Array {
  const r = new Float64Array(close.length)
  r[0] = Number.NaN
  for (let t = 1; t < close.length; t++) r[t] = Math.log(close[t] / close[t - 1])
  return r
}

/**
 * Average uniqueness: sample i spans bars [i, i + holding[i]]; concurrency[k] counts spans
 * covering k; weight_i = mean of 1/concurrency over its span, normalised to mean 1 over labelled
 * samples. Unlabelled samples (NaN holding) get weight 0.
 */
export function uniquenessWeights(holding: Float64Array, len: number): Float64Array {
  const n = holding.length
  const diff = new Float64Array(n + 2)
  for (let i = 0; i < len; i++) {
    const h = holding[i]
    if (h !== h) continue
    diff[i] += 1
    diff[Math.min(n, i + h + 1)] -= 1
  }
  const inv = new Float64Array(n + 1) // prefix sums of 1/concurrency
  let conc = 0
  for (let k = 0; k < n; k++) {
    conc += diff[k]
    inv[k + 1] = inv[k] + (conc > 0 ? 1 / conc : 0)
  }
  const w = new Float64Array(n)
  let sum = 0,
    count = 0
  for (let i = 0; i < len; i++) {
    const h = holding[i]
    if (h !== h) continue
    const end = Math.min(n - 1, i + h)
    w[i] = (inv[end + 1] - inv[i]) / (end - i + 1)
    sum += w[i]
    count++
  }
  const mean = count ? sum / count : 1
  if (mean > 0) for (let i = 0; i < len; i++) w[i] /= mean
  return w
}
