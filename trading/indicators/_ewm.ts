// Exponentially weighted mean with pandas `ewm(alpha, adjust, ignore_na=False).mean()` semantics:
// leading NaN stay NaN, y0 = first finite value, a NaN inside the series holds the previous value
// and decays the old weight. The general loops mirror pandas operation for operation (including
// "a value equal to the running mean leaves it untouched"). The finite adjust=False fast path
// drops that equality shortcut — the compare on the loop-carried value cost 2.7× in the hot loop —
// so on a constant stretch it may sit 1 ulp off the constant; elsewhere it is pandas' arithmetic.

export const spanAlpha = (span: number): number => 2 / (span + 1)
export const wilderAlpha = (period: number): number => 1 / period

export function ewm(src: Float64Array, alpha: number, adjust: boolean, out: Float64Array): Float64Array {
  const len = src.length
  const decay = 1 - alpha
  const newWt = adjust ? 1 : alpha
  let i = 0
  // Leading NaN (a chained input still warming up) produce NaN.
  while (i < len && src[i] !== src[i]) out[i++] = NaN
  if (i === len) return out
  let weighted = src[i]
  out[i++] = weighted
  if (!adjust) {
    // old_wt is reset to 1 after every observation, so while the input is finite the divisor is
    // the constant decay + alpha; when that is exactly 1.0 (the usual case) the division is the
    // identity and the loop is a single multiply-add. A NaN hands over to the general loop.
    if (decay + alpha === 1) {
      for (; i < len; i++) {
        const x = src[i]
        if (x !== x) break
        weighted = decay * weighted + alpha * x
        out[i] = weighted
      }
    }
    let oldWt = 1
    for (; i < len; i++) {
      const x = src[i]
      oldWt *= decay
      if (x === x) {
        if (weighted !== x) weighted = (oldWt * weighted + alpha * x) / (oldWt + alpha)
        oldWt = 1
      }
      out[i] = weighted
    }
    return out
  }
  let oldWt = 1
  for (; i < len; i++) {
    const x = src[i]
    oldWt *= decay
    if (x === x) {
      if (weighted !== x) weighted = (oldWt * weighted + newWt * x) / (oldWt + newWt)
      oldWt += newWt
    }
    out[i] = weighted
  }
  return out
}
