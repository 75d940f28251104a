// distancefromma and zigzag (docs/domain.md#indicator-catalogue).
import { defineIndicator, int, float, oneOf, source, num, pickSource } from './_define.ts'
import { rollingMean } from './_rolling.ts'
import { ewm, spanAlpha } from './_ewm.ts'

export const distancefromma = defineIndicator({
  type: 'distancefromma',
  title: 'Percent distance of price from a moving average',
  aliases: ['distancefrommaindicator'],
  params: { period: int(20, 1, 200), ma_type: oneOf('SMA', ['SMA', 'EMA']), source: source() },
  outputs: () => ['distancefromma'],
  multiOutput: false,
  minBars: (p) => num(p, 'period'),
  warmup: (p) => (p.ma_type === 'EMA' ? 0 : num(p, 'period') - 1),
  compute(bars, p) {
    const src = pickSource(bars, p.source)
    const n = num(p, 'period')
    const len = src.length
    // KTRDR's EMA default is adjust=True, and DistanceFromMA uses that default.
    const ma = p.ma_type === 'EMA' ? ewm(src, spanAlpha(n), true, new Float64Array(len)) : rollingMean(src, n, n, new Float64Array(len))
    for (let i = 0; i < len; i++) {
      const m = ma[i]
      ma[i] = m !== m ? NaN : Math.abs(m) <= 1e-10 ? 0 : ((src[i] - m) / m) * 100
    }
    return { distancefromma: ma }
  },
})

/**
 * ZigZag pivots (docs/domain.md#zigzag-labels): value at pivot bars, NaN elsewhere. Bar 0 is always a pivot; while the
 * direction is unknown the first move ≥ threshold sets it; an extension of the current leg MOVES
 * the last pivot (the old one is erased). Because of that erasure the series is not causal — a
 * later bar can rewrite an earlier value — so it is a labelling tool, not a feature input.
 */
export function zigzagPivots(src: Float64Array, threshold: number, out: Float64Array): Float64Array {
  const len = src.length
  out.fill(NaN)
  if (len === 0) return out
  let lastIdx = 0
  let lastPrice = src[0]
  let dir = 0
  out[0] = lastPrice
  for (let i = 1; i < len; i++) {
    const x = src[i]
    if (x !== x) continue
    const change = (x - lastPrice) / lastPrice
    if (dir === 0) {
      if (Math.abs(change) >= threshold) {
        dir = change > 0 ? 1 : -1
        out[i] = x
        lastIdx = i
        lastPrice = x
      }
    } else if (dir === 1) {
      if (x > lastPrice) {
        out[lastIdx] = NaN
        out[i] = x
        lastIdx = i
        lastPrice = x
      } else if (change <= -threshold) {
        dir = -1
        out[i] = x
        lastIdx = i
        lastPrice = x
      }
    } else {
      if (x < lastPrice) {
        out[lastIdx] = NaN
        out[i] = x
        lastIdx = i
        lastPrice = x
      } else if (change >= threshold) {
        dir = 1
        out[i] = x
        lastIdx = i
        lastPrice = x
      }
    }
  }
  return out
}

export const zigzag = defineIndicator({
  type: 'zigzag',
  title: 'ZigZag pivots (value at pivots, NaN elsewhere)',
  aliases: ['zigzagindicator'],
  params: { threshold: float(0.05, 0, 1, true), source: source() },
  outputs: () => ['zigzag'],
  multiOutput: false,
  minBars: () => 3,
  warmup: () => 0,
  compute: (bars, p) => ({ zigzag: zigzagPivots(pickSource(bars, p.source), num(p, 'threshold'), new Float64Array(bars.length)) }),
})
