// Smoothed oscillators (docs/domain.md#indicator-catalogue: rvi, fishertransform).
import { defineIndicator, int, num } from './_define.ts'
import { rollingMean } from './_rolling.ts'
import { rollingExtreme } from './_extreme.ts'
import { ewm, spanAlpha } from './_ewm.ts'

export const rvi = defineIndicator({
  type: 'rvi',
  title: 'Relative Vigor Index',
  aliases: ['rviindicator', 'relativevigorindex'],
  params: { period: int(10, 4, 100), signal_period: int(4, 1, 50) },
  outputs: () => ['rvi', 'signal'],
  multiOutput: true,
  minBars: (p) => num(p, 'period') + 3,
  warmup: (p) => num(p, 'period') + 2,
  compute(bars, p) {
    const { open, high, low, close } = bars
    const len = bars.length
    const numW = new Float64Array(len)
    const denW = new Float64Array(len)
    for (let i = 0; i < len; i++) {
      if (i < 3) {
        numW[i] = NaN
        denW[i] = NaN
        continue
      }
      numW[i] =
        (close[i - 3] - open[i - 3] + 2 * (close[i - 2] - open[i - 2]) + 2 * (close[i - 1] - open[i - 1]) + (close[i] - open[i])) / 6
      denW[i] = (high[i - 3] - low[i - 3] + 2 * (high[i - 2] - low[i - 2]) + 2 * (high[i - 1] - low[i - 1]) + (high[i] - low[i])) / 6
    }
    const n = num(p, 'period')
    const numMa = rollingMean(numW, n, n, new Float64Array(len))
    const denMa = rollingMean(denW, n, n, numW)
    const out = numMa
    // A flat window (no range at all) has no vigor to measure: NaN, as in KTRDR.
    for (let i = 0; i < len; i++) out[i] = denMa[i] !== 0 && denMa[i] === denMa[i] ? numMa[i] / denMa[i] : NaN
    const sp = num(p, 'signal_period')
    return { rvi: out, signal: rollingMean(out, sp, sp, denW) }
  },
})

export const fishertransform = defineIndicator({
  type: 'fishertransform',
  title: 'Ehlers Fisher Transform',
  aliases: ['fishertransformindicator', 'fisher'],
  params: { period: int(10, 2, 100), smoothing: int(3, 1, 20) },
  outputs: () => ['fisher', 'signal'],
  multiOutput: true,
  minBars: (p) => num(p, 'period') + num(p, 'smoothing'),
  warmup: (p) => num(p, 'period') - 1,
  compute(bars, p) {
    const n = num(p, 'period')
    const { high, low } = bars
    const len = bars.length
    const hh = rollingExtreme(high, n, true, new Float64Array(len))
    const ll = rollingExtreme(low, n, false, new Float64Array(len))
    const f = hh
    for (let i = 0; i < len; i++) {
      const range = hh[i] - ll[i]
      if (range !== range) {
        f[i] = NaN
        continue
      }
      let x = range !== 0 ? (2 * ((high[i] + low[i]) / 2 - ll[i])) / range - 1 : 0
      if (x > 0.999) x = 0.999
      else if (x < -0.999) x = -0.999
      f[i] = 0.5 * Math.log((1 + x) / (1 - x))
    }
    const fisher = ewm(f, spanAlpha(num(p, 'smoothing')), false, new Float64Array(len))
    const signal = ll
    if (len > 0) signal[0] = NaN
    for (let i = 1; i < len; i++) signal[i] = fisher[i - 1]
    return { fisher, signal }
  },
})
