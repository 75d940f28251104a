// pandas ewm(span, adjust=True) semantics (ignore_na=False): NaN inputs keep decaying the old
// weights without adding an observation.

export function ewmMeanAdjusted(x: Float64Array, span: number): Float64Array {
  const n = x.length
  const out = new Float64Array(n)
  const decay = 1 - 2 / (span + 1)
  let num = 0,
    den = 0
  for (let t = 0; t < n; t++) {
    const v = x[t]
    num *= decay
    den *= decay
    if (v === v) {
      num += v
      den += 1
    }
    out[t] = den > 0 ? num / den : Number.NaN
  }
  return out
}

/** pandas ewm(span, adjust=True).std() with bias=False (the unbiased weighted variance). */
export function ewmStdAdjusted(x: Float64Array, span: number): Float64Array {
  const n = x.length
  const out = new Float64Array(n)
  const f = 1 - 2 / (span + 1)
  let mean = Number.NaN,
    cov = 0,
    sumW = 0,
    sumW2 = 0,
    oldW = 0
  for (let t = 0; t < n; t++) {
    const v = x[t]
    const obs = v === v
    if (mean !== mean) {
      if (obs) {
        mean = v
        cov = 0
        sumW = 1
        sumW2 = 1
        oldW = 1
      }
    } else {
      sumW *= f
      sumW2 *= f * f
      oldW *= f
      if (obs) {
        const old = mean
        if (mean !== v) mean = (oldW * old + v) / (oldW + 1)
        cov = (oldW * (cov + (old - mean) * (old - mean)) + (v - mean) * (v - mean)) / (oldW + 1)
        sumW += 1
        sumW2 += 1
        oldW += 1
      }
    }
    if (mean !== mean) {
      out[t] = Number.NaN
      continue
    }
    const num = sumW * sumW
    const den = num - sumW2
    out[t] = den > 0 ? Math.sqrt(Math.max(0, (num / den) * cov)) : Number.NaN
  }
  return out
}
