// Volume-based indicators (docs/domain.md#indicator-catalogue: obv, vwap, mfi, cmf, adline, volumeratio).
import type { OhlcvSeries } from '../types.ts'
import { KtrdrError } from '../_errors.ts'
import { defineIndicator, int, bool, num, flag, typicalPrice } from './_define.ts'
import { rollingMean, rollingSum } from './_rolling.ts'
import { ewm, spanAlpha } from './_ewm.ts'

const finiteOrNaN = (v: number): number => (v === Infinity || v === -Infinity ? NaN : v)

export const obv = defineIndicator({
  type: 'obv',
  title: 'On-balance volume',
  aliases: ['obvindicator', 'onbalancevolume'],
  params: {},
  outputs: () => ['obv'],
  multiOutput: false,
  minBars: () => 1,
  warmup: () => 0,
  compute(bars) {
    const { close, volume } = bars
    const out = new Float64Array(bars.length)
    let acc = 0
    for (let i = 1; i < bars.length; i++) {
      const d = close[i] - close[i - 1]
      acc += d > 0 ? volume[i] : d < 0 ? -volume[i] : 0
      out[i] = acc
    }
    return { obv: out }
  },
})

export const vwap = defineIndicator({
  type: 'vwap',
  title: 'Volume-weighted average price (rolling or cumulative)',
  aliases: ['vwapindicator'],
  params: { period: int(20, 0, 200), use_typical_price: bool(true) },
  outputs: () => ['vwap'],
  multiOutput: false,
  minBars: (p) => Math.max(1, num(p, 'period')),
  warmup: () => 0,
  compute(bars, p) {
    const len = bars.length
    const price = flag(p, 'use_typical_price') ? typicalPrice(bars) : bars.close
    const v = bars.volume
    const n = num(p, 'period')
    const out = new Float64Array(len)
    if (n === 0) {
      let pv = 0
      let vs = 0
      for (let i = 0; i < len; i++) {
        pv += price[i] * v[i]
        vs += v[i]
        out[i] = vs === 0 ? NaN : finiteOrNaN(pv / vs)
      }
      return { vwap: out }
    }
    const pvArr = new Float64Array(len)
    for (let i = 0; i < len; i++) pvArr[i] = price[i] * v[i]
    // rollingSum reads src[i − n] after writing out[i]: it cannot run in place.
    const pvSum = rollingSum(pvArr, n, 1, new Float64Array(len))
    const vSum = rollingSum(v, n, 1, out)
    for (let i = 0; i < len; i++) out[i] = vSum[i] === 0 ? NaN : finiteOrNaN(pvSum[i] / vSum[i])
    return { vwap: out }
  },
})

// Decision (docs/decisions.md#indicators): forex series carry volume −1 as "unknown". MFI weights price by volume, so
// any negative volume makes every value meaningless; rather than return plausible-looking noise
// (or silently all-NaN features), MFI rejects such a series with an error saying what to do.
function assertVolumeKnown(bars: OhlcvSeries, type: string): void {
  let bad = 0
  let first = -1
  const v = bars.volume
  for (let i = 0; i < v.length; i++)
    if (v[i] < 0) {
      if (first < 0) first = i
      bad++
    }
  if (bad > 0) {
    throw new KtrdrError({
      code: 'INDICATOR_INVALID_DATA',
      message: `${type} needs real volume, but ${bars.symbol || 'the series'} ${bars.timeframe || ''} has ${bad} bars with negative volume (first at bar ${first}; −1 is the forex "no volume" sentinel). Use a price-only indicator (e.g. rsi) for this instrument, or data with volume.`,
      details: { negativeVolumeBars: bad, firstBar: first },
    })
  }
}

export const mfi = defineIndicator({
  type: 'mfi',
  title: 'Money Flow Index',
  aliases: ['mfiindicator', 'moneyflowindex'],
  params: { period: int(14, 1, 100) },
  outputs: () => ['mfi'],
  multiOutput: false,
  minBars: (p) => num(p, 'period') + 1,
  warmup: (p) => num(p, 'period'),
  compute(bars, p) {
    assertVolumeKnown(bars, 'mfi')
    const n = num(p, 'period')
    const len = bars.length
    const tp = typicalPrice(bars)
    const pos = new Float64Array(len)
    const neg = new Float64Array(len)
    for (let i = 1; i < len; i++) {
      const d = tp[i] - tp[i - 1]
      const flow = tp[i] * bars.volume[i]
      pos[i] = d > 0 ? flow : 0
      neg[i] = d < 0 ? flow : 0
    }
    // rollingSum reads an exact 0 for windows without flows, which the 100/0 rules below need.
    const posSum = rollingSum(pos, n, n, new Float64Array(len))
    const negSum = rollingSum(neg, n, n, pos)
    const out = neg
    for (let i = 0; i < len; i++) {
      if (i < n) {
        out[i] = NaN
        continue
      }
      const pf = posSum[i]
      const nf = negSum[i]
      out[i] = nf === 0 ? 100 : pf === 0 ? 0 : 100 - 100 / (1 + pf / nf)
    }
    return { mfi: out }
  },
})

