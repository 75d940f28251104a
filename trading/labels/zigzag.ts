import type { LabelSet } from '../types.ts'

export const BUY = 0
export const HOLD = 1
export const SELL = 2

/**
 * docs/domain.md#zigzag-labels ZigZag pivots on `close`. Bar 0 is a pivot; while the direction is unknown the first
 * relative move ≥ threshold from bar 0 sets it; in an up leg a higher price replaces the last
 * pivot, a drop ≥ threshold from it starts a down leg (mirror for down legs).
 */
export function zigzagPivots(close: Float64Array, threshold: number): Int32Array {
  return zigzagScan(close, threshold).pivots
}

/**
 * The pivots, and every bar at which the scan moved the current extreme (appended a pivot or
 * replaced the last one). A bar's label is settled at the first such update after it: from then
 * on it lies strictly inside a leg whose direction is known, or it is a pivot the next leg fixed.
 */
function zigzagScan(close: Float64Array, threshold: number): { pivots: Int32Array; updates: Uint8Array } {
  const n = close.length
  const pivots = new Int32Array(Math.max(1, n))
  const updates = new Uint8Array(n)
  if (n === 0) return { pivots: pivots.subarray(0, 0), updates }
  let count = 1
  pivots[0] = 0
  let dir = 0
  let ext = 0
  for (let i = 1; i < n; i++) {
    const p = close[i]
    const e = close[ext]
    const change = (p - e) / e
    const before = ext
    if (dir === 0) {
      if (change >= threshold) {
        dir = 1
        pivots[count++] = i
        ext = i
      } else if (change <= -threshold) {
        dir = -1
        pivots[count++] = i
        ext = i
      }
    } else if (dir === 1) {
      if (p > e) {
        pivots[count - 1] = i
        ext = i
      } else if (change <= -threshold) {
        dir = -1
        pivots[count++] = i
        ext = i
      }
    } else {
      if (p < e) {
        pivots[count - 1] = i
        ext = i
      } else if (change >= threshold) {
        dir = 1
        pivots[count++] = i
        ext = i
      }
    }
    if (ext !== before) updates[i] = 1
  }
  return { pivots: pivots.slice(0, count), updates }
}

/**
 * docs/domain.md#zigzag-labels segment labels: bars strictly between consecutive pivots i<j are BUY when close[j] >
 * close[i], else SELL; pivots and bars after the last pivot are HOLD. Every bar gets a label
 * (length = n). `label_lookahead` has no role here (see docs/decisions.md).
 */
export function zigzagLabels(close: Float64Array, threshold = 0.02): LabelSet {
  const n = close.length
  const values = new Float64Array(n).fill(HOLD)
  const { pivots: piv, updates } = zigzagScan(close, threshold)
  for (let k = 0; k + 1 < piv.length; k++) {
    const i = piv[k],
      j = piv[k + 1]
    const cls = close[j] > close[i] ? BUY : SELL
    for (let t = i + 1; t < j; t++) values[t] = cls
  }
  // Bar 0 is a pivot by definition (settled at once); the last pivot and the bars after it
  // stay n: the data ends before their leg is fixed.
  const resolvedAt = new Int32Array(n).fill(n)
  let next = n
  for (let t = n - 1; t >= 0; t--) {
    resolvedAt[t] = next
    if (updates[t]) next = t
  }
  if (n > 0) resolvedAt[0] = 0
  return { kind: 'classification', values, length: n, numClasses: 3, resolvedAt }
}
