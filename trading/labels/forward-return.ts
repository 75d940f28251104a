import { KtrdrError } from '../_errors.ts'
import type { LabelSet } from '../types.ts'

function checkCloses(close: Float64Array, n: number): void {
  for (let t = 0; t < n; t++) {
    if (close[t] === 0)
      throw new KtrdrError({
        code: 'LABELS_ZERO_CLOSE',
        message: `close is 0 at bar ${t}: forward returns are undefined; clean the data`,
      })
  }
}

/** Bar t's label reads close[t + horizon]; unlabelled tail bars are never settled (n). */
function horizonEnds(n: number, len: number, horizon: number): Int32Array {
  const out = new Int32Array(n).fill(n)
  for (let t = 0; t < len; t++) out[t] = t + horizon
  return out
}

/** docs/domain.md#forward-return-labels: (C[t+h] − C[t]) / C[t]; the last h bars carry no label (NaN, outside `length`). */
export function forwardReturnLabels(close: Float64Array, horizon = 20): LabelSet {
  const n = close.length
  const len = Math.max(0, n - horizon)
  checkCloses(close, len)
  const values = new Float64Array(n).fill(Number.NaN)
  for (let t = 0; t < len; t++) values[t] = (close[t + horizon] - close[t]) / close[t]
  return { kind: 'regression', values, length: len, numClasses: 1, resolvedAt: horizonEnds(n, len, horizon) }
}

/** docs/domain.md#context-labels context: forward return over `horizon` > bullish ⇒ 0, < bearish ⇒ 1, else 2 (NEUTRAL). */
export function contextLabels(close: Float64Array, horizon = 5, bullish = 0.005, bearish = -0.005): LabelSet {
  const n = close.length
  const len = Math.max(0, n - horizon)
  checkCloses(close, len)
  const values = new Float64Array(n).fill(Number.NaN)
  for (let t = 0; t < len; t++) {
    const r = (close[t + horizon] - close[t]) / close[t]
    values[t] = r > bullish ? 0 : r < bearish ? 1 : 2
  }
  return { kind: 'classification', values, length: len, numClasses: 3, resolvedAt: horizonEnds(n, len, horizon) }
}
