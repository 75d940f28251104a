// Trend-direction systems (docs/domain.md#indicator-catalogue: adx, aroon, supertrend, parabolicsar, ichimoku).
import { defineIndicator, int, float, bool, num } from './_define.ts'
import { rollingExtreme } from './_extreme.ts'
import { atrSma } from './volatility.ts'

export const adx = defineIndicator({
  type: 'adx',
  title: 'Average Directional Index with +DI/−DI',
  aliases: ['adxindicator', 'averagedirectionalindex'],
  params: { period: int(14, 2, 200) },
  outputs: () => ['adx', 'plus_di', 'minus_di'],
  multiOutput: true,
  minBars: (p) => 2 * num(p, 'period') + 1,
  // pandas ewm(adjust=False) has no NaN prefix: every output is defined from bar 0.
  warmup: () => 0,
  compute(bars, p) {
    const n = num(p, 'period')
    const { high, low, close } = bars
    const len = bars.length
    const adxOut = new Float64Array(len)
    const plus = new Float64Array(len)
    const minus = new Float64Array(len)
    if (len === 0) return { adx: adxOut, plus_di: plus, minus_di: minus }
    const a = 1 / n
    const decay = 1 - a
    // Wilder(n) = ewm(alpha=1/n, adjust=False), fused for TR, +DM, −DM and DX in one pass
    // (divide by decay+alpha only when it is not exactly 1; no skip-when-equal, see _ewm.ts).
    const denom = decay + a
    let trS = high[0] - low[0]
    let pS = 0
    let mS = 0
    let dxS = 0
    for (let i = 0; i < len; i++) {
      if (i > 0) {
        const h = high[i]
        const l = low[i]
        const pc = close[i - 1]
        const tr = Math.max(h - l, Math.abs(h - pc), Math.abs(l - pc))
        const up = h - high[i - 1]
        const down = low[i - 1] - l
        const pdm = up > down && up > 0 ? up : 0
        const mdm = down > up && down > 0 ? down : 0
        trS = denom === 1 ? decay * trS + a * tr : (decay * trS + a * tr) / denom
        pS = denom === 1 ? decay * pS + a * pdm : (decay * pS + a * pdm) / denom
        mS = denom === 1 ? decay * mS + a * mdm : (decay * mS + a * mdm) / denom
      }
      const pdi = trS !== 0 ? (pS / trS) * 100 : 0
      const mdi = trS !== 0 ? (mS / trS) * 100 : 0
      const sum = pdi + mdi
      const dx = sum !== 0 ? (Math.abs(pdi - mdi) / sum) * 100 : 0
      if (i === 0) dxS = dx
      else dxS = denom === 1 ? decay * dxS + a * dx : (decay * dxS + a * dx) / denom
      plus[i] = pdi
      minus[i] = mdi
      adxOut[i] = dxS
    }
    return { adx: adxOut, plus_di: plus, minus_di: minus }
  },
})

export const aroon = defineIndicator({
  type: 'aroon',
  title: 'Aroon up/down and oscillator',
  aliases: ['aroonindicator'],
  // The oscillator is always a declared output; include_oscillator is accepted for compatibility.
  params: { period: int(14, 1, 200), include_oscillator: bool(false) },
  outputs: () => ['up', 'down', 'oscillator'],
  multiOutput: true,
  minBars: (p) => num(p, 'period'),
  warmup: (p) => num(p, 'period') - 1,
  compute(bars, p) {
    const n = num(p, 'period')
    const len = bars.length
    const hiIdx = new Int32Array(len)
    const loIdx = new Int32Array(len)
    const up = rollingExtreme(bars.high, n, true, new Float64Array(len), hiIdx)
    const down = rollingExtreme(bars.low, n, false, new Float64Array(len), loIdx)
    const osc = new Float64Array(len)
    for (let i = 0; i < len; i++) {
      if (hiIdx[i] < 0 || loIdx[i] < 0) {
        up[i] = NaN
        down[i] = NaN
        osc[i] = NaN
        continue
      }
      up[i] = ((n - (i - hiIdx[i])) / n) * 100
      down[i] = ((n - (i - loIdx[i])) / n) * 100
      osc[i] = up[i] - down[i]
    }
    return { up, down, oscillator: osc }
  },
})