/** Money-flow multiplier ((C−L)−(H−C))/(H−L), 0 on a zero range, and MF volume. */
function moneyFlow(bars: OhlcvSeries, mfm: Float64Array, mfv: Float64Array): void {
  const { high, low, close, volume } = bars
  for (let i = 0; i < bars.length; i++) {
    const range = high[i] - low[i]
    const m = range !== 0 ? (close[i] - low[i] - (high[i] - close[i])) / range : 0
    mfm[i] = m
    mfv[i] = m * volume[i]
  }
}

export const cmf = defineIndicator({
  type: 'cmf',
  title: 'Chaikin Money Flow and its derived series',
  aliases: ['cmfindicator', 'chaikinmoneyflow'],
  params: { period: int(21, 2, 500) },
  outputs: () => ['cmf', 'mf_multiplier', 'mf_volume', 'momentum', 'signal', 'histogram', 'above_zero', 'below_zero'],
  multiOutput: true,
  minBars: (p) => num(p, 'period'),
  warmup: (p) => num(p, 'period') - 1,
  compute(bars, p) {
    const n = num(p, 'period')
    const len = bars.length
    const mfm = new Float64Array(len)
    const mfv = new Float64Array(len)
    moneyFlow(bars, mfm, mfv)
    const c = rollingSum(mfv, n, n, new Float64Array(len))
    const vs = rollingSum(bars.volume, n, n, new Float64Array(len))
    for (let i = 0; i < len; i++) c[i] = c[i] !== c[i] ? NaN : vs[i] !== 0 ? c[i] / vs[i] : 0
    const momentum = vs
    for (let i = 0; i < len; i++) momentum[i] = i >= 5 ? c[i] - c[i - 5] : NaN
    const signal = ewm(c, spanAlpha(9), false, new Float64Array(len))
    const histogram = new Float64Array(len)
    const above = new Float64Array(len)
    const below = new Float64Array(len)
    for (let i = 0; i < len; i++) {
      histogram[i] = c[i] - signal[i]
      // Flags are 1/0 once CMF exists; NaN while it warms up (pandas would say False).
      above[i] = c[i] !== c[i] ? NaN : c[i] > 0 ? 1 : 0
      below[i] = c[i] !== c[i] ? NaN : c[i] < 0 ? 1 : 0
    }
    return { cmf: c, mf_multiplier: mfm, mf_volume: mfv, momentum, signal, histogram, above_zero: above, below_zero: below }
  },
})

export const adline = defineIndicator({
  type: 'adline',
  title: 'Accumulation/Distribution line and its derived series',
  aliases: ['adlineindicator', 'accumulationdistribution', 'ad'],
  params: { use_sma_smoothing: bool(false), smoothing_period: int(21, 2, 200) },
  outputs: (p) => {
    const names = ['line', 'mf_multiplier', 'mf_volume', 'roc_10', 'momentum_21', 'relative_strength']
    return p.use_sma_smoothing === true ? [...names, `line_sma_${num(p, 'smoothing_period')}`] : names
  },
  multiOutput: true,
  minBars: (p) => (flag(p, 'use_sma_smoothing') ? num(p, 'smoothing_period') : 1),
  warmup: () => 0,
  compute(bars, p) {
    const len = bars.length
    const mfm = new Float64Array(len)
    const mfv = new Float64Array(len)
    moneyFlow(bars, mfm, mfv)
    const line = new Float64Array(len)
    let acc = 0
    for (let i = 0; i < len; i++) {
      acc += mfv[i]
      line[i] = acc
    }
    const roc = new Float64Array(len)
    const mom = new Float64Array(len)
    for (let i = 0; i < len; i++) {
      roc[i] = i >= 10 ? finiteOrNaN((line[i] / line[i - 10] - 1) * 100) : NaN
      mom[i] = i >= 21 ? line[i] - line[i - 21] : NaN
    }
    const rs = rollingMean(line, 50, 20, new Float64Array(len))
    for (let i = 0; i < len; i++) rs[i] = finiteOrNaN((line[i] / rs[i] - 1) * 100)
    const out: Record<string, Float64Array> = {
      line,
      mf_multiplier: mfm,
      mf_volume: mfv,
      roc_10: roc,
      momentum_21: mom,
      relative_strength: rs,
    }
    if (flag(p, 'use_sma_smoothing')) {
      const n = num(p, 'smoothing_period')
      out[`line_sma_${n}`] = rollingMean(line, n, n, new Float64Array(len))
    }
    return out
  },
})

export const volumeratio = defineIndicator({
  type: 'volumeratio',
  title: 'Volume over its simple moving average',
  aliases: ['volumeratioindicator'],
  params: { period: int(20, 2, 100) },
  outputs: () => ['volumeratio'],
  multiOutput: false,
  minBars: (p) => num(p, 'period'),
  warmup: (p) => num(p, 'period') - 1,
  compute(bars, p) {
    const n = num(p, 'period')
    const v = bars.volume
    const out = rollingMean(v, n, n, new Float64Array(bars.length))
    for (let i = 0; i < out.length; i++) {
      const m = out[i]
      out[i] = m !== m ? NaN : Math.abs(m) <= 1e-10 ? 1 : v[i] / m
    }
    return { volumeratio: out }
  },
})