export const supertrend = defineIndicator({
  type: 'supertrend',
  title: 'SuperTrend (ATR bands that ratchet)',
  aliases: ['supertrendindicator'],
  params: { period: int(10, 2, 200), multiplier: float(3.0, 0, 10, true) },
  outputs: () => ['trend', 'direction'],
  multiOutput: true,
  minBars: (p) => num(p, 'period') + 1,
  warmup: (p) => num(p, 'period') - 1,
  compute(bars, p) {
    const n = num(p, 'period')
    const m = num(p, 'multiplier')
    const { high, low, close } = bars
    const len = bars.length
    const trend = atrSma(bars, n, new Float64Array(len))
    const direction = new Float64Array(len)
    let fu = NaN
    let fl = NaN
    let dir = 0
    for (let i = 0; i < len; i++) {
      const atr = trend[i]
      if (atr !== atr) {
        trend[i] = NaN
        direction[i] = NaN
        continue
      }
      const mid = (high[i] + low[i]) / 2
      const bu = mid + m * atr
      const bl = mid - m * atr
      // Standard ratchet. KTRDR seeded the ratchet with the NaN warm-up band and so stayed NaN
      // forever; here the first defined bar takes its basic bands.
      if (fu !== fu) {
        fu = bu
        fl = bl
      } else {
        const pc = close[i - 1]
        fu = bu < fu || pc > fu ? bu : fu
        fl = bl > fl || pc < fl ? bl : fl
      }
      const c = close[i]
      if (dir === 0) dir = c <= fl ? -1 : 1
      else if (dir === 1) dir = c <= fl ? -1 : 1
      else dir = c >= fu ? 1 : -1
      trend[i] = dir === 1 ? fl : fu
      direction[i] = dir
    }
    return { trend, direction }
  },
})

export const parabolicsar = defineIndicator({
  type: 'parabolicsar',
  title: 'Parabolic SAR (Wilder)',
  aliases: ['parabolicsarindicator', 'psar', 'sar'],
  params: { initial_af: float(0.02, 0.001, 0.1), step_af: float(0.02, 0.001, 0.1), max_af: float(0.2, 0.01, 1.0) },
  outputs: () => ['parabolicsar'],
  multiOutput: false,
  minBars: () => 2,
  warmup: () => 1,
  compute(bars, p) {
    const af0 = num(p, 'initial_af')
    const step = num(p, 'step_af')
    const afMax = num(p, 'max_af')
    const { high, low, close } = bars
    const len = bars.length
    const sar = new Float64Array(len)
    if (len === 0) return { parabolicsar: sar }
    sar[0] = NaN
    if (len < 2) return { parabolicsar: sar }
    let up = close[1] > close[0]
    let ep = up ? high[1] : low[1]
    let af = af0
    sar[1] = up ? low[0] : high[0]
    for (let i = 2; i < len; i++) {
      let s = sar[i - 1] + af * (ep - sar[i - 1])
      if (up) {
        // Classic Wilder: the SAR may not enter the prior two bars' range, then test penetration.
        if (low[i - 1] < s) s = low[i - 1]
        if (low[i - 2] < s) s = low[i - 2]
        if (low[i] <= s) {
          up = false
          s = ep
          ep = low[i]
          af = af0
        } else if (high[i] > ep) {
          ep = high[i]
          af = Math.min(af + step, afMax)
        }
      } else {
        if (high[i - 1] > s) s = high[i - 1]
        if (high[i - 2] > s) s = high[i - 2]
        if (high[i] >= s) {
          up = true
          s = ep
          ep = high[i]
          af = af0
        } else if (low[i] < ep) {
          ep = low[i]
          af = Math.min(af + step, afMax)
        }
      }
      sar[i] = s
    }
    return { parabolicsar: sar }
  },
})

export const ichimoku = defineIndicator({
  type: 'ichimoku',
  title: 'Ichimoku cloud lines',
  aliases: ['ichimokuindicator', 'ichimokucloud'],
  params: { tenkan_period: int(9, 1, 50), kijun_period: int(26, 1, 100), senkou_b_period: int(52, 1, 200), displacement: int(26, 1, 100) },
  outputs: () => ['tenkan', 'kijun', 'senkou_a', 'senkou_b', 'chikou'],
  multiOutput: true,
  minBars: (p) => Math.max(num(p, 'tenkan_period'), num(p, 'kijun_period'), num(p, 'senkou_b_period')),
  warmup: (p) => num(p, 'tenkan_period') - 1,
  compute(bars, p) {
    const len = bars.length
    const mid = (n: number): Float64Array => {
      const hh = rollingExtreme(bars.high, n, true, new Float64Array(len))
      const ll = rollingExtreme(bars.low, n, false, new Float64Array(len))
      for (let i = 0; i < len; i++) hh[i] = (hh[i] + ll[i]) / 2
      return hh
    }
    const tenkan = mid(num(p, 'tenkan_period'))
    const kijun = mid(num(p, 'kijun_period'))
    const spanB = mid(num(p, 'senkou_b_period'))
    const d = num(p, 'displacement')
    // Senkou spans are shifted FORWARD by `displacement` (the cloud at bar t was computed at
    // t − d): causal, and what a chart shows under the current bar. Chikou is the close
    // UNshifted: plotting it d bars back would put a future close on past bars (look-ahead).
    const senkouA = new Float64Array(len)
    const senkouB = new Float64Array(len)
    for (let i = 0; i < len; i++) {
      const j = i - d
      senkouA[i] = j >= 0 ? (tenkan[j] + kijun[j]) / 2 : NaN
      senkouB[i] = j >= 0 ? spanB[j] : NaN
    }
    return { tenkan, kijun, senkou_a: senkouA, senkou_b: senkouB, chikou: Float64Array.from(bars.close) }
  },
})
